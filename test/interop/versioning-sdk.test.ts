/**
 * AWS SDK v3 against a real server: bucket versioning on the local backend — configuration,
 * version ids on PUT/Copy/Complete, GET/HEAD/DELETE by version id, delete markers, the `null`
 * version (objects written before versioning, and while it is suspended), DeleteObjects with
 * version ids. Listing (ListObjectVersions) is in versioning-list-sdk.test.ts.
 *
 * Version ids are opaque (s3local decision): the tests never assume a format, except the literal
 * `null` and that an id is URL-safe.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { completeUpload } from '../helpers/multipart.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import {
  bodyText,
  contentMd5,
  describeEntries,
  expectError,
  expectStatus,
  listAllVersions,
  newBucket,
  setVersioning,
} from '../helpers/versioning.js';

/** A version id as s3local promises it: opaque, URL-safe, never the literal `null`. */
function assertVersionId(id: string | undefined, what: string): string {
  assert.ok(id, `${what}: x-amz-version-id returned`);
  assert.notEqual(id, 'null', `${what}: a versioning-enabled bucket never writes the null version`);
  assert.equal(encodeURIComponent(id), id, `${what}: version id ${id} is URL-safe`);
  return id;
}

async function put(s3: S3Client, Bucket: string, Key: string, Body: string) {
  return s3.send(new PutObjectCommand({ Bucket, Key, Body }));
}

