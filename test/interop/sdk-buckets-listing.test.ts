/**
 * AWS SDK v3 against a real server in advanced mode: bucket operations and listings
 * (2,500 keys, V1 and V2, with and without delimiter, encoding-type=url, max-keys edge cases).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  GetBucketAclCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  DeleteObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type TestServer } from '../helpers/server.js';
import { errorCode, rawRequest } from '../helpers/sign.js';

async function expectError(p: Promise<unknown>, name: string, status?: number): Promise<void> {
  await assert.rejects(p, (err: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.name, name);
    if (status !== undefined) assert.equal(err.$metadata?.httpStatusCode, status);
    return true;
  });
}

/** UTF-8 byte order, the order S3 lists keys in. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** 2,500 keys over nested prefixes, with unicode that sorts differently in UTF-16 and UTF-8. */
function manyKeys(): string[] {
  const keys: string[] = [];
  for (let i = 0; i < 2500; i++) {
    const dir = `d${String(i % 7).padStart(2, '0')}`;
    const sub = i % 3 === 0 ? `/s${i % 5}` : '';
    keys.push(`${dir}${sub}/k${String(i).padStart(5, '0')}`);
  }
  keys.push('top-level-file', 'z\uFF21-fullwidth', 'z\u{1F600}-emoji', 'zz');
  return keys;
}

