/**
 * Object tagging on the local backend, AWS SDK v3 against a real server: `x-amz-tagging` on
 * PutObject, CreateMultipartUpload and CopyObject (COPY / REPLACE directive), GetObjectTagging,
 * PutObjectTagging, DeleteObjectTagging, `x-amz-tagging-count` on HEAD/GET, S3's limits and
 * errors, tags per version in a versioned bucket, tags of a locked version, and persistence
 * across a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';
import { startServer, startWithClient, tempDir, type TestServer } from '../helpers/server.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import { bodyText, expectError, expectStatus, newBucket, setVersioning } from '../helpers/versioning.js';
import { DAY, fromNow, lockBucket, putLocked } from '../helpers/object-lock.js';

const T = { timeout: 60_000 };
const sha256 = (b: string) => createHash('sha256').update(b).digest('hex');
const md5b64 = (b: string) => createHash('md5').update(b).digest('base64');

/** `n` distinct tags k0=v0 ... */
function tags(n: number): Tag[] {
  return Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
}

describe('object tagging (local backend)', () => {
  let srv: TestServer;
  let s3: S3Client;
  let Bucket: string;

  before(async () => {
    ({ srv, s3 } = await startWithClient({ advanced: true }));
    Bucket = await newBucket(s3, 'tags');
  });
  after(async () => srv?.close());

  const getTags = async (Key: string, VersionId?: string) =>
    (await s3.send(new GetObjectTaggingCommand({ Bucket, Key, ...(VersionId ? { VersionId } : {}) }))).TagSet;

  it('PutObject x-amz-tagging is stored; HEAD and GET answer x-amz-tagging-count', T, async () => {
    // URL-query encoded: %20 and + are spaces, %2F a slash; a name without '=' has the empty value.
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'a.txt',
        Body: 'A',
        Tagging: 'team=backup&path=a%2Fb+c%20d&empty&Case=Upper',
      }),
    );
    // Returned in key order, as S3 lists them.
    assert.deepEqual(await getTags('a.txt'), [
      { Key: 'Case', Value: 'Upper' },
      { Key: 'empty', Value: '' },
      { Key: 'path', Value: 'a/b c d' },
      { Key: 'team', Value: 'backup' },
    ]);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'a.txt' }));
    assert.equal(head.TagCount, 4);
    const get = await s3.send(new GetObjectCommand({ Bucket, Key: 'a.txt' }));
    assert.equal(get.TagCount, 4);
    assert.equal(await bodyText(get), 'A');

    // An untagged object: an empty TagSet, no x-amz-tagging-count.
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain.txt', Body: 'P' }));
    assert.deepEqual((await getTags('plain.txt')) ?? [], []);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'plain.txt' }))).TagCount, undefined);
    // An empty header stores nothing.
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain2.txt', Body: 'P', Tagging: '' }));
    assert.deepEqual((await getTags('plain2.txt')) ?? [], []);
  });

  it(
    'PutObjectTagging replaces the whole set; DeleteObjectTagging removes it; the object is unchanged',
    T,
    async () => {
      await s3.send(new PutObjectCommand({ Bucket, Key: 'b.txt', Body: 'B', Tagging: 'a=1&b=2' }));
      const before = await s3.send(new HeadObjectCommand({ Bucket, Key: 'b.txt' }));
      const put = await s3.send(
        new PutObjectTaggingCommand({
          Bucket,
          Key: 'b.txt',
          Tagging: { TagSet: [{ Key: 'c', Value: '3' }] },
        }),
      );
      assert.equal(put.$metadata.httpStatusCode, 200);
      assert.equal(put.VersionId, undefined, 'no version id in an unversioned bucket');
      assert.deepEqual(await getTags('b.txt'), [{ Key: 'c', Value: '3' }]);
      const afterPut = await s3.send(new HeadObjectCommand({ Bucket, Key: 'b.txt' }));
      assert.equal(afterPut.TagCount, 1);
      assert.equal(afterPut.ETag, before.ETag);
      assert.equal(afterPut.LastModified?.getTime(), before.LastModified?.getTime());

      const del = await s3.send(new DeleteObjectTaggingCommand({ Bucket, Key: 'b.txt' }));
      assert.equal(del.$metadata.httpStatusCode, 204);
      assert.deepEqual((await getTags('b.txt')) ?? [], []);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'b.txt' }))).TagCount, undefined);
      assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'b.txt' }))), 'B');

      // An empty TagSet also removes every tag.
      await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'b.txt', Tagging: { TagSet: tags(2) } }));
      await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'b.txt', Tagging: { TagSet: [] } }));
      assert.deepEqual((await getTags('b.txt')) ?? [], []);
    },
  );

  it('missing keys and versions answer as HeadObject does', T, async () => {
    await expectError(s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'missing' })), 'NoSuchKey', 404);
    await expectError(
      s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'missing', Tagging: { TagSet: tags(1) } })),
      'NoSuchKey',
      404,
    );
    await expectError(s3.send(new DeleteObjectTaggingCommand({ Bucket, Key: 'missing' })), 'NoSuchKey', 404);
    await expectError(
      s3.send(new GetObjectTaggingCommand({ Bucket: 'no-such-bucket-x', Key: 'k' })),
      'NoSuchBucket',
      404,
    );
  });

  it('limits: 10 tags, 128-character keys and 256-character values; more is refused', T, async () => {
    const max = [...tags(9), { Key: 'K'.repeat(128), Value: 'V'.repeat(256) }];
    await s3.send(new PutObjectCommand({ Bucket, Key: 'lim.txt', Body: 'L' }));
    await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'lim.txt', Tagging: { TagSet: max } }));
    assert.equal((await getTags('lim.txt'))?.length, 10);
    // Counted in UTF-16 characters, not bytes: 128 two-byte letters are a valid key.
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket,
        Key: 'lim.txt',
        Tagging: { TagSet: [{ Key: 'é'.repeat(128), Value: 'ü' }] },
      }),
    );

    const refuse = async (TagSet: Tag[], code: string, message: RegExp) => {
      const e = await expectError(
        s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'lim.txt', Tagging: { TagSet } })),
        code,
        400,
      );
      assert.match(e.message, message);
    };
    await refuse(tags(11), 'BadRequest', /cannot be greater than 10/);
    await refuse([{ Key: 'K'.repeat(129), Value: 'v' }], 'InvalidTag', /TagKey .* too long/);
    await refuse([{ Key: 'k', Value: 'V'.repeat(257) }], 'InvalidTag', /TagValue .* too long/);
    await refuse(
      [
        { Key: 'dup', Value: '1' },
        { Key: 'dup', Value: '2' },
      ],
      'InvalidTag',
      /multiple Tags with the same key/,
    );
    await refuse([{ Key: '', Value: 'v' }], 'InvalidTag', /TagKey you have provided is invalid/);
    await refuse([{ Key: 'aws:reserved', Value: 'v' }], 'InvalidTag', /aws:/);
    await refuse(
      [{ Key: 'k', Value: 'not<allowed>' }],
      'InvalidTag',
      /TagValue you have provided is invalid/,
    );
    // Keys and values are case-sensitive: these are two tags.
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket,
        Key: 'lim.txt',
        Tagging: {
          TagSet: [
            { Key: 'Env', Value: 'a' },
            { Key: 'env', Value: 'A' },
          ],
        },
      }),
    );
    assert.deepEqual(await getTags('lim.txt'), [
      { Key: 'Env', Value: 'a' },
      { Key: 'env', Value: 'A' },
    ]);

    // The same limits on the header; a refused PUT writes nothing.
    const header = tags(11)
      .map((t) => `${t.Key}=${t.Value}`)
      .join('&');
    await expectError(
      s3.send(new PutObjectCommand({ Bucket, Key: 'refused.txt', Body: 'x', Tagging: header })),
      'BadRequest',
      400,
    );
    await expectError(
      s3.send(
        new PutObjectCommand({ Bucket, Key: 'refused.txt', Body: 'x', Tagging: `k=${'v'.repeat(257)}` }),
      ),
      'InvalidTag',
      400,
    );
    // A duplicate name in the header: S3's InvalidArgument for a header that is not a URL query.
    await expectError(
      s3.send(new PutObjectCommand({ Bucket, Key: 'refused.txt', Body: 'x', Tagging: 'a=1&a=2' })),
      'InvalidArgument',
      400,
    );
    await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key: 'refused.txt' })), 404);
  });

  it('PutObjectTagging requires Content-MD5 or a checksum, and a Tagging document', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'raw.txt', Body: 'R' }));
    const path = `/${Bucket}/raw.txt?tagging`;
    const doc = '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>';
    const send = (body: string, headers: Record<string, string>) =>
      rawRequest(srv.endpoint, { method: 'PUT', path, body, headers, payloadHash: sha256(body) });

    const noMd5 = await send(doc, {});
    assert.equal(noMd5.status, 400);
    assert.equal(errorCode(noMd5.text), 'InvalidRequest');
    for (const bad of [
      '<Tagging/>',
      '<Other><TagSet/></Other>',
      '<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>',
      'not xml',
    ]) {
      const res = await send(bad, { 'content-md5': md5b64(bad) });
      assert.equal(res.status, 400, bad);
      assert.equal(errorCode(res.text), 'MalformedXML', bad);
    }
    const ok = await send(doc, { 'content-md5': md5b64(doc) });
    assert.equal(ok.status, 200, ok.text);

    const get = await rawRequest(srv.endpoint, { method: 'GET', path });
    assert.equal(get.status, 200);
    assert.match(
      get.text,
      /<Tagging xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/"><TagSet><Tag><Key>a<\/Key><Value>b<\/Value><\/Tag><\/TagSet><\/Tagging>/,
    );
    // Bucket tagging is not implemented.
    const bucketTags = await rawRequest(srv.endpoint, { method: 'GET', path: `/${Bucket}?tagging` });
    assert.equal(bucketTags.status, 501);
  });

  it('CopyObject: COPY (the default) keeps the source tags, REPLACE takes the request tags', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src.txt', Body: 'S', Tagging: 'from=source' }));
    const CopySource = `${Bucket}/src.txt`;
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy-default.txt', CopySource }));
    assert.deepEqual(await getTags('copy-default.txt'), [{ Key: 'from', Value: 'source' }]);
    // COPY ignores the request's x-amz-tagging.
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'copy-copy.txt',
        CopySource,
        TaggingDirective: 'COPY',
        Tagging: 'x=y',
      }),
    );
    assert.deepEqual(await getTags('copy-copy.txt'), [{ Key: 'from', Value: 'source' }]);
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'copy-replace.txt',
        CopySource,
        TaggingDirective: 'REPLACE',
        Tagging: 'new=tag',
      }),
    );
    assert.deepEqual(await getTags('copy-replace.txt'), [{ Key: 'new', Value: 'tag' }]);
    await s3.send(
      new CopyObjectCommand({ Bucket, Key: 'copy-none.txt', CopySource, TaggingDirective: 'REPLACE' }),
    );
    assert.deepEqual((await getTags('copy-none.txt')) ?? [], []);
    // Onto itself with new metadata: the tags stay unless replaced.
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'src.txt',
        CopySource,
        MetadataDirective: 'REPLACE',
        Metadata: { m: '1' },
      }),
    );
    assert.deepEqual(await getTags('src.txt'), [{ Key: 'from', Value: 'source' }]);
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'src.txt',
        CopySource,
        MetadataDirective: 'REPLACE',
        TaggingDirective: 'REPLACE',
        Tagging: 'self=replaced',
      }),
    );
    assert.deepEqual(await getTags('src.txt'), [{ Key: 'self', Value: 'replaced' }]);
    await expectError(
      s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'copy-bad.txt',
          CopySource,
          TaggingDirective: 'MOVE' as 'COPY',
        }),
      ),
      'InvalidArgument',
      400,
    );
  });

  it('CreateMultipartUpload x-amz-tagging: the completed object gets the tags', T, async () => {
    const Key = 'mpu.bin';
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket, Key, Tagging: 'kind=multipart&n=2' }),
    );
    const part = await s3.send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'only part' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    assert.deepEqual(await getTags(Key), [
      { Key: 'kind', Value: 'multipart' },
      { Key: 'n', Value: '2' },
    ]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key }))).TagCount, 2);
    await expectError(
      s3.send(
        new CreateMultipartUploadCommand({
          Bucket,
          Key,
          Tagging: tags(11)
            .map((t) => `${t.Key}=1`)
            .join('&'),
        }),
      ),
      'BadRequest',
      400,
    );
  });

  it(
    'versioned bucket: tags per version, versionId addresses one, delete markers answer as HEAD',
    T,
    async () => {
      const vb = await newBucket(s3, 'tags-ver', { versioning: 'Enabled' });
      const Key = 'v.txt';
      const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key, Body: '1', Tagging: 'gen=one' })))
        .VersionId!;
      const v2 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key, Body: '2', Tagging: 'gen=two' })))
        .VersionId!;
      const get = (VersionId?: string) =>
        s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key, ...(VersionId ? { VersionId } : {}) }));
      const current = await get();
      assert.equal(current.VersionId, v2);
      assert.deepEqual(current.TagSet, [{ Key: 'gen', Value: 'two' }]);
      const old = await get(v1);
      assert.equal(old.VersionId, v1);
      assert.deepEqual(old.TagSet, [{ Key: 'gen', Value: 'one' }]);
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket: vb, Key, VersionId: v1 }))).TagCount, 1);

      // Tagging a noncurrent version changes only it.
      const put = await s3.send(
        new PutObjectTaggingCommand({
          Bucket: vb,
          Key,
          VersionId: v1,
          Tagging: { TagSet: [{ Key: 'gen', Value: 'old' }] },
        }),
      );
      assert.equal(put.VersionId, v1);
      assert.deepEqual((await get(v1)).TagSet, [{ Key: 'gen', Value: 'old' }]);
      assert.deepEqual((await get()).TagSet, [{ Key: 'gen', Value: 'two' }]);
      // ... and the current one, without a version id.
      const putCurrent = await s3.send(
        new PutObjectTaggingCommand({ Bucket: vb, Key, Tagging: { TagSet: [{ Key: 'gen', Value: 'new' }] } }),
      );
      assert.equal(putCurrent.VersionId, v2);
      assert.deepEqual((await get(v2)).TagSet, [{ Key: 'gen', Value: 'new' }]);
      assert.deepEqual((await get(v1)).TagSet, [{ Key: 'gen', Value: 'old' }]);

      // A copy of a noncurrent version gets that version's tags.
      await s3.send(
        new CopyObjectCommand({ Bucket: vb, Key: 'from-v1.txt', CopySource: `${vb}/${Key}?versionId=${v1}` }),
      );
      assert.deepEqual(
        (await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'from-v1.txt' }))).TagSet,
        [{ Key: 'gen', Value: 'old' }],
      );

      // DeleteObjectTagging of one version.
      const del = await s3.send(new DeleteObjectTaggingCommand({ Bucket: vb, Key, VersionId: v1 }));
      assert.equal(del.VersionId, v1);
      assert.deepEqual((await get(v1)).TagSet ?? [], []);
      assert.deepEqual((await get(v2)).TagSet, [{ Key: 'gen', Value: 'new' }]);

      // A new version keeps the previous version's tags with it.
      await s3.send(new PutObjectCommand({ Bucket: vb, Key, Body: '3' }));
      assert.deepEqual((await get()).TagSet ?? [], []);
      assert.deepEqual((await get(v2)).TagSet, [{ Key: 'gen', Value: 'new' }]);

      // Delete markers: the current one is NoSuchKey, one named by id MethodNotAllowed.
      const marker = (await s3.send(new DeleteObjectCommand({ Bucket: vb, Key }))).VersionId!;
      const e = await expectError(get(), 'NoSuchKey', 404);
      assert.equal(e.headers['x-amz-delete-marker'], 'true');
      await expectError(get(marker), 'MethodNotAllowed', 405);
      await expectError(
        s3.send(new PutObjectTaggingCommand({ Bucket: vb, Key, Tagging: { TagSet: tags(1) } })),
        'NoSuchKey',
        404,
      );
      await expectError(get('0000000000000000000000000000000a'), 'NoSuchVersion', 404);
      // The versions behind the marker keep their tags.
      assert.deepEqual((await get(v2)).TagSet, [{ Key: 'gen', Value: 'new' }]);
    },
  );

  it(
    'an object written before versioning was enabled: its tags follow it as the null version',
    T,
    async () => {
      const vb = await newBucket(s3, 'tags-null');
      await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'n.txt', Body: 'n', Tagging: 'era=before' }));
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: vb,
          Key: 'n.txt',
          Tagging: { TagSet: [{ Key: 'era', Value: 'tagged' }] },
        }),
      );
      await setVersioning(s3, vb, 'Enabled');
      const nullTags = await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'n.txt' }));
      assert.equal(nullTags.VersionId, 'null');
      await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'n.txt', Body: 'new' }));
      assert.deepEqual(
        (await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'n.txt', VersionId: 'null' }))).TagSet,
        [{ Key: 'era', Value: 'tagged' }],
      );
    },
  );

  it('object lock does not protect tags: a locked version can be retagged', T, async () => {
    const lb = await lockBucket(s3, 'tags-lock');
    const v = await putLocked(s3, lb, 'locked.txt', 'L', {
      mode: 'COMPLIANCE',
      until: fromNow(DAY),
      hold: 'ON',
    });
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: lb,
        Key: 'locked.txt',
        VersionId: v,
        Tagging: { TagSet: tags(2) },
      }),
    );
    assert.deepEqual(
      (await s3.send(new GetObjectTaggingCommand({ Bucket: lb, Key: 'locked.txt', VersionId: v }))).TagSet,
      tags(2),
    );
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: lb, Key: 'locked.txt', VersionId: v }));
    // The lock itself is untouched.
    const head = await s3.send(new HeadObjectCommand({ Bucket: lb, Key: 'locked.txt', VersionId: v }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
    assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
    assert.equal(head.TagCount, undefined);
  });
});

