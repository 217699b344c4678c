/**
 * Compatibility matrix, AWS SDK for JavaScript v3: one end-to-end workflow with the SDK's default
 * checksums (CRC32 on every upload, in aws-chunked trailers for streams) and one with
 * requestChecksumCalculation WHEN_REQUIRED, against a real `s3local serve` in both bucket modes.
 * The finer S3 semantics are tested in test/interop/sdk-*.test.ts; this is the user's workflow.
 */
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { crc32 } from '@node-rs/crc32';
import { ALL_SPECS, matrixSuite, startMatrixServer, type MatrixServer } from './harness.js';
import { md5 } from './trees.js';

const VERSION = (() => {
  const pkg = JSON.parse(
    readFileSync(
      new URL('../../../../node_modules/@aws-sdk/client-s3/package.json', import.meta.url),
      'utf8',
    ),
  ) as { version: string };
  return `@aws-sdk/client-s3 ${pkg.version}`;
})();

const PROFILES = [
  { id: 'default', label: 'default checksums (WHEN_SUPPORTED)', extra: {} },
  {
    id: 'required',
    label: 'requestChecksumCalculation WHEN_REQUIRED',
    extra: { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' },
  },
] as const;

const settingsOf = (extra: object) =>
  [
    'new S3Client({',
    "  endpoint: 'http://127.0.0.1:10001',",
    "  region: 'us-east-1',",
    '  forcePathStyle: true,',
    "  credentials: { accessKeyId: '<ACCESS_KEY_ID>', secretAccessKey: '<SECRET_ACCESS_KEY>' },",
    ...Object.entries(extra).map(([k, v]) => `  ${k}: '${String(v)}',`),
    '})',
  ].join('\n');

const crc32b64 = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b) >>> 0);
  return out.toString('base64');
};

const suite = matrixSuite('AWS SDK for JavaScript v3', { timeout: 600_000 }, () => Promise.resolve(VERSION));

for (const { bucketMode, backend } of ALL_SPECS) {
  describe(`AWS SDK v3 matrix, ${backend} backend, ${bucketMode} bucket mode`, () => {
    let srv: MatrixServer;
    before(async () => {
      srv = await startMatrixServer({ bucketMode, backend });
    });
    after(async () => {
      assert.equal(await srv.stop(), 0, 'serve exits 0 on SIGTERM');
    });

    for (const p of PROFILES) {
      suite.workflow(
        {
          workflow: `create bucket, put, multipart Upload, get with checksum, list, copy, presign, delete — ${p.label}`,
          bucketMode,
          backend,
          settings: settingsOf(p.extra),
        },
        async () => {
          const client = new S3Client({
            endpoint: srv.endpoint,
            region: 'us-east-1',
            forcePathStyle: true,
            credentials: { accessKeyId: srv.accessKeyId, secretAccessKey: srv.secretAccessKey },
            maxAttempts: 1,
            ...(p.extra as Partial<S3ClientConfig>),
          });
          try {
            const Bucket = bucketMode === 'advanced' ? `sdk-v3-${p.id}` : 'default';
            const pre = bucketMode === 'advanced' ? '' : `sdk-v3-${p.id}/`;
            if (bucketMode === 'advanced') await client.send(new CreateBucketCommand({ Bucket }));

            const small = Buffer.from('hello from the AWS SDK v3 ✓\n');
            const put = await client.send(
              new PutObjectCommand({ Bucket, Key: `${pre}small.txt`, Body: small }),
            );
            assert.equal(put.ETag, `"${md5(small)}"`);
            if (p.id === 'default') assert.equal(put.ChecksumCRC32, crc32b64(small), 'default CRC32 stored');

            // A stream of unknown length through lib-storage: 12 MiB in parts of 5 MiB.
            const big = randomBytes(12 * 1024 * 1024);
            const mark = await srv.mark();
            const upload = new Upload({
              client,
              params: {
                Bucket,
                Key: `${pre}big.bin`,
                Body: Readable.from([big.subarray(0, 7e6), big.subarray(7e6)]),
              },
              partSize: 5 * 1024 * 1024,
              queueSize: 2,
            });
            const done = await upload.done();
            assert.match(done.ETag!, /-3"$/);
            assert.equal((await srv.ops(mark)).get('UploadPart'), 3);

            const got = await client.send(
              new GetObjectCommand({ Bucket, Key: `${pre}big.bin`, ChecksumMode: 'ENABLED' }),
            );
            const body = Buffer.from(await got.Body!.transformToByteArray());
            assert.equal(
              createHash('sha256').update(body).digest('hex'),
              createHash('sha256').update(big).digest('hex'),
            );

            const head = await client.send(
              new HeadObjectCommand({ Bucket, Key: `${pre}small.txt`, ChecksumMode: 'ENABLED' }),
            );
            assert.equal(head.ContentLength, small.length);
            if (p.id === 'default') assert.equal(head.ChecksumCRC32, crc32b64(small));

            for (let i = 0; i < 5; i++) {
              await client.send(new PutObjectCommand({ Bucket, Key: `${pre}list/k${i}`, Body: `v${i}` }));
            }
            const keys: string[] = [];
            let pages = 0;
            for await (const page of paginateListObjectsV2(
              { client, pageSize: 2 },
              { Bucket, Prefix: `${pre}list/` },
            )) {
              pages++;
              for (const o of page.Contents ?? []) keys.push(o.Key!);
            }
            assert.equal(pages, 3);
            assert.deepEqual(
              keys,
              [0, 1, 2, 3, 4].map((i) => `${pre}list/k${i}`),
            );
            const delim = await client.send(
              new ListObjectsV2Command({ Bucket, Prefix: pre, Delimiter: '/' }),
            );
            assert.deepEqual(
              (delim.CommonPrefixes ?? []).map((c) => c.Prefix),
              [`${pre}list/`],
            );
            assert.deepEqual((delim.Contents ?? []).map((c) => c.Key).sort(), [
              `${pre}big.bin`,
              `${pre}small.txt`,
            ]);

            await client.send(
              new CopyObjectCommand({
                Bucket,
                Key: `${pre}copy of small.txt`,
                CopySource: `${Bucket}/${encodeURIComponent(`${pre}small.txt`)}`,
                MetadataDirective: 'REPLACE',
                Metadata: { origin: 'copy' },
              }),
            );
            const copied = await client.send(
              new HeadObjectCommand({ Bucket, Key: `${pre}copy of small.txt` }),
            );
            assert.equal(copied.ETag, `"${md5(small)}"`);
            assert.equal(copied.Metadata?.origin, 'copy');

            const url = await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: `${pre}small.txt` }), {
              expiresIn: 300,
            });
            const res = await fetch(url);
            assert.equal(res.status, 200);
            assert.deepEqual(Buffer.from(await res.arrayBuffer()), small);

            const all = [`${pre}small.txt`, `${pre}big.bin`, `${pre}copy of small.txt`];
            for (let i = 0; i < 5; i++) all.push(`${pre}list/k${i}`);
            const del = await client.send(
              new DeleteObjectsCommand({ Bucket, Delete: { Objects: all.map((Key) => ({ Key })) } }),
            );
            assert.equal(del.Deleted?.length, all.length);
            const left = await client.send(new ListObjectsV2Command({ Bucket, Prefix: pre }));
            assert.equal(left.KeyCount, 0);
            if (bucketMode === 'advanced') await client.send(new DeleteBucketCommand({ Bucket }));
          } finally {
            client.destroy();
          }
        },
      );
    }
  });
}
