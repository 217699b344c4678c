/**
 * ACLs on a single-owner server, AWS SDK v3, awscli and s3cmd against a real server (local backend):
 * Get*Acl answer the owner's FULL_CONTROL for what exists (with HeadObject's errors for what
 * does not), Put*Acl accept what changes nothing and answer 501 NotImplemented for anything that
 * would grant someone else access, and malformed requests get S3's errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketAclCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutBucketAclCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  type AccessControlPolicy,
  type BucketCannedACL,
  type GetBucketAclCommandOutput,
  type ObjectCannedACL,
  type S3Client,
} from '@aws-sdk/client-s3';
import { awscliEnv, clientEnv, clientTestOptions, runClient } from '../helpers/clients.js';
import {
  TEST_CREDENTIALS,
  startServer,
  startWithClient,
  tempDir,
  type TestServer,
} from '../helpers/server.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import { bodyText, caught, expectError, newBucket } from '../helpers/versioning.js';
import { s3cmdConfig } from '../helpers/s3cmd.js';

const T = { timeout: 60_000 };
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5b64 = (b: Buffer | string) => createHash('md5').update(b).digest('base64');
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** The one ACL s3local answers: owner s3local, one FULL_CONTROL grant to it. */
function assertOwnerOnly(out: Pick<GetBucketAclCommandOutput, 'Owner' | 'Grants'>): void {
  assert.deepEqual(out.Owner, { ID: 's3local', DisplayName: 's3local' });
  assert.deepEqual(out.Grants, [
    {
      Grantee: { Type: 'CanonicalUser', ID: 's3local', DisplayName: 's3local' },
      Permission: 'FULL_CONTROL',
    },
  ]);
}

const OWNER_POLICY: AccessControlPolicy = {
  Owner: { ID: 's3local', DisplayName: 's3local' },
  Grants: [{ Grantee: { Type: 'CanonicalUser', ID: 's3local' }, Permission: 'FULL_CONTROL' }],
};