describe('AWS SDK v3: bucket versioning (advanced mode)', () => {
  let srv: TestServer;
  let s3: S3Client;

  before(async () => ({ srv, s3 } = await startWithClient({ advanced: true })));
  after(async () => srv.close());

  it('GetBucketVersioning: no Status on a new bucket, then Enabled, then Suspended', async () => {
    const Bucket = await newBucket(s3, 'cfg');
    // API_GetBucketVersioning: "If the versioning state has never been set on a bucket, then no
    // versioning state is returned" — an empty <VersioningConfiguration/>.
    const fresh = await s3.send(new GetBucketVersioningCommand({ Bucket }));
    assert.equal(fresh.Status, undefined);
    assert.equal(fresh.MFADelete, undefined);
    await setVersioning(s3, Bucket, 'Enabled');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
    await setVersioning(s3, Bucket, 'Suspended');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Suspended');
    await setVersioning(s3, Bucket, 'Enabled');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
  });

  it('PutBucketVersioning: MfaDelete=Enabled is refused with 501 NotImplemented, Disabled accepted', async () => {
    const Bucket = await newBucket(s3, 'mfa');
    // s3local decision: MFA delete is not supported (no MFA device to check the
    // x-amz-mfa header against), so asking for it fails loudly instead of being ignored.
    await expectError(
      s3.send(
        new PutBucketVersioningCommand({
          Bucket,
          VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Enabled' },
        }),
      ),
      'NotImplemented',
      501,
    );
    assert.equal(
      (await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status,
      undefined,
      'a refused configuration changes nothing',
    );
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket,
        VersioningConfiguration: { Status: 'Enabled', MFADelete: 'Disabled' },
      }),
    );
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
  });

  it('PutBucketVersioning: a malformed VersioningConfiguration is 400 MalformedXML', async () => {
    const Bucket = await newBucket(s3, 'malformed');
    const bodies = [
      '<VersioningConfiguration><Status>Enabled</Status>', // not well-formed
      '<NotVersioning xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></NotVersioning>',
      // An unknown Status value does not validate against the schema (Enabled | Suspended).
      '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>On</Status></VersioningConfiguration>',
    ];
    for (const body of bodies) {
      const res = await rawRequest(srv.endpoint, {
        method: 'PUT',
        path: `/${Bucket}?versioning`,
        headers: { 'content-md5': contentMd5(body), 'content-type': 'application/xml' },
        body,
      });
      assert.equal(res.status, 400, `${body}\n${res.text}`);
      assert.equal(errorCode(res.text), 'MalformedXML', body);
    }
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, undefined);
  });

  it('objects written before versioning was enabled have version id "null"', async () => {
    const Bucket = await newBucket(s3, 'pre');
    const before = await put(s3, Bucket, 'old.txt', 'written unversioned');
    // A bucket that was never versioned returns no version id.
    assert.equal(before.VersionId, undefined);
    await setVersioning(s3, Bucket, 'Enabled');
    const v1 = assertVersionId((await put(s3, Bucket, 'old.txt', 'first versioned write')).VersionId, 'PUT');
    // userguide/versioning-workflows.html: "Objects that are stored in your bucket before you set
    // the versioning state have a version ID of null."
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'old.txt', VersionId: 'null' }));
    assert.equal(await bodyText(got), 'written unversioned');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'old.txt', VersionId: 'null' }));
    assert.equal(head.ContentLength, Buffer.byteLength('written unversioned'));
    const { entries } = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(entries), [`V old.txt ${v1} latest`, 'V old.txt null']);
  });

  it('PUT returns a new version id each time; GET/HEAD by versionId; overwrites keep old versions', async () => {
    const Bucket = await newBucket(s3, 'ids', { versioning: 'Enabled' });
    const Key = 'dir/file.bin';
    const bodies = ['version one', 'version two, longer', 'three'];
    const ids: string[] = [];
    for (const [i, Body] of bodies.entries()) {
      const out = await s3.send(
        new PutObjectCommand({ Bucket, Key, Body, ContentType: `text/x-v${i}`, Metadata: { n: String(i) } }),
      );
      ids.push(assertVersionId(out.VersionId, `PUT #${i}`));
      assert.equal(out.ETag, `"${createHash('md5').update(Body).digest('hex')}"`);
    }
    assert.equal(new Set(ids).size, 3, 'every PUT made a distinct version');
    const latest = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(await bodyText(latest), 'three');
    assert.equal(latest.VersionId, ids[2], 'GET of the current version names it');
    for (const [i, Body] of bodies.entries()) {
      const got = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId: ids[i] }));
      assert.equal(await bodyText(got), Body, `GET ?versionId of version #${i}`);
      assert.equal(got.VersionId, ids[i]);
      assert.equal(got.ContentType, `text/x-v${i}`, 'each version keeps its own headers');
      assert.deepEqual(got.Metadata, { n: String(i) }, 'and its own metadata');
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key, VersionId: ids[i] }));
      assert.equal(head.ContentLength, Buffer.byteLength(Body));
      assert.equal(head.VersionId, ids[i]);
      assert.equal(head.ETag, got.ETag);
    }
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket, Key, VersionId: ids[1], Range: 'bytes=8-10' }),
    );
    assert.equal(await bodyText(ranged), 'two', 'ranges apply to the requested version');
  });

  it('DeleteObject without versionId adds a delete marker; GET then 404 NoSuchKey with x-amz-delete-marker', async () => {
    const Bucket = await newBucket(s3, 'marker', { versioning: 'Enabled' });
    const Key = 'gone.txt';
    const v1 = assertVersionId((await put(s3, Bucket, Key, 'still here')).VersionId, 'PUT');
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    // API_DeleteObject: in a versioning-enabled bucket a simple DELETE inserts a delete marker and
    // answers x-amz-delete-marker: true with the marker's version id.
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal(del.DeleteMarker, true);
    const marker = assertVersionId(del.VersionId, 'delete marker');
    assert.notEqual(marker, v1);
    // API_GetObject: "If the current version of the object is a delete marker, Amazon S3 behaves as
    // if the object was deleted and includes x-amz-delete-marker: true in the response."
    const e = await expectError(s3.send(new GetObjectCommand({ Bucket, Key })), 'NoSuchKey', 404);
    assert.equal(e.headers['x-amz-delete-marker'], 'true');
    if (e.headers['x-amz-version-id'] !== undefined) assert.equal(e.headers['x-amz-version-id'], marker);
    const h = await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key })), 404);
    assert.equal(h.headers['x-amz-delete-marker'], 'true', 'HEAD of a deleted key: x-amz-delete-marker');
    // The data is still there under its version id.
    const old = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId: v1 }));
    assert.equal(await bodyText(old), 'still here');
    // A second simple DELETE stacks a second marker (userguide/DeleteMarker.html).
    const del2 = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    assert.equal(del2.DeleteMarker, true);
    const marker2 = assertVersionId(del2.VersionId, 'second delete marker');
    const { entries } = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(entries), [
      `DM ${Key} ${marker2} latest`,
      `DM ${Key} ${marker}`,
      `V ${Key} ${v1}`,
    ]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.equal(listed.KeyCount, 0, 'a delete-marked key is not listed');
  });

  it('GET or HEAD of a delete marker by versionId answers 405 MethodNotAllowed', async () => {
    const Bucket = await newBucket(s3, 'dm405', { versioning: 'Enabled' });
    const Key = 'k';
    await put(s3, Bucket, Key, 'data');
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket, Key }))).VersionId!;
    // API_GetObject: "If the specified version in the request is a delete marker, the response
    // returns a 405 Method Not Allowed error and the Last-Modified: timestamp response header."
    const e = await expectError(
      s3.send(new GetObjectCommand({ Bucket, Key, VersionId: marker })),
      'MethodNotAllowed',
      405,
    );
    assert.equal(e.headers['x-amz-delete-marker'], 'true');
    assert.ok(e.headers['last-modified'], 'Last-Modified of the delete marker');
    assert.ok(!Number.isNaN(Date.parse(e.headers['last-modified'])), 'an HTTP date');
    // API_HeadObject documents the same for HEAD (no body: status and headers only).
    const h = await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key, VersionId: marker })), 405);
    assert.equal(h.headers['x-amz-delete-marker'], 'true');
    assert.ok(h.headers['last-modified']);
  });

  it('deleting the delete marker by versionId makes the previous version current again', async () => {
    const Bucket = await newBucket(s3, 'undelete', { versioning: 'Enabled' });
    const Key = 'restore-me.txt';
    await put(s3, Bucket, Key, 'first');
    const v2 = (await put(s3, Bucket, Key, 'second')).VersionId!;
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket, Key }))).VersionId!;
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: marker }));
    // API_DeleteObject: x-amz-delete-marker "Indicates whether the specified object version that
    // was permanently deleted was (true) or was not (false) a delete marker".
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal(del.DeleteMarker, true);
    assert.equal(del.VersionId, marker);
    // userguide/RemDelMarker.html: removing the current delete marker makes the next newest
    // version current.
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(await bodyText(got), 'second');
    assert.equal(got.VersionId, v2);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      [Key],
    );
  });

  it('DeleteObject with a versionId removes exactly that version, permanently', async () => {
    const Bucket = await newBucket(s3, 'permdel', { versioning: 'Enabled' });
    const Key = 'k.txt';
    const v1 = (await put(s3, Bucket, Key, 'one')).VersionId!;
    const v2 = (await put(s3, Bucket, Key, 'two')).VersionId!;
    const v3 = (await put(s3, Bucket, Key, 'three')).VersionId!;
    // userguide/DeletingObjectVersions.html: a DELETE with a version id deletes that version
    // permanently and inserts no delete marker.
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: v2 }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal(del.VersionId, v2);
    assert.notEqual(del.DeleteMarker, true);
    await expectError(s3.send(new GetObjectCommand({ Bucket, Key, VersionId: v2 })), 'NoSuchVersion', 404);
    let listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [`V ${Key} ${v3} latest`, `V ${Key} ${v1}`]);
    // Deleting the current version by id promotes the next newest one (no delete marker).
    await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: v3 }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(await bodyText(got), 'one');
    assert.equal(got.VersionId, v1);
    // Deleting the last version leaves no trace: a plain 404 without x-amz-delete-marker.
    await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: v1 }));
    const e = await expectError(s3.send(new GetObjectCommand({ Bucket, Key })), 'NoSuchKey', 404);
    assert.equal(e.headers['x-amz-delete-marker'], undefined);
    listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(listed.entries, []);
  });

  it('unknown version ids: GET/HEAD 404 NoSuchVersion, DELETE 204; malformed ids 400 InvalidArgument', async () => {
    const Bucket = await newBucket(s3, 'unknown', { versioning: 'Enabled' });
    const mine = (await put(s3, Bucket, 'a', 'a')).VersionId!;
    // A well-formed id that does not exist for this key: the id of another key's version (ids are
    // opaque, so this is the only well-formed-but-unknown id a test can make without guessing).
    const other = (await put(s3, Bucket, 'b', 'b')).VersionId!;
    await expectError(
      s3.send(new GetObjectCommand({ Bucket, Key: 'a', VersionId: other })),
      'NoSuchVersion',
      404,
    );
    await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key: 'a', VersionId: other })), 404);
    // A version that existed and was deleted is unknown too.
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'b', VersionId: other }));
    await expectError(
      s3.send(new GetObjectCommand({ Bucket, Key: 'b', VersionId: other })),
      'NoSuchVersion',
      404,
    );
    // AWS answers 204 to a DELETE of a well-formed version id that does not exist (the outcome —
    // no such version — already holds); MinIO changed to match it (minio/minio#11090).
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'a', VersionId: other }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    const { entries } = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(entries), [`V a ${mine} latest`], 'nothing else was touched');
    // A version id no s3local id can look like (a space, a slash, a `!`): 400 InvalidArgument,
    // "Invalid version id specified", as AWS answers for ids that do not parse.
    const bad = 'not a/version id!';
    const g = await expectError(
      s3.send(new GetObjectCommand({ Bucket, Key: 'a', VersionId: bad })),
      'InvalidArgument',
      400,
    );
    assert.match(g.message, /Invalid version id specified/);
    await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key: 'a', VersionId: bad })), 400);
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: 'a', VersionId: bad })),
      'InvalidArgument',
      400,
    );
    // An empty versionId is refused too ("Version id cannot be the empty string"), not read as
    // "no version id".
    const empty = await rawRequest(srv.endpoint, { method: 'GET', path: `/${Bucket}/a?versionId=` });
    assert.equal(empty.status, 400, empty.text);
    assert.equal(errorCode(empty.text), 'InvalidArgument');
  });

  it('suspend after enable: PUT writes the null version, replacing only an existing null version', async () => {
    const Bucket = await newBucket(s3, 'suspend');
    const Key = 'doc.txt';
    await put(s3, Bucket, Key, 'A: before versioning'); // the null version
    await setVersioning(s3, Bucket, 'Enabled');
    const vB = (await put(s3, Bucket, Key, 'B: versioned')).VersionId!;
    await setVersioning(s3, Bucket, 'Suspended');
    // userguide/AddingObjectstoVersionSuspendedBuckets.html: "Amazon S3 automatically adds a null
    // version ID to every subsequent object stored"; "If a null version is already in the bucket
    // and you add another object with the same key, the added object overwrites the original null
    // version"; versioned objects (B) are not overwritten.
    // AWS answers writes of the null version without x-amz-version-id (the PutObject reference's
    // suspended-bucket example; ceph/s3-tests test_versioning_bucket_*_return_version_id).
    const c = await put(s3, Bucket, Key, 'C: suspended write');
    assert.equal(c.VersionId, undefined, 'PutObject in a suspended bucket');
    let listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [`V ${Key} null latest`, `V ${Key} ${vB}`]);
    assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key }))), 'C: suspended write');
    assert.equal(
      await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key, VersionId: 'null' }))),
      'C: suspended write',
      'A (the old null version) was replaced by C',
    );
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket, Key: 'copy.txt', CopySource: `${Bucket}/${Key}` }),
    );
    assert.equal(copied.VersionId, undefined, 'CopyObject in a suspended bucket');
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpu.bin' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket, Key: 'mpu.bin', UploadId, PartNumber: 1, Body: 'one part' }),
    );
    const done = await completeUpload(s3, { Bucket, Key: 'mpu.bin', UploadId }, [
      { PartNumber: 1, ETag: part.ETag! },
    ]);
    assert.equal(done.VersionId, undefined, 'CompleteMultipartUpload in a suspended bucket');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'mpu.bin' }));
    assert.equal(head.VersionId, 'null', 'HEAD names the null version');
    await put(s3, Bucket, Key, 'D: suspended again');
    listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [
      'V copy.txt null latest',
      `V ${Key} null latest`,
      `V ${Key} ${vB}`,
      'V mpu.bin null latest',
    ]);
    assert.equal(
      await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key, VersionId: vB }))),
      'B: versioned',
    );
    await setVersioning(s3, Bucket, 'Enabled');
    const vE = (await put(s3, Bucket, Key, 'E: enabled again')).VersionId!;
    listed = await listAllVersions(srv.endpoint, Bucket, { prefix: Key });
    assert.deepEqual(
      describeEntries(listed.entries),
      [`V ${Key} ${vE} latest`, `V ${Key} null`, `V ${Key} ${vB}`],
      're-enabling keeps the null version as an ordinary noncurrent version',
    );
  });

  it('DELETE in a suspended bucket writes a null delete marker (removing the null version)', async () => {
    const Bucket = await newBucket(s3, 'susdel', { versioning: 'Enabled' });
    const Key = 'k';
    const v1 = (await put(s3, Bucket, Key, 'versioned')).VersionId!;
    await setVersioning(s3, Bucket, 'Suspended');
    await put(s3, Bucket, Key, 'null version');
    // userguide/DeletingObjectsfromVersioningSuspendedBuckets.html: a simple DELETE removes the
    // null version (if any) and inserts a delete marker whose version id is null.
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    assert.equal(del.DeleteMarker, true);
    assert.ok(del.VersionId === undefined || del.VersionId === 'null', `marker version id: ${del.VersionId}`);
    let listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [`DM ${Key} null latest`, `V ${Key} ${v1}`]);
    const e = await expectError(s3.send(new GetObjectCommand({ Bucket, Key })), 'NoSuchKey', 404);
    assert.equal(e.headers['x-amz-delete-marker'], 'true');
    // A second simple DELETE replaces the null marker (same version id) rather than stacking one.
    await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [`DM ${Key} null latest`, `V ${Key} ${v1}`]);
    // A PUT replaces the null delete marker with a null version.
    await put(s3, Bucket, Key, 'back');
    listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [`V ${Key} null latest`, `V ${Key} ${v1}`]);
    // Deleting the null version by id promotes v1.
    await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: 'null' }));
    assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key }))), 'versioned');
  });

  it('CopyObject from a specific version (x-amz-copy-source ?versionId=)', async () => {
    const Bucket = await newBucket(s3, 'copyv', { versioning: 'Enabled' });
    const v1 = (await put(s3, Bucket, 'src', 'source one')).VersionId!;
    const v2 = (await put(s3, Bucket, 'src', 'source two')).VersionId!;
    // API_CopyObject: "To copy a specific version of an object, append ?versionId=<version-id>
    // to the value"; the response names the copied version in x-amz-copy-source-version-id and
    // the new object's version in x-amz-version-id.
    for (const CopySource of [`${Bucket}/src?versionId=${v1}`, `/${Bucket}/src?versionId=${v1}`]) {
      const out = await s3.send(new CopyObjectCommand({ Bucket, Key: 'dst', CopySource }));
      assert.equal(out.CopySourceVersionId, v1, CopySource);
      assertVersionId(out.VersionId, 'copy destination');
      assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'dst' }))), 'source one');
    }
    const latest = await s3.send(new CopyObjectCommand({ Bucket, Key: 'dst2', CopySource: `${Bucket}/src` }));
    assert.equal(latest.CopySourceVersionId, v2, 'without ?versionId the current version is copied');
    assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'dst2' }))), 'source two');
    // Restoring an old version over the current one: a self-copy from the version id.
    const restored = await s3.send(
      new CopyObjectCommand({ Bucket, Key: 'src', CopySource: `${Bucket}/src?versionId=${v1}` }),
    );
    const v3 = assertVersionId(restored.VersionId, 'restoring copy');
    const { entries } = await listAllVersions(srv.endpoint, Bucket, { prefix: 'src' });
    assert.deepEqual(describeEntries(entries), [`V src ${v3} latest`, `V src ${v2}`, `V src ${v1}`]);
    // API_CopyObject: a delete marker as the current source version behaves as a deleted object
    // (404 NoSuchKey), and naming a delete marker by version id is 400 InvalidRequest ("you are
    // not allowed to specify a delete marker as a version for the x-amz-copy-source").
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket, Key: 'src' }))).VersionId!;
    await expectError(
      s3.send(new CopyObjectCommand({ Bucket, Key: 'dst3', CopySource: `${Bucket}/src` })),
      'NoSuchKey',
      404,
    );
    await expectError(
      s3.send(
        new CopyObjectCommand({ Bucket, Key: 'dst3', CopySource: `${Bucket}/src?versionId=${marker}` }),
      ),
      'InvalidRequest',
      400,
    );
    const fromOld = await s3.send(
      new CopyObjectCommand({ Bucket, Key: 'dst3', CopySource: `${Bucket}/src?versionId=${v2}` }),
    );
    assert.equal(fromOld.CopySourceVersionId, v2, 'an old version stays copyable under a delete marker');
    await expectError(
      s3.send(new CopyObjectCommand({ Bucket, Key: 'dst4', CopySource: `${Bucket}/dst?versionId=${v1}` })),
      'NoSuchVersion',
      404,
    );
  });

  it('UploadPartCopy from a specific version (x-amz-copy-source ?versionId=)', async () => {
    // ceph/s3-tests test_multipart_copy_versioned; API_UploadPartCopy: the copy source may name a
    // version, and the response names it in x-amz-copy-source-version-id.
    const Bucket = await newBucket(s3, 'partcopyv', { versioning: 'Enabled' });
    const v1 = (await put(s3, Bucket, 'src', 'source one')).VersionId!;
    const v2 = (await put(s3, Bucket, 'src', 'source two')).VersionId!;
    const Key = 'assembled';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    for (const [PartNumber, CopySource, range, copied, bytes] of [
      [1, `${Bucket}/src?versionId=${v1}`, undefined, v1, 'source one'],
      [2, `${Bucket}/src?versionId=${v2}`, 'bytes=7-9', v2, 'two'],
      [3, `${Bucket}/src`, 'bytes=0-5', v2, 'source'],
    ] as const) {
      const out = await s3.send(
        new UploadPartCopyCommand({
          Bucket,
          Key,
          UploadId,
          PartNumber,
          CopySource,
          ...(range ? { CopySourceRange: range } : {}),
        }),
      );
      assert.equal(out.CopySourceVersionId, copied, CopySource);
      // A part's ETag is the MD5 of its bytes: the bytes of the version (range) named.
      assert.equal(
        out.CopyPartResult?.ETag,
        `"${createHash('md5').update(bytes).digest('hex')}"`,
        CopySource,
      );
    }
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket, Key: 'src' }))).VersionId!;
    const unknown = v1.slice(0, -1) + (v1.endsWith('A') ? 'B' : 'A'); // well-formed, never issued
    const copyPart4 = (CopySource: string) =>
      s3.send(new UploadPartCopyCommand({ Bucket, Key, UploadId, PartNumber: 4, CopySource }));
    await expectError(copyPart4(`${Bucket}/src?versionId=${marker}`), 'InvalidRequest', 400);
    await expectError(copyPart4(`${Bucket}/src?versionId=${unknown}`), 'NoSuchVersion', 404);
    await expectError(copyPart4(`${Bucket}/src`), 'NoSuchKey', 404);
  });

  it('CompleteMultipartUpload returns the new version id and keeps the previous version', async () => {
    const Bucket = await newBucket(s3, 'mpu', { versioning: 'Enabled' });
    const Key = 'big.bin';
    const v1 = (await put(s3, Bucket, Key, 'small before')).VersionId!;
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'one part' }),
    );
    const done = await completeUpload(s3, { Bucket, Key, UploadId }, [{ PartNumber: 1, ETag: part.ETag! }]);
    const v2 = assertVersionId(done.VersionId, 'CompleteMultipartUpload');
    assert.notEqual(v2, v1);
    assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key }))), 'one part');
    assert.equal(
      await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key, VersionId: v1 }))),
      'small before',
    );
  });

  it('DeleteObjects with VersionId entries and with plain keys', async () => {
    const Bucket = await newBucket(s3, 'multidel', { versioning: 'Enabled' });
    const k1v1 = (await put(s3, Bucket, 'k1', 'k1 one')).VersionId!;
    const k1v2 = (await put(s3, Bucket, 'k1', 'k1 two')).VersionId!;
    const k2v1 = (await put(s3, Bucket, 'k2', 'k2 one')).VersionId!;
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Objects: [{ Key: 'k1', VersionId: k1v1 }, { Key: 'k2' }, { Key: 'never-existed' }] },
      }),
    );
    assert.deepEqual(out.Errors ?? [], []);
    const byKey = new Map((out.Deleted ?? []).map((d) => [d.Key, d]));
    // API_DeleteObjects / DeletedObject: a version delete reports its VersionId; a plain key in a
    // versioned bucket gets a delete marker, reported as DeleteMarker + DeleteMarkerVersionId.
    assert.equal(byKey.get('k1')?.VersionId, k1v1);
    assert.notEqual(byKey.get('k1')?.DeleteMarker, true);
    assert.equal(byKey.get('k2')?.DeleteMarker, true);
    const k2marker = assertVersionId(byKey.get('k2')?.DeleteMarkerVersionId, 'DeleteMarkerVersionId');
    // A simple delete of a key that never existed still inserts a marker (userguide/DeleteMarker.html).
    assert.equal(byKey.get('never-existed')?.DeleteMarker, true);
    const ghost = assertVersionId(
      byKey.get('never-existed')?.DeleteMarkerVersionId,
      'marker of an absent key',
    );
    let listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [
      `V k1 ${k1v2} latest`,
      `DM k2 ${k2marker} latest`,
      `V k2 ${k2v1}`,
      `DM never-existed ${ghost} latest`,
    ]);
    // Deleting the delete markers by version id: DeleteMarker true, both ids = the marker's.
    const undo = await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: {
          Objects: [
            { Key: 'k2', VersionId: k2marker },
            { Key: 'never-existed', VersionId: ghost },
          ],
        },
      }),
    );
    assert.deepEqual(undo.Errors ?? [], []);
    const undone = new Map((undo.Deleted ?? []).map((d) => [d.Key, d]));
    assert.equal(undone.get('k2')?.DeleteMarker, true);
    assert.equal(undone.get('k2')?.DeleteMarkerVersionId, k2marker);
    assert.equal(undone.get('k2')?.VersionId, k2marker);
    assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'k2' }))), 'k2 one');
    listed = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(listed.entries), [`V k1 ${k1v2} latest`, `V k2 ${k2v1} latest`]);
    // Quiet mode reports nothing on success and still deletes.
    const quiet = await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Quiet: true, Objects: [{ Key: 'k1', VersionId: k1v2 }] },
      }),
    );
    assert.deepEqual(quiet.Deleted ?? [], []);
    await expectError(s3.send(new GetObjectCommand({ Bucket, Key: 'k1' })), 'NoSuchKey', 404);
  });
});