describe('object tags survive a restart', () => {
  it('unversioned objects, versions and open multipart uploads keep their tags', T, async () => {
    const dataDir = await tempDir('s3local-tags-restart-');
    let srv = await startServer({ advanced: true, dataDir });
    try {
      let s3 = srv.client();
      const Bucket = await newBucket(s3, 'persist');
      const vb = await newBucket(s3, 'persist-ver', { versioning: 'Enabled' });
      await s3.send(new PutObjectCommand({ Bucket, Key: 'p.txt', Body: 'p', Tagging: 'keep=me' }));
      const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: '1', Tagging: 'v=1' })))
        .VersionId!;
      await s3.send(new PutObjectCommand({ Bucket: vb, Key: 'k', Body: '2', Tagging: 'v=2' }));
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket, Key: 'open.bin', Tagging: 'upload=open' }),
      );
      await srv.close();

      srv = await startServer({ advanced: true, dataDir });
      s3 = srv.client();
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'p.txt' }))).TagSet, [
        { Key: 'keep', Value: 'me' },
      ]);
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'k' }))).TagSet, [
        { Key: 'v', Value: '2' },
      ]);
      assert.deepEqual(
        (await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: 'k', VersionId: v1 }))).TagSet,
        [{ Key: 'v', Value: '1' }],
      );
      const part = await s3.send(
        new UploadPartCommand({ Bucket, Key: 'open.bin', UploadId, PartNumber: 1, Body: 'data' }),
      );
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'open.bin',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'open.bin' }))).TagSet, [
        { Key: 'upload', Value: 'open' },
      ]);
    } finally {
      await srv.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