describe('ACLs (advanced mode, local backend)', () => {
  let srv: TestServer;
  let s3: S3Client;
  let Bucket: string;
  const Key = 'acl/file.txt';

  before(async () => {
    ({ srv, s3 } = await startWithClient({ advanced: true, server: { metricsPublic: true } }));
    Bucket = await newBucket(s3, 'acl');
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'original' }));
  });
  after(async () => srv?.close());

  const putAclRaw = (path: string, body: string, headers: Record<string, string> = {}) =>
    rawRequest(srv.endpoint, {
      method: 'PUT',
      path,
      body,
      headers: body === '' ? headers : { 'content-md5': md5b64(body), ...headers },
      payloadHash: sha256(body),
    });

  it('GetBucketAcl answers the owner with one FULL_CONTROL grant', T, async () => {
    assertOwnerOnly(await s3.send(new GetBucketAclCommand({ Bucket })));
    const raw = await rawRequest(srv.endpoint, { method: 'GET', path: `/${Bucket}?acl` });
    assert.equal(raw.status, 200, raw.text);
    assert.match(String(raw.headers['content-type']), /xml/);
    assert.match(raw.text, /<AccessControlPolicy xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/">/);
    assert.ok(raw.text.includes(`<Grantee xmlns:xsi="${XSI}" xsi:type="CanonicalUser">`), raw.text);
  });

  it('GetBucketAcl of a missing bucket is NoSuchBucket', T, async () => {
    await expectError(
      s3.send(new GetBucketAclCommand({ Bucket: 'no-such-bucket-acl' })),
      'NoSuchBucket',
      404,
    );
    await expectError(
      s3.send(new PutBucketAclCommand({ Bucket: 'no-such-bucket-acl', ACL: 'private' })),
      'NoSuchBucket',
      404,
    );
  });

  it('GetObjectAcl answers the same ACL for an object; NoSuchKey for a missing one', T, async () => {
    assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket, Key })));
    await expectError(s3.send(new GetObjectAclCommand({ Bucket, Key: 'acl/missing' })), 'NoSuchKey', 404);
    await expectError(
      s3.send(new PutObjectAclCommand({ Bucket, Key: 'acl/missing', ACL: 'private' })),
      'NoSuchKey',
      404,
    );
    await expectError(
      s3.send(new GetObjectAclCommand({ Bucket: 'no-such-bucket-acl', Key })),
      'NoSuchBucket',
      404,
    );
  });

  it('versions: GetObjectAcl by versionId, NoSuchVersion, and the delete-marker answers', T, async () => {
    const vb = await newBucket(s3, 'acl-versions', { versioning: 'Enabled' });
    const k = 'doc.txt';
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: k, Body: 'one' }))).VersionId;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: k, Body: 'two' }))).VersionId;
    assert.ok(v1 && v2);
    assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket: vb, Key: k, VersionId: v1 })));
    await s3.send(new PutObjectAclCommand({ Bucket: vb, Key: k, VersionId: v1, ACL: 'private' }));
    // A version deleted for good no longer exists.
    await s3.send(new DeleteObjectCommand({ Bucket: vb, Key: k, VersionId: v2 }));
    await expectError(
      s3.send(new GetObjectAclCommand({ Bucket: vb, Key: k, VersionId: v2 })),
      'NoSuchVersion',
      404,
    );
    // The current version a delete marker: NoSuchKey with the marker's headers, as HeadObject.
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: vb, Key: k }))).VersionId;
    assert.ok(marker);
    const current = await expectError(
      s3.send(new GetObjectAclCommand({ Bucket: vb, Key: k })),
      'NoSuchKey',
      404,
    );
    assert.equal(current.headers['x-amz-delete-marker'], 'true');
    assert.equal(current.headers['x-amz-version-id'], marker);
    // The marker named by id: 405 MethodNotAllowed; a PUT ?acl on a marker, named or current, too.
    const named = await expectError(
      s3.send(new GetObjectAclCommand({ Bucket: vb, Key: k, VersionId: marker })),
      'MethodNotAllowed',
      405,
    );
    assert.equal(named.headers['x-amz-delete-marker'], 'true');
    for (const VersionId of [undefined, marker]) {
      const put = await expectError(
        s3.send(
          new PutObjectAclCommand({
            Bucket: vb,
            Key: k,
            ACL: 'private',
            ...(VersionId ? { VersionId } : {}),
          }),
        ),
        'MethodNotAllowed',
        405,
      );
      assert.equal(put.headers['x-amz-delete-marker'], 'true');
      assert.equal(put.headers['x-amz-version-id'], marker);
    }
    for (const query of ['acl', `acl&versionId=${encodeURIComponent(marker)}`]) {
      const raw = await putAclRaw(`/${vb}/${k}?${query}`, '', { 'x-amz-acl': 'private' });
      assert.equal(raw.status, 405, raw.text);
      assert.match(raw.text, /<Method>PUT<\/Method><ResourceType>DeleteMarker<\/ResourceType>/, query);
    }
    // The older version is still there and still answers.
    assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket: vb, Key: k, VersionId: v1 })));
  });

  it('Put*Acl accept the private canned ACL and the owner-only canned ACLs', T, async () => {
    for (const ACL of ['private', 'bucket-owner-full-control', 'bucket-owner-read'] as const) {
      const out = await s3.send(new PutObjectAclCommand({ Bucket, Key, ACL }));
      assert.equal(out.$metadata.httpStatusCode, 200, ACL);
    }
    const b = await s3.send(new PutBucketAclCommand({ Bucket, ACL: 'private' }));
    assert.equal(b.$metadata.httpStatusCode, 200);
    assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket, Key })));
  });

  it(
    'Put*Acl accept a document granting only the owner FULL_CONTROL (what Get*Acl answered)',
    T,
    async () => {
      await s3.send(new PutBucketAclCommand({ Bucket, AccessControlPolicy: OWNER_POLICY }));
      await s3.send(new PutObjectAclCommand({ Bucket, Key, AccessControlPolicy: OWNER_POLICY }));
      // The document Get*Acl answers, sent back as it came (what s3cmd setacl and Cyberduck do).
      const got = await s3.send(new GetObjectAclCommand({ Bucket, Key }));
      await s3.send(
        new PutObjectAclCommand({
          Bucket,
          Key,
          AccessControlPolicy: { Owner: got.Owner, Grants: got.Grants },
        }),
      );
    },
  );

  it('anything that would grant someone else access answers 501 NotImplemented', T, async () => {
    for (const ACL of ['public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read'] as const) {
      const e = await expectError(
        s3.send(new PutObjectAclCommand({ Bucket, Key, ACL })),
        'NotImplemented',
        501,
      );
      assert.match(e.message, /private to its one owner/);
    }
    // The SDK's BucketCannedACL lacks aws-exec-read and log-delivery-write, which S3 defines for buckets.
    for (const ACL of ['public-read', 'public-read-write', 'authenticated-read', 'aws-exec-read']) {
      const put = s3.send(new PutBucketAclCommand({ Bucket, ACL: ACL as BucketCannedACL }));
      await expectError(put, 'NotImplemented', 501);
    }
    await expectError(
      s3.send(new PutBucketAclCommand({ Bucket, ACL: 'log-delivery-write' as BucketCannedACL })),
      'NotImplemented',
      501,
    );
    const grants = [
      { GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' },
      { GrantFullControl: 'id="s3local"' },
      { GrantReadACP: 'emailAddress="someone@example.test"' },
      { GrantWriteACP: 'id="0123456789abcdef"' },
    ];
    for (const g of grants) {
      await expectError(s3.send(new PutObjectAclCommand({ Bucket, Key, ...g })), 'NotImplemented', 501);
      await expectError(s3.send(new PutBucketAclCommand({ Bucket, ...g })), 'NotImplemented', 501);
    }
    await expectError(
      s3.send(
        new PutBucketAclCommand({
          Bucket,
          GrantWrite: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
        }),
      ),
      'NotImplemented',
      501,
    );
    const others: AccessControlPolicy[] = [
      {
        ...OWNER_POLICY,
        Grants: [
          ...OWNER_POLICY.Grants!,
          {
            Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' },
            Permission: 'READ',
          },
        ],
      },
      {
        ...OWNER_POLICY,
        Grants: [{ Grantee: { Type: 'CanonicalUser', ID: 'someone-else' }, Permission: 'READ' }],
      },
      {
        ...OWNER_POLICY,
        Grants: [
          { Grantee: { Type: 'AmazonCustomerByEmail', EmailAddress: 'a@example.test' }, Permission: 'READ' },
        ],
      },
      // Taking the owner's own full control away is not something s3local can do either.
      {
        ...OWNER_POLICY,
        Grants: [{ Grantee: { Type: 'CanonicalUser', ID: 's3local' }, Permission: 'READ' }],
      },
      { ...OWNER_POLICY, Grants: [] },
    ];
    for (const AccessControlPolicy of others) {
      await expectError(
        s3.send(new PutObjectAclCommand({ Bucket, Key, AccessControlPolicy })),
        'NotImplemented',
        501,
      );
      await expectError(
        s3.send(new PutBucketAclCommand({ Bucket, AccessControlPolicy })),
        'NotImplemented',
        501,
      );
    }
    // Nothing changed: the same ACL, the same bytes.
    assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket, Key })));
    assertOwnerOnly(await s3.send(new GetBucketAclCommand({ Bucket })));
  });

  it(
    'malformed requests get S3 errors: MalformedACLError, MissingSecurityHeader, InvalidRequest, UnexpectedContent, InvalidArgument',
    T,
    async () => {
      for (const path of [`/${Bucket}?acl`, `/${Bucket}/${Key}?acl`]) {
        for (const body of ['<AccessControlPolicy><Owner>', 'not xml', '<Tagging/>']) {
          const res = await putAclRaw(path, body);
          assert.equal(res.status, 400, `${path} ${body}: ${res.text}`);
          assert.equal(errorCode(res.text), 'MalformedACLError');
        }
        const noAcl = await putAclRaw(path, '');
        assert.equal(noAcl.status, 400, noAcl.text);
        assert.equal(errorCode(noAcl.text), 'MissingSecurityHeader');
        const both = await putAclRaw(path, '', {
          'x-amz-acl': 'private',
          'x-amz-grant-read': 'id="s3local"',
        });
        assert.equal(both.status, 400, both.text);
        assert.equal(errorCode(both.text), 'InvalidRequest');
        const content = await putAclRaw(path, '<AccessControlPolicy/>', { 'x-amz-acl': 'private' });
        assert.equal(content.status, 400, content.text);
        assert.equal(errorCode(content.text), 'UnexpectedContent');
        const unknown = await putAclRaw(path, '', { 'x-amz-acl': 'fake-acl' });
        assert.equal(unknown.status, 400, unknown.text);
        assert.equal(errorCode(unknown.text), 'InvalidArgument');
      }
      const wrongOwner = await caught(
        s3.send(
          new PutObjectAclCommand({
            Bucket,
            Key,
            AccessControlPolicy: { ...OWNER_POLICY, Owner: { ID: 'wrong-id' } },
          }),
        ),
      );
      assert.deepEqual([wrongOwner.name, wrongOwner.status], ['InvalidArgument', 400]);
      const badCanned = await caught(
        s3.send(new PutObjectAclCommand({ Bucket, Key, ACL: 'fake-acl' as ObjectCannedACL })),
      );
      assert.deepEqual([badCanned.name, badCanned.status], ['InvalidArgument', 400]);
      // None of it touched the object.
      assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key }))), 'original');
    },
  );

  it(
    'ACL headers on writes: owner-only canned ACLs are accepted, anything else is refused and writes nothing',
    T,
    async () => {
      // ceph/s3-tests sends x-amz-acl on PutObject, CopyObject, CreateMultipartUpload and
      // CreateBucket; accepting public-read there and keeping the object private would be the
      // silent pretence Put*Acl refuses.
      for (const ACL of ['private', 'bucket-owner-read', 'bucket-owner-full-control'] as const) {
        await s3.send(new PutObjectCommand({ Bucket, Key: `acl/owner-${ACL}`, Body: 'x', ACL }));
        assertOwnerOnly(await s3.send(new GetObjectAclCommand({ Bucket, Key: `acl/owner-${ACL}` })));
      }
      const writes = (ACL: ObjectCannedACL, n: string) => [
        () => s3.send(new PutObjectCommand({ Bucket, Key: `acl/put-${n}`, Body: 'x', ACL })),
        () =>
          s3.send(
            new CopyObjectCommand({ Bucket, Key: `acl/copy-${n}`, CopySource: `${Bucket}/${Key}`, ACL }),
          ),
        () => s3.send(new CreateMultipartUploadCommand({ Bucket, Key: `acl/mpu-${n}`, ACL })),
        () => s3.send(new CreateBucketCommand({ Bucket: `acl-new-${n}`, ACL: ACL as BucketCannedACL })),
      ];
      for (const ACL of ['public-read', 'public-read-write', 'authenticated-read'] as const) {
        for (const w of writes(ACL, ACL)) {
          const e = await expectError(w(), 'NotImplemented', 501);
          assert.match(e.message, /private to its one owner/);
        }
        await expectError(s3.send(new HeadObjectCommand({ Bucket, Key: `acl/put-${ACL}` })), 'NotFound', 404);
        await expectError(
          s3.send(new HeadObjectCommand({ Bucket, Key: `acl/copy-${ACL}` })),
          'NotFound',
          404,
        );
        await expectError(s3.send(new HeadBucketCommand({ Bucket: `acl-new-${ACL}` })), 'NotFound', 404);
      }
      for (const w of writes('no-such-acl' as ObjectCannedACL, 'bad'))
        await expectError(w(), 'InvalidArgument', 400);
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'acl/mpu-' }));
      assert.equal(uploads.Uploads, undefined, 'no multipart upload was created');
      await expectError(
        s3.send(
          new PutObjectCommand({
            Bucket,
            Key: 'acl/grant',
            Body: 'x',
            GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
          }),
        ),
        'NotImplemented',
        501,
      );
    },
  );

  it('counts the requests under their operation names', T, async () => {
    const res = await fetch(`${srv.endpoint}/_s3local/metrics`);
    const text = await res.text();
    for (const op of ['GetBucketAcl', 'PutBucketAcl', 'GetObjectAcl', 'PutObjectAcl']) {
      assert.match(text, new RegExp(`s3local_requests_total\\{operation="${op}",status="200"\\} [1-9]`), op);
    }
    assert.match(text, /s3local_requests_total\{operation="PutObjectAcl",status="501"\} [1-9]/);
  });
});

