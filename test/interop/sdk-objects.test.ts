/**
 * AWS SDK v3 against a real server: object operations, odd keys, ranges, conditionals, copy,
 * deletes and checksums — once with the SDK's default checksum behaviour (CRC32 + aws-chunked
 * trailers, as 2025+ SDKs send) and once with WHEN_REQUIRED.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type TestServer } from '../helpers/server.js';

const ODD_KEYS = [
  'plain.txt',
  'with space/and more spaces.bin',
  'plus+sign+key',
  'percent%41encoded%2Fnot-a-slash',
  'unicode/日本語/ファイル-ü-é-😀.txt',
  'double//slash//key',
  'folder-marker/',
  'question?mark&amp=equals',
  'quotes\'"<tag>',
  'tilde~and*star(paren)',
];

async function bodyText(out: { Body?: unknown }): Promise<string> {
  const b = out.Body as { transformToString(): Promise<string> } | undefined;
  return b ? b.transformToString() : '';
}

async function expectError(p: Promise<unknown>, name: string, status?: number): Promise<void> {
  await assert.rejects(p, (err: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.name, name);
    if (status !== undefined) assert.equal(err.$metadata?.httpStatusCode, status);
    return true;
  });
}

/** 304 and HEAD errors have no body: the SDK can only report the status. */
async function expectStatus(p: Promise<unknown>, status: number): Promise<void> {
  await assert.rejects(p, (err: { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.$metadata?.httpStatusCode, status);
    return true;
  });
}