describe('AWS SDK v3 buckets and listings (advanced mode)', () => {
  let srv: TestServer;
  let s3: S3Client;
  const Bucket = 'list-bucket.with.dots';
  const keys = manyKeys();

  before(async () => {
    srv = await startServer({ advanced: true });
    s3 = srv.client();
    await s3.send(new CreateBucketCommand({ Bucket }));
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const Key = keys[next++]!;
        await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  });
  after(async () => srv.close());

  it('creates, heads, locates and deletes buckets with exact errors', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'second-bucket' }));
    // ErrorResponses.html, BucketAlreadyOwnedByYou: "if you re-create an existing bucket that you
    // already own in the North Virginia Region, Amazon S3 returns 200 OK" (and changes nothing).
    await s3.send(new PutObjectCommand({ Bucket: 'second-bucket', Key: 'kept', Body: 'kept' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'second-bucket' }));
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket: 'second-bucket' }))).KeyCount, 1);
    await s3.send(new DeleteObjectCommand({ Bucket: 'second-bucket', Key: 'kept' }));
    await expectError(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })), 'InvalidBucketName', 400);
    await s3.send(new HeadBucketCommand({ Bucket: 'second-bucket' }));
    await expectError(s3.send(new HeadBucketCommand({ Bucket: 'missing-bucket' })), 'NotFound', 404);
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'second-bucket' }));
    assert.equal(loc.LocationConstraint ?? '', '');
    const ver = await s3.send(new GetBucketVersioningCommand({ Bucket: 'second-bucket' }));
    assert.equal(ver.Status, undefined);
    const names = (await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name);
    assert.deepEqual(names, [Bucket, 'second-bucket']);
    await s3.send(new PutObjectCommand({ Bucket: 'second-bucket', Key: 'x', Body: 'x' }));
    await expectError(s3.send(new DeleteBucketCommand({ Bucket: 'second-bucket' })), 'BucketNotEmpty', 409);
    await s3.send(new DeleteObjectCommand({ Bucket: 'second-bucket', Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'second-bucket' }));
    await expectError(s3.send(new HeadBucketCommand({ Bucket: 'second-bucket' })), 'NotFound', 404);
    await expectError(s3.send(new DeleteBucketCommand({ Bucket: 'second-bucket' })), 'NoSuchBucket', 404);
    await expectError(s3.send(new ListObjectsV2Command({ Bucket: 'second-bucket' })), 'NoSuchBucket', 404);
  });

  it('ListBuckets: prefix, bucket-region, max-buckets pages and continuation tokens', async () => {
    const names = ['lb-a1', 'lb-a2', 'lb-a3', 'lb-b1'];
    for (const Bucket of names) await s3.send(new CreateBucketCommand({ Bucket }));
    try {
      const seen: string[] = [];
      let ContinuationToken: string | undefined;
      let pages = 0;
      do {
        const out = await s3.send(
          new ListBucketsCommand({ Prefix: 'lb-a', MaxBuckets: 2, ContinuationToken }),
        );
        assert.equal(out.Prefix, 'lb-a');
        for (const b of out.Buckets ?? []) {
          assert.equal(b.BucketRegion, 'us-east-1');
          seen.push(b.Name!);
        }
        ContinuationToken = out.ContinuationToken;
        pages++;
      } while (ContinuationToken !== undefined);
      assert.deepEqual(seen, ['lb-a1', 'lb-a2', 'lb-a3']);
      assert.equal(pages, 2);
      const other = await s3.send(new ListBucketsCommand({ BucketRegion: 'eu-west-1' }));
      assert.deepEqual(other.Buckets ?? [], []);
      const here = await s3.send(new ListBucketsCommand({ BucketRegion: 'us-east-1', Prefix: 'lb-' }));
      assert.deepEqual(
        here.Buckets?.map((b) => b.Name),
        names,
      );
      // API_ListBuckets: max-buckets is 1 to 10,000.
      for (const MaxBuckets of [0, 10_001]) {
        await expectError(s3.send(new ListBucketsCommand({ MaxBuckets })), 'InvalidArgument', 400);
      }
      await expectError(
        s3.send(new ListBucketsCommand({ ContinuationToken: 'not-a-token' })),
        'InvalidArgument',
        400,
      );
    } finally {
      for (const Bucket of names) await s3.send(new DeleteBucketCommand({ Bucket }));
    }
  });

  it('x-amz-expected-bucket-owner: the owner id passes, any other is AccessDenied and changes nothing', async () => {
    // userguide/bucket-owner-condition.html; the owner id is the one GetBucketAcl answers.
    const Bucket = 'owner-cond';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const owner = (await s3.send(new GetBucketAclCommand({ Bucket }))).Owner!.ID!;
    await s3.send(new PutObjectCommand({ Bucket, Key: 'k', Body: 'k', ExpectedBucketOwner: owner }));
    const wrong = '111122223333';
    await expectError(
      s3.send(new HeadBucketCommand({ Bucket, ExpectedBucketOwner: wrong })),
      'Unknown', // a HEAD error has no body: the SDK knows only the status
      403,
    );
    await expectError(
      s3.send(new PutObjectCommand({ Bucket, Key: 'k2', Body: 'x', ExpectedBucketOwner: wrong })),
      'AccessDenied',
      403,
    );
    await expectError(
      s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'k3',
          CopySource: `${Bucket}/k`,
          ExpectedSourceBucketOwner: wrong,
        }),
      ),
      'AccessDenied',
      403,
    );
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'k', ExpectedBucketOwner: owner }));
    await expectError(
      s3.send(new DeleteBucketCommand({ Bucket, ExpectedBucketOwner: wrong })),
      'AccessDenied',
      403,
    );
    await s3.send(new HeadBucketCommand({ Bucket }));
    const left = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.equal(left.KeyCount, 0, 'k2 and k3 were not written');
    await s3.send(new DeleteBucketCommand({ Bucket, ExpectedBucketOwner: owner }));
  });

  it('outside us-east-1, creating a bucket that exists is 409 BucketAlreadyOwnedByYou', async () => {
    const other = await startServer({ advanced: true, region: 'eu-west-1' });
    try {
      const c = other.client();
      await c.send(new CreateBucketCommand({ Bucket: 'owned' }));
      await expectError(c.send(new CreateBucketCommand({ Bucket: 'owned' })), 'BucketAlreadyOwnedByYou', 409);
    } finally {
      await other.close();
    }
  });

  it('V2 pages through every key in UTF-8 byte order without gaps or repeats', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken: token, MaxKeys: 333 }));
      pages++;
      assert.equal(out.KeyCount, out.Contents?.length ?? 0);
      for (const o of out.Contents ?? []) seen.push(o.Key!);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
      if (out.IsTruncated) assert.ok(token);
    } while (token);
    assert.equal(pages, Math.ceil(keys.length / 333));
    assert.deepEqual(seen, [...keys].sort(byteOrder));
  });

  it('V1 pages through every key with markers', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await s3.send(new ListObjectsCommand({ Bucket, Marker: marker, MaxKeys: 1000 }));
      const page = (out.Contents ?? []).map((o) => o.Key!);
      seen.push(...page);
      if (!out.IsTruncated) break;
      marker = out.NextMarker ?? page.at(-1);
    }
    assert.deepEqual(seen, [...keys].sort(byteOrder));
  });

  it('delimiter listings count prefixes in max-keys and never repeat them (V1 and V2)', async () => {
    const expectedPrefixes = [
      ...new Set(keys.filter((k) => k.includes('/')).map((k) => k.split('/')[0] + '/')),
    ].sort(byteOrder);
    const expectedTop = keys.filter((k) => !k.includes('/')).sort(byteOrder);
    // V2, 2 entries per page
    const prefixes: string[] = [];
    const objects: string[] = [];
    let token: string | undefined;
    do {
      const out = await s3.send(
        new ListObjectsV2Command({ Bucket, Delimiter: '/', MaxKeys: 2, ContinuationToken: token }),
      );
      const n = (out.Contents?.length ?? 0) + (out.CommonPrefixes?.length ?? 0);
      assert.ok(n <= 2);
      assert.equal(out.KeyCount, n);
      prefixes.push(...(out.CommonPrefixes ?? []).map((p) => p.Prefix!));
      objects.push(...(out.Contents ?? []).map((o) => o.Key!));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(prefixes, expectedPrefixes);
    assert.deepEqual(objects, expectedTop);
    // V1 with NextMarker
    const v1Prefixes: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await s3.send(
        new ListObjectsCommand({ Bucket, Delimiter: '/', MaxKeys: 3, Marker: marker }),
      );
      v1Prefixes.push(...(out.CommonPrefixes ?? []).map((p) => p.Prefix!));
      if (!out.IsTruncated) break;
      assert.ok(out.NextMarker, 'NextMarker with a delimiter');
      marker = out.NextMarker;
    }
    assert.deepEqual(v1Prefixes, expectedPrefixes);
  });

  it('lists nested prefixes with a delimiter at depth', async () => {
    const out = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'd00/', Delimiter: '/' }));
    const expectedSub = [
      ...new Set(
        keys.filter((k) => k.startsWith('d00/s')).map((k) => k.split('/').slice(0, 2).join('/') + '/'),
      ),
    ].sort();
    assert.deepEqual(
      out.CommonPrefixes?.map((p) => p.Prefix),
      expectedSub,
    );
    const expectedFiles = keys.filter((k) => k.startsWith('d00/k')).sort(byteOrder);
    assert.deepEqual(
      out.Contents?.map((o) => o.Key),
      expectedFiles,
    );
  });

  it('honours start-after, prefix and max-keys 0', async () => {
    const sorted = [...keys].sort(byteOrder);
    const out = await s3.send(new ListObjectsV2Command({ Bucket, StartAfter: sorted[10], MaxKeys: 5 }));
    assert.deepEqual(
      out.Contents?.map((o) => o.Key),
      sorted.slice(11, 16),
    );
    const zero = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 0 }));
    assert.equal(zero.KeyCount, 0);
    assert.equal(zero.Contents, undefined);
    const pre = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'z' }));
    assert.deepEqual(
      pre.Contents?.map((o) => o.Key),
      sorted.filter((k) => k.startsWith('z')),
    );
    const none = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'no-such-prefix/' }));
    assert.equal(none.KeyCount, 0);
    assert.equal(none.IsTruncated, false);
  });

  it('V2 with both start-after and a continuation token resumes after the later; V1 refuses start-after', async () => {
    const sorted = [...keys].sort(byteOrder);
    const first = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 3 }));
    const token = first.NextContinuationToken!;
    const later = await s3.send(
      new ListObjectsV2Command({ Bucket, MaxKeys: 3, ContinuationToken: token, StartAfter: sorted[7] }),
    );
    assert.deepEqual(
      later.Contents?.map((o) => o.Key),
      sorted.slice(8, 11),
    );
    const earlier = await s3.send(
      new ListObjectsV2Command({ Bucket, MaxKeys: 3, ContinuationToken: token, StartAfter: sorted[0] }),
    );
    assert.deepEqual(
      earlier.Contents?.map((o) => o.Key),
      sorted.slice(3, 6),
    );
    const v1 = await rawRequest(srv.endpoint, { method: 'GET', path: `/${Bucket}?start-after=a` });
    assert.equal(v1.status, 400, v1.text);
    assert.equal(errorCode(v1.text), 'InvalidArgument');
  });

  it('CreateBucket: LocationConstraint us-east-1, bucket tags and an unknown object ownership are refused', async () => {
    const create = (Bucket: string, body: string, headers: Record<string, string> = {}) =>
      rawRequest(srv.endpoint, {
        method: 'PUT',
        path: `/${Bucket}`,
        body,
        headers,
        payloadHash: createHash('sha256').update(body).digest('hex'),
      });
    const conf = (inner: string) =>
      `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</CreateBucketConfiguration>`;
    // us-east-1 is named by sending no LocationConstraint (API_CreateBucket.html).
    let res = await create('cb-east', conf('<LocationConstraint>us-east-1</LocationConstraint>'));
    assert.equal(res.status, 400, res.text);
    assert.equal(errorCode(res.text), 'InvalidLocationConstraint');
    res = await create('cb-tags', conf('<Tags><Tag><Key>k</Key><Value>v</Value></Tag></Tags>'));
    assert.equal(res.status, 501, res.text);
    res = await create('cb-own', '', { 'x-amz-object-ownership': 'invalid_ownership' });
    assert.equal(res.status, 400, res.text);
    assert.equal(errorCode(res.text), 'InvalidArgument');
    for (const Bucket of ['cb-east', 'cb-tags', 'cb-own']) {
      await expectError(s3.send(new HeadBucketCommand({ Bucket })), 'NotFound', 404);
    }
    await s3.send(new CreateBucketCommand({ Bucket: 'cb-owned', ObjectOwnership: 'BucketOwnerEnforced' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'cb-owned' }));
  });

  it('url-encodes keys with encoding-type=url and the SDK decodes them', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'enc/a b+c%d\u00e9', Body: 'x' }));
    const out = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'enc/', EncodingType: 'url' }));
    assert.equal(out.EncodingType, 'url');
    // SDK v3 does not decode: the raw encoded form is what the server sent.
    assert.equal(out.Contents?.[0]?.Key, 'enc/a%20b%2Bc%25d%C3%A9');
  });
});