describe('ACLs in default mode', () => {
  let srv: TestServer;
  let s3: S3Client;
  before(async () => ({ srv, s3 } = await startWithClient()));
  after(async () => srv?.close());

  it(
    'answer for the default bucket; any other bucket is NoSuchBucket, as for other bucket operations',
    T,
    async () => {
      assertOwnerOnly(await s3.send(new GetBucketAclCommand({ Bucket: 'default' })));
      await s3.send(new PutBucketAclCommand({ Bucket: 'default', ACL: 'private' }));
      await expectError(s3.send(new GetBucketAclCommand({ Bucket: 'other' })), 'NoSuchBucket', 404);
      await expectError(s3.send(new GetObjectAclCommand({ Bucket: 'other', Key: 'k' })), 'NoSuchBucket', 404);
    },
  );
});

describe('ACLs through awscli and s3cmd', () => {
  let srv: TestServer;
  let dir: string;
  before(async () => {
    srv = await startServer();
    dir = await tempDir('s3local-acl-cli-');
  });
  after(async () => {
    await srv?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('aws s3api get-bucket-acl / get-object-acl / put-object-acl', clientTestOptions('aws'), async () => {
    const config = join(dir, 'aws-config');
    await writeFile(config, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
    const env = awscliEnv(config, TEST_CREDENTIALS);
    const aws = (...args: string[]) =>
      runClient('/usr/bin/aws', ['--endpoint-url', srv.endpoint, ...args], env);
    const s3 = srv.client();
    await s3.send(new PutObjectCommand({ Bucket: 'default', Key: 'cli/acl.txt', Body: 'x' }));

    const bucketAcl = await aws('s3api', 'get-bucket-acl', '--bucket', 'default');
    assert.equal(bucketAcl.code, 0, bucketAcl.err);
    const expected = {
      Owner: { DisplayName: 's3local', ID: 's3local' },
      Grants: [
        {
          Grantee: { DisplayName: 's3local', ID: 's3local', Type: 'CanonicalUser' },
          Permission: 'FULL_CONTROL',
        },
      ],
    };
    assert.deepEqual(JSON.parse(bucketAcl.out), expected);
    const objectAcl = await aws('s3api', 'get-object-acl', '--bucket', 'default', '--key', 'cli/acl.txt');
    assert.equal(objectAcl.code, 0, objectAcl.err);
    assert.deepEqual(JSON.parse(objectAcl.out), expected);

    const missing = await aws('s3api', 'get-object-acl', '--bucket', 'default', '--key', 'cli/missing.txt');
    assert.notEqual(missing.code, 0);
    assert.match(missing.err, /NoSuchKey/);

    const priv = await aws(
      's3api',
      'put-object-acl',
      '--bucket',
      'default',
      '--key',
      'cli/acl.txt',
      '--acl',
      'private',
    );
    assert.equal(priv.code, 0, priv.err);
    const pub = await aws('s3api', 'put-bucket-acl', '--bucket', 'default', '--acl', 'public-read');
    assert.notEqual(pub.code, 0);
    assert.match(pub.err, /NotImplemented/);
    assert.match(pub.err, /private to its one owner/);
  });

  it(
    's3cmd info shows the ACL; setacl --acl-private succeeds, --acl-public is refused',
    clientTestOptions('s3cmd'),
    async () => {
      const cfg = join(dir, 's3cfg');
      const host = new URL(srv.endpoint).host;
      await writeFile(cfg, s3cmdConfig({ host }));
      const s3cmd = (...args: string[]) => runClient('s3cmd', ['-c', cfg, ...args], clientEnv());
      await srv.client().send(new PutObjectCommand({ Bucket: 'default', Key: 'cli/s3cmd.txt', Body: 'x' }));
      for (const uri of ['s3://default', 's3://default/cli/s3cmd.txt']) {
        const info = await s3cmd('info', uri);
        assert.equal(info.code, 0, info.err);
        assert.match(info.out, /ACL: +s3local: FULL_CONTROL/, info.out);
      }
      // setacl reads the ACL, edits the document and PUTs it back (a body, not a header).
      const priv = await s3cmd('setacl', '--acl-private', 's3://default/cli/s3cmd.txt');
      assert.equal(priv.code, 0, priv.err);
      const pub = await s3cmd('setacl', '--acl-public', 's3://default/cli/s3cmd.txt');
      assert.notEqual(pub.code, 0);
      assert.match(pub.err, /501 \(NotImplemented\)/);
      assert.match(pub.err, /AllUsers/);
    },
  );
});