for (const mode of ['WHEN_SUPPORTED', 'WHEN_REQUIRED'] as const) {
  describe(`AWS SDK v3 objects (checksums ${mode})`, () => {
    let srv: TestServer;
    let s3: S3Client;
    const Bucket = 'default';

    before(async () => {
      srv = await startServer();
      s3 = srv.client({ requestChecksumCalculation: mode, responseChecksumValidation: mode });
    });
    after(async () => srv.close());

    it('lists exactly the default bucket in default mode', async () => {
      const out = await s3.send(new ListBucketsCommand({}));
      assert.deepEqual(
        out.Buckets?.map((b) => b.Name),
        ['default'],
      );
      assert.ok(out.Buckets?.[0]?.CreationDate instanceof Date);
    });

    it('round-trips odd keys byte-exact with metadata and headers', async () => {
      for (const Key of ODD_KEYS) {
        const Body = `body of ${Key}`;
        const put = await s3.send(
          new PutObjectCommand({
            Bucket,
            Key,
            Body,
            ContentType: 'text/x-test',
            ContentDisposition: 'attachment; filename="x.txt"',
            ContentLanguage: 'en',
            CacheControl: 'max-age=60',
            Metadata: { mtime: '1700000000.5', 'Mixed-Case': 'Value' },
          }),
        );
        assert.equal(put.ETag, `"${createHash('md5').update(Body).digest('hex')}"`);
        const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
        assert.equal(await bodyText(got), Body, Key);
        assert.equal(got.ContentType, 'text/x-test');
        assert.equal(got.ContentDisposition, 'attachment; filename="x.txt"');
        assert.equal(got.ContentLanguage, 'en');
        assert.equal(got.CacheControl, 'max-age=60');
        assert.deepEqual(got.Metadata, { mtime: '1700000000.5', 'mixed-case': 'Value' });
        assert.equal(got.ETag, put.ETag);
        const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
        assert.equal(head.ContentLength, Buffer.byteLength(Body));
        assert.equal(head.AcceptRanges, 'bytes');
      }
    });

    it('stores and returns flexible checksums with checksum mode', async () => {
      for (const ChecksumAlgorithm of ['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const) {
        const Key = `checksum-${ChecksumAlgorithm}`;
        await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'checksummed body', ChecksumAlgorithm }));
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        assert.equal(await bodyText(got), 'checksummed body');
        const field = `Checksum${ChecksumAlgorithm}` as const;
        assert.ok(got[field], `${field} returned`);
        if (ChecksumAlgorithm === 'SHA256') {
          assert.equal(got.ChecksumSHA256, createHash('sha256').update('checksummed body').digest('base64'));
        }
      }
    });

    it('serves single ranges, suffix and open ranges, and 416', async () => {
      const Key = 'range.txt';
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: '0123456789' }));
      const r1 = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=2-4' }));
      assert.equal(await bodyText(r1), '234');
      assert.equal(r1.ContentRange, 'bytes 2-4/10');
      assert.equal(r1.$metadata.httpStatusCode, 206);
      const r2 = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=7-' }));
      assert.equal(await bodyText(r2), '789');
      const r3 = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=-3' }));
      assert.equal(await bodyText(r3), '789');
      const r4 = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=5-100' }));
      assert.equal(await bodyText(r4), '56789');
      assert.equal(r4.ContentRange, 'bytes 5-9/10');
      await expectError(
        s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=10-' })),
        'InvalidRange',
        416,
      );
      const p1 = await s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 1 }));
      assert.equal(await bodyText(p1), '0123456789');
      await expectError(
        s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 2 })),
        'InvalidPartNumber',
        416,
      );
    });

    it('honours If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since', async () => {
      const Key = 'cond.txt';
      const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'conditional' }));
      const etag = put.ETag!;
      const past = new Date(Date.now() - 3600_000);
      const future = new Date(Date.now() + 3600_000);
      assert.equal(
        await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key, IfMatch: etag }))),
        'conditional',
      );
      await expectError(
        s3.send(new GetObjectCommand({ Bucket, Key, IfMatch: '"nope"' })),
        'PreconditionFailed',
        412,
      );
      await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key, IfMatch: '"nope"' })), 412);
      await expectStatus(s3.send(new GetObjectCommand({ Bucket, Key, IfNoneMatch: etag })), 304);
      await expectStatus(s3.send(new GetObjectCommand({ Bucket, Key, IfModifiedSince: future })), 304);
      assert.equal(
        await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key, IfModifiedSince: past }))),
        'conditional',
      );
      await expectError(
        s3.send(new GetObjectCommand({ Bucket, Key, IfUnmodifiedSince: past })),
        'PreconditionFailed',
        412,
      );
      // S3: If-Match true + If-Unmodified-Since false -> 200
      const both = await s3.send(
        new GetObjectCommand({ Bucket, Key, IfMatch: etag, IfUnmodifiedSince: past }),
      );
      assert.equal(await bodyText(both), 'conditional');
    });

    it('overrides response headers with response-* parameters', async () => {
      const Key = 'override.txt';
      await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x', ContentType: 'text/plain' }));
      const got = await s3.send(
        new GetObjectCommand({
          Bucket,
          Key,
          ResponseContentType: 'application/x-override',
          ResponseContentDisposition: 'inline',
          ResponseCacheControl: 'no-cache',
        }),
      );
      assert.equal(got.ContentType, 'application/x-override');
      assert.equal(got.ContentDisposition, 'inline');
      assert.equal(got.CacheControl, 'no-cache');
      await bodyText(got);
    });

    it('copies with COPY and REPLACE directives, encoded sources, and source conditions', async () => {
      const src = 'copy src/ü ñ+%.txt';
      const put = await s3.send(
        new PutObjectCommand({
          Bucket,
          Key: src,
          Body: 'copy me',
          ContentType: 'text/a',
          Metadata: { a: '1' },
        }),
      );
      const encoded = encodeURIComponent(src).replace(/%2F/g, '/');
      const c1 = await s3.send(
        new CopyObjectCommand({ Bucket, Key: 'copy-dst-1', CopySource: `${Bucket}/${encoded}` }),
      );
      assert.equal(c1.CopyObjectResult?.ETag, put.ETag);
      const h1 = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy-dst-1' }));
      assert.equal(h1.ContentType, 'text/a');
      assert.deepEqual(h1.Metadata, { a: '1' });
      // leading slash and ?versionId=null are accepted
      await s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'copy-dst-2',
          CopySource: `/${Bucket}/${encoded}?versionId=null`,
        }),
      );
      assert.equal(
        await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'copy-dst-2' }))),
        'copy me',
      );
      await s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'copy-dst-3',
          CopySource: `${Bucket}/${encoded}`,
          MetadataDirective: 'REPLACE',
          ContentType: 'text/b',
          Metadata: { b: '2' },
        }),
      );
      const h3 = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy-dst-3' }));
      assert.equal(h3.ContentType, 'text/b');
      assert.deepEqual(h3.Metadata, { b: '2' });
      // self-copy with REPLACE, as rclone does to set mtimes
      await s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: src,
          CopySource: `${Bucket}/${encoded}`,
          MetadataDirective: 'REPLACE',
          ContentType: 'text/a',
          Metadata: { mtime: '42' },
        }),
      );
      const hs = await s3.send(new HeadObjectCommand({ Bucket, Key: src }));
      assert.deepEqual(hs.Metadata, { mtime: '42' });
      assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: src }))), 'copy me');
      // self-copy without REPLACE is illegal
      await expectError(
        s3.send(new CopyObjectCommand({ Bucket, Key: src, CopySource: `${Bucket}/${encoded}` })),
        'InvalidRequest',
        400,
      );
      await expectError(
        s3.send(
          new CopyObjectCommand({
            Bucket,
            Key: 'copy-dst-4',
            CopySource: `${Bucket}/${encoded}`,
            CopySourceIfMatch: '"x"',
          }),
        ),
        'PreconditionFailed',
        412,
      );
      await expectError(
        s3.send(new CopyObjectCommand({ Bucket, Key: 'copy-dst-5', CopySource: `${Bucket}/does-not-exist` })),
        'NoSuchKey',
        404,
      );
    });

    it('deletes: 204 when absent; DeleteObjects with and without Quiet', async () => {
      const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'never-existed' }));
      assert.equal(del.$metadata.httpStatusCode, 204);
      for (const k of ['d1', 'd2', 'd3']) await s3.send(new PutObjectCommand({ Bucket, Key: k, Body: k }));
      const out = await s3.send(
        new DeleteObjectsCommand({
          Bucket,
          Delete: { Objects: [{ Key: 'd1' }, { Key: 'd2' }, { Key: 'absent' }] },
        }),
      );
      assert.deepEqual(out.Deleted?.map((d) => d.Key).sort(), ['absent', 'd1', 'd2']);
      const quiet = await s3.send(
        new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'd3' }], Quiet: true } }),
      );
      assert.equal(quiet.Deleted, undefined);
      await expectError(s3.send(new HeadObjectCommand({ Bucket, Key: 'd3' })), 'NotFound', 404);
      await expectError(s3.send(new GetObjectCommand({ Bucket, Key: 'd1' })), 'NoSuchKey', 404);
    });

    // The full tagging suite is sdk-objects-tagging.test.ts; the Drime backend's 501 is drime-tagging.test.ts.
    it('stores object tags given on PUT and copies them with the object', async () => {
      await s3.send(new PutObjectCommand({ Bucket, Key: 'tagged', Body: 'x', Tagging: 'team=backup' }));
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'tagged' }))).TagCount, 1);
      await s3.send(new CopyObjectCommand({ Bucket, Key: 'tagged-copy', CopySource: `${Bucket}/tagged` }));
      const out = await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'tagged-copy' }));
      assert.deepEqual(out.TagSet, [{ Key: 'team', Value: 'backup' }]);
    });

    it('refuses other buckets in default mode with clear errors', async () => {
      await expectError(
        s3.send(new PutObjectCommand({ Bucket: 'other', Key: 'x', Body: 'x' })),
        'NoSuchBucket',
        404,
      );
      await expectError(s3.send(new GetObjectCommand({ Bucket: 'other', Key: 'x' })), 'NoSuchBucket', 404);
    });
  });
}