describe('AWS SDK v3: versioning on the `default` bucket (default mode)', () => {
  let srv: TestServer;
  let s3: S3Client;
  const Bucket = 'default';

  before(async () => ({ srv, s3 } = await startWithClient()));
  after(async () => srv.close());

  it('enables versioning, keeps versions, adds and removes a delete marker', async () => {
    await setVersioning(s3, Bucket, 'Enabled');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
    const v1 = assertVersionId((await put(s3, Bucket, 'notes.txt', 'v1')).VersionId, 'PUT 1');
    const v2 = assertVersionId((await put(s3, Bucket, 'notes.txt', 'v2')).VersionId, 'PUT 2');
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket, Key: 'notes.txt' }))).VersionId!;
    await expectError(s3.send(new GetObjectCommand({ Bucket, Key: 'notes.txt' })), 'NoSuchKey', 404);
    const { entries } = await listAllVersions(srv.endpoint, Bucket);
    assert.deepEqual(describeEntries(entries), [
      `DM notes.txt ${marker} latest`,
      `V notes.txt ${v2}`,
      `V notes.txt ${v1}`,
    ]);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'notes.txt', VersionId: marker }));
    assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'notes.txt' }))), 'v2');
    assert.equal(
      await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'notes.txt', VersionId: v1 }))),
      'v1',
    );
  });
});
