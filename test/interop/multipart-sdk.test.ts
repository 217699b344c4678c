/**
 * Multipart uploads with the AWS SDK v3 against a real server: @aws-sdk/lib-storage with the
 * default checksums (CRC32 trailers, COMPOSITE) and WHEN_REQUIRED, FULL_OBJECT CRCs the SDK itself
 * validates on GET, GET/HEAD `?partNumber`, UploadPartCopy, listing, abort, a restart in the
 * middle of an upload, and conditional writes racing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
  type UploadPartCopyCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';
import { completeUpload, compositeCrc32, crc32Bytes, md5Bytes, multipartETag } from '../helpers/multipart.js';

const MiB = 1024 * 1024;
const Bucket = 'default';
const T = { timeout: 300_000 };

async function bytesOf(out: { Body?: unknown }): Promise<Buffer> {
  const b = out.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

async function expectError(p: Promise<unknown>, name: string, status: number): Promise<void> {
  await assert.rejects(p, (err: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(err.name, name);
    assert.equal(err.$metadata?.httpStatusCode, status);
    return true;
  });
}

describe('multipart with the AWS SDK v3', () => {
  let srv: TestServer;
  let s3: S3Client;
  let plain: S3Client;
  let big: Buffer;

  before(async () => {
    srv = await startServer();
    s3 = srv.client();
    plain = srv.client({
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    big = randomBytes(100 * MiB);
  });
  after(async () => srv.close());

  for (const mode of ['WHEN_SUPPORTED', 'WHEN_REQUIRED'] as const) {
    it(`lib-storage Upload of 100 MiB, 5 MiB parts, queueSize 4 (checksums ${mode})`, T, async () => {
      const client = mode === 'WHEN_SUPPORTED' ? s3 : plain;
      const Key = `lib-storage/${mode}.bin`;
      const upload = new Upload({
        client,
        params: { Bucket, Key, Body: big },
        partSize: 5 * MiB,
        queueSize: 4,
      });
      const out = await upload.done();
      assert.equal(out.ETag, multipartETag(big, 5 * MiB));
      if (mode === 'WHEN_SUPPORTED') {
        // The SDK sent a CRC32 per part (trailers) and listed them in Complete: COMPOSITE.
        assert.equal(out.ChecksumCRC32, compositeCrc32(big, 5 * MiB));
        assert.equal(out.ChecksumType, 'COMPOSITE');
      } else {
        assert.equal(out.ChecksumCRC32, undefined);
      }
      const head = await client.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      assert.equal(head.ETag, multipartETag(big, 5 * MiB));
      assert.equal(head.ContentLength, big.length);
      assert.equal(head.PartsCount, 20);
      if (mode === 'WHEN_SUPPORTED') assert.equal(head.ChecksumCRC32, compositeCrc32(big, 5 * MiB));
      const got = await client.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      assert.ok(md5Bytes(await bytesOf(got)).equals(md5Bytes(big)));
    });
  }

  for (const params of [
    { ChecksumAlgorithm: 'CRC64NVME' as const },
    { ChecksumAlgorithm: 'CRC32' as const, ChecksumType: 'FULL_OBJECT' as const },
    { ChecksumAlgorithm: 'CRC32C' as const, ChecksumType: 'FULL_OBJECT' as const },
  ]) {
    it(
      `FULL_OBJECT ${params.ChecksumAlgorithm}: the SDK validates the whole-object CRC on GET`,
      T,
      async () => {
        const data = big.subarray(0, 17 * MiB + 3);
        const Key = `full/${params.ChecksumAlgorithm}`;
        const out = await new Upload({
          client: s3,
          params: { Bucket, Key, Body: data, ...params },
          partSize: 5 * MiB,
          queueSize: 4,
        }).done();
        assert.equal(out.ChecksumType, 'FULL_OBJECT');
        const field = `Checksum${params.ChecksumAlgorithm}` as const;
        assert.ok(out[field] && !out[field].includes('-'), `${field} = ${out[field]}`);
        // GetObject with checksum mode: the SDK computes the CRC of the body it reads and fails the
        // read on a mismatch, so a correct read proves the combined value.
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        assert.equal(got[field], out[field]);
        assert.ok((await bytesOf(got)).equals(data));
        // A part of a FULL_OBJECT object has no checksum of its own on S3.
        const part = await s3.send(
          new GetObjectCommand({ Bucket, Key, PartNumber: 2, ChecksumMode: 'ENABLED' }),
        );
        assert.equal(part[field], undefined);
        assert.ok((await bytesOf(part)).equals(data.subarray(5 * MiB, 10 * MiB)));
      },
    );
  }

  it('GET and HEAD ?partNumber return the part with x-amz-mp-parts-count', T, async () => {
    const Key = 'lib-storage/WHEN_SUPPORTED.bin';
    for (const n of [1, 7, 20]) {
      const head = await s3.send(
        new HeadObjectCommand({ Bucket, Key, PartNumber: n, ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head.PartsCount, 20);
      assert.equal(head.ContentLength, 5 * MiB);
      assert.equal(head.ContentRange, `bytes ${(n - 1) * 5 * MiB}-${n * 5 * MiB - 1}/${big.length}`);
      // COMPOSITE: the part's own CRC32, which the SDK validates on the GET.
      assert.equal(
        head.ChecksumCRC32,
        crc32Bytes(big.subarray((n - 1) * 5 * MiB, n * 5 * MiB)).toString('base64'),
      );
      const got = await s3.send(
        new GetObjectCommand({ Bucket, Key, PartNumber: n, ChecksumMode: 'ENABLED' }),
      );
      assert.equal(got.$metadata.httpStatusCode, 206);
      assert.ok((await bytesOf(got)).equals(big.subarray((n - 1) * 5 * MiB, n * 5 * MiB)));
    }
    await assert.rejects(
      s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 21 })),
      (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 416,
    );
  });

  it('UploadPartCopy with x-amz-copy-source-range and source conditions', T, async () => {
    const src = 'copy/source.bin';
    const data = randomBytes(6 * MiB + 100);
    const put = await plain.send(new PutObjectCommand({ Bucket, Key: src, Body: data }));
    const Key = 'copy/assembled.bin';
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'SHA256' }),
    );
    const copyPart = (PartNumber: number, source: Partial<UploadPartCopyCommandInput>) =>
      s3.send(
        new UploadPartCopyCommand({
          Bucket,
          Key,
          UploadId,
          PartNumber,
          CopySource: `${Bucket}/${src}`,
          ...source,
        }),
      );
    const p1 = await copyPart(1, {
      CopySourceRange: `bytes=0-${5 * MiB - 1}`,
      CopySourceIfMatch: put.ETag,
    });
    assert.equal(p1.CopyPartResult?.ETag, `"${md5Bytes(data.subarray(0, 5 * MiB)).toString('hex')}"`);
    assert.equal(
      p1.CopyPartResult?.ChecksumSHA256,
      createHash('sha256')
        .update(data.subarray(0, 5 * MiB))
        .digest('base64'),
    );
    const p2 = await copyPart(2, { CopySourceRange: `bytes=${5 * MiB}-${data.length - 1}` });
    await expectError(copyPart(3, { CopySourceIfNoneMatch: put.ETag }), 'PreconditionFailed', 412);
    await expectError(copyPart(3, { CopySourceRange: `bytes=0-${data.length}` }), 'InvalidArgument', 400);
    const done = await completeUpload(
      s3,
      { Bucket, Key, UploadId },
      [p1, p2].map((p, i) => ({
        PartNumber: i + 1,
        ETag: p.CopyPartResult?.ETag,
        ChecksumSHA256: p.CopyPartResult?.ChecksumSHA256,
      })),
    );
    assert.match(done.ChecksumSHA256 ?? '', /-2$/);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.ok((await bytesOf(got)).equals(data));
  });

  it(
    'ListMultipartUploads after several creates, ListParts, and abort removes the parts from disk',
    T,
    async () => {
      const keys = ['list/b', 'list/a', 'list/sub/c', 'list/a'];
      const ids: string[] = [];
      for (const Key of keys) {
        ids.push((await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }))).UploadId!);
      }
      const all = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'list/' }));
      assert.deepEqual(
        all.Uploads?.map((u) => u.Key),
        ['list/a', 'list/a', 'list/b', 'list/sub/c'],
      );
      assert.deepEqual(
        all.Uploads?.slice(0, 2).map((u) => u.UploadId),
        [ids[1], ids[3]],
      );
      const delimited = await s3.send(
        new ListMultipartUploadsCommand({ Bucket, Prefix: 'list/', Delimiter: '/' }),
      );
      assert.deepEqual(
        delimited.CommonPrefixes?.map((p) => p.Prefix),
        ['list/sub/'],
      );
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'list/', MaxUploads: 1 }));
      assert.equal(page.IsTruncated, true);
      const next = await s3.send(
        new ListMultipartUploadsCommand({
          Bucket,
          Prefix: 'list/',
          MaxUploads: 2,
          KeyMarker: page.NextKeyMarker,
          UploadIdMarker: page.NextUploadIdMarker,
        }),
      );
      assert.deepEqual(
        next.Uploads?.map((u) => u.UploadId),
        [ids[3], ids[0]],
      );

      const UploadId = ids[0]!;
      for (const PartNumber of [3, 1, 2]) {
        await s3.send(
          new UploadPartCommand({ Bucket, Key: 'list/b', UploadId, PartNumber, Body: `part ${PartNumber}` }),
        );
      }
      const parts = await s3.send(new ListPartsCommand({ Bucket, Key: 'list/b', UploadId, MaxParts: 2 }));
      assert.deepEqual(
        parts.Parts?.map((p) => p.PartNumber),
        [1, 2],
      );
      assert.equal(parts.IsTruncated, true);
      assert.equal(parts.NextPartNumberMarker, '2');
      const dir = join(srv.dataDir, '.s3local', 'uploads', UploadId);
      assert.equal((await readdir(dir)).filter((f) => f.startsWith('part-')).length, 3);
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'list/b', UploadId }));
      assert.equal(existsSync(dir), false, 'the parts are gone from disk');
      await expectError(
        s3.send(new ListPartsCommand({ Bucket, Key: 'list/b', UploadId })),
        'NoSuchUpload',
        404,
      );
      for (const [i, Key] of keys.entries()) {
        if (i > 0) await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: ids[i] }));
      }
    },
  );

  it('concurrent If-None-Match: * PUTs and Completes of one key: exactly one wins', T, async () => {
    const settle = async (ps: Promise<unknown>[]) => {
      const results = await Promise.allSettled(ps);
      const won = results.filter((r) => r.status === 'fulfilled').length;
      for (const r of results) {
        if (r.status === 'rejected') {
          const err = r.reason as { name?: string; $metadata?: { httpStatusCode?: number } };
          assert.equal(err.name, 'PreconditionFailed');
        }
      }
      return won;
    };
    const puts = Array.from({ length: 8 }, (_, i) =>
      plain.send(new PutObjectCommand({ Bucket, Key: 'race/put', Body: `writer ${i}`, IfNoneMatch: '*' })),
    );
    assert.equal(await settle(puts), 1);

    const Key = 'race/complete';
    const uploads = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const { UploadId } = await plain.send(new CreateMultipartUploadCommand({ Bucket, Key }));
        const part = await plain.send(
          new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: `upload ${i}` }),
        );
        return { UploadId, ETag: part.ETag };
      }),
    );
    const completes = uploads.map((u) =>
      completeUpload(plain, { Bucket, Key, UploadId: u.UploadId }, [{ PartNumber: 1, ETag: u.ETag }], {
        IfNoneMatch: '*',
      }),
    );
    assert.equal(await settle(completes), 1);
    // If-Match on Complete: the current ETag wins, a stale one is 412.
    const head = await plain.send(new HeadObjectCommand({ Bucket, Key }));
    const { UploadId } = await plain.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const part = await plain.send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'replacement' }),
    );
    const parts = [{ PartNumber: 1, ETag: part.ETag }];
    await expectError(
      completeUpload(plain, { Bucket, Key, UploadId }, parts, { IfMatch: '"0123"' }),
      'PreconditionFailed',
      412,
    );
    await completeUpload(plain, { Bucket, Key, UploadId }, parts, { IfMatch: head.ETag });
    assert.equal(
      (await bytesOf(await plain.send(new GetObjectCommand({ Bucket, Key })))).toString(),
      'replacement',
    );
  });
});

describe('multipart across a server restart', () => {
  it('parts uploaded before a restart complete after it', T, async () => {
    const dataDir = await tempDir('s3local-mp-restart-');
    const Key = 'restart/object.bin';
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(321)];
    let srv: TestServer | undefined = await startServer({ dataDir });
    try {
      let s3 = srv.client();
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'CRC32' }),
      );
      const first = await s3.send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: parts[0]! }),
      );
      await srv.close();
      srv = await startServer({ dataDir });
      s3 = srv.client();
      const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
      assert.deepEqual(
        listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.ChecksumCRC32]),
        [[1, first.ETag, first.ChecksumCRC32]],
      );
      const rest = [];
      for (const [i, Body] of parts.slice(1).entries()) {
        rest.push(await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 2, Body })));
      }
      const done = await completeUpload(
        s3,
        { Bucket, Key, UploadId },
        [first, ...rest].map((p, i) => ({ PartNumber: i + 1, ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32 })),
      );
      const whole = Buffer.concat(parts);
      const md5s = parts.map(md5Bytes);
      assert.equal(done.ETag, `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-3"`);
      assert.equal(
        done.ChecksumCRC32,
        `${crc32Bytes(Buffer.concat(parts.map(crc32Bytes))).toString('base64')}-3`,
      );
      const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
      assert.ok((await bytesOf(got)).equals(whole));
      assert.deepEqual(await readdir(join(dataDir, '.s3local', 'uploads')), []);
    } finally {
      await srv?.close();
      const { rm } = await import('node:fs/promises');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
