/**
 * CopyObject with `x-amz-checksum-algorithm` (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html),
 * AWS SDK v3 against a real server, local backend and Drime (fake Drime API): the copy gets the
 * checksum of the algorithm asked for, computed from its bytes, in place of the source's — in
 * CopyObjectResult and stored (HEAD with checksum mode) — a self-copy with REPLACE too; an unknown
 * algorithm is 400 InvalidRequest. Expected values come from node:crypto and the AWS SDK's own
 * checksum implementations, independent of s3local.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Xxh3_128 } from '@aws-sdk/checksums/xxh';
import { UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE } from '../../src/s3/checksums.js';
import { compositeCrc32, completeUpload, crc32Bytes } from '../helpers/multipart.js';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { expectError, newBucket } from '../helpers/versioning.js';
import { startInProcessDrime, type InProcessDrime } from './drime-helpers.js';

const T = { timeout: 60_000 };

const CHECKSUM_FIELDS = [
  'ChecksumCRC32',
  'ChecksumCRC32C',
  'ChecksumCRC64NVME',
  'ChecksumSHA1',
  'ChecksumSHA256',
  'ChecksumSHA512',
  'ChecksumMD5',
  'ChecksumXXHASH64',
  'ChecksumXXHASH3',
  'ChecksumXXHASH128',
] as const;

/** The checksum fields an SDK output carries, by name. */
function checksumsOf(out: object): Record<string, string> {
  const found: Record<string, string> = {};
  const record = out as Record<string, unknown>;
  for (const f of CHECKSUM_FIELDS) {
    const v = record[f];
    if (typeof v === 'string') found[f] = v;
  }
  return found;
}

function digest(name: string, data: Buffer): string {
  return createHash(name).update(data).digest('base64');
}

async function xxhash128(data: Buffer): Promise<string> {
  const h = new Xxh3_128();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

async function headChecksums(s3: S3Client, Bucket: string, Key: string): Promise<HeadObjectCommandOutput> {
  return s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
}

/** The cases every backend must pass, on bucket `bucket()` of `s3()`. */
function copyChecksumCases(s3: () => S3Client, bucket: () => string): void {
  const data = randomBytes(100_000);

  it('a new algorithm replaces the source checksum in the result and as stored', T, async () => {
    const Bucket = bucket();
    const put = await s3().send(
      new PutObjectCommand({ Bucket, Key: 'src.bin', Body: data, ChecksumAlgorithm: 'CRC32' }),
    );
    assert.equal(put.ChecksumCRC32, crc32Bytes(data).toString('base64'));
    const cases: [ChecksumAlgorithm, string, string][] = [
      ['SHA256', 'ChecksumSHA256', digest('sha256', data)],
      ['SHA1', 'ChecksumSHA1', digest('sha1', data)],
      ['XXHASH128', 'ChecksumXXHASH128', await xxhash128(data)],
    ];
    for (const [ChecksumAlgorithm, field, expected] of cases) {
      const Key = `dst-${ChecksumAlgorithm}.bin`;
      const out = await s3().send(
        new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/src.bin`, ChecksumAlgorithm }),
      );
      assert.deepEqual(checksumsOf(out.CopyObjectResult ?? {}), { [field]: expected }, ChecksumAlgorithm);
      assert.equal(out.CopyObjectResult?.ChecksumType, 'FULL_OBJECT');
      const head = await headChecksums(s3(), Bucket, Key);
      assert.deepEqual(checksumsOf(head), { [field]: expected }, `HEAD ${Key}`);
      assert.equal(head.ChecksumType, 'FULL_OBJECT');
    }
    // Without the header, the source's checksum is copied.
    const plain = await s3().send(
      new CopyObjectCommand({ Bucket, Key: 'dst-plain.bin', CopySource: `${Bucket}/src.bin` }),
    );
    assert.deepEqual(checksumsOf(plain.CopyObjectResult ?? {}), { ChecksumCRC32: put.ChecksumCRC32 });
    assert.deepEqual(checksumsOf(await headChecksums(s3(), Bucket, 'src.bin')), {
      ChecksumCRC32: put.ChecksumCRC32,
    });
  });

  it('a self-copy with REPLACE and a new algorithm changes the stored checksum', T, async () => {
    const Bucket = bucket();
    await s3().send(
      new PutObjectCommand({ Bucket, Key: 'self.bin', Body: data, ChecksumAlgorithm: 'SHA256' }),
    );
    const out = await s3().send(
      new CopyObjectCommand({
        Bucket,
        Key: 'self.bin',
        CopySource: `${Bucket}/self.bin`,
        MetadataDirective: 'REPLACE',
        Metadata: { state: 'rehashed' },
        ChecksumAlgorithm: 'SHA1',
      }),
    );
    const sha1 = digest('sha1', data);
    assert.deepEqual(checksumsOf(out.CopyObjectResult ?? {}), { ChecksumSHA1: sha1 });
    const head = await headChecksums(s3(), Bucket, 'self.bin');
    assert.deepEqual(checksumsOf(head), { ChecksumSHA1: sha1 });
    assert.deepEqual(head.Metadata, { state: 'rehashed' });
    assert.equal(head.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
  });

  it('an unknown algorithm is 400 InvalidRequest, before the self-copy rule and the source', T, async () => {
    const Bucket = bucket();
    await s3().send(new PutObjectCommand({ Bucket, Key: 'kept.bin', Body: 'kept' }));
    for (const [Key, CopySource] of [
      ['other.bin', `${Bucket}/kept.bin`],
      ['absent.bin', `${Bucket}/absent.bin`],
    ]) {
      const e = await expectError(
        s3().send(
          new CopyObjectCommand({
            Bucket,
            Key,
            CopySource,
            ChecksumAlgorithm: 'invalid_checksum_algorithm' as ChecksumAlgorithm,
          }),
        ),
        'InvalidRequest',
        400,
      );
      assert.equal(e.message, UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE);
    }
    await expectError(s3().send(new HeadObjectCommand({ Bucket, Key: 'other.bin' })), 'NotFound', 404);
  });
}

describe('CopyObject with x-amz-checksum-algorithm, local backend (AWS SDK v3)', () => {
  let srv: TestServer;
  let s3: S3Client;
  let plain: string;

  before(async () => {
    ({ srv, s3 } = await startWithClient({ advanced: true }));
    plain = await newBucket(s3, 'copy-sum');
  });
  after(async () => {
    await srv?.close();
  });

  copyChecksumCases(
    () => s3,
    () => plain,
  );

  it('a composite multipart source: dropped without an algorithm, computed with one', T, async () => {
    const Bucket = plain;
    const partSize = 5 * 1024 * 1024;
    const data = randomBytes(partSize + 1234);
    const up = await s3.send(
      new CreateMultipartUploadCommand({ Bucket, Key: 'mp.bin', ChecksumAlgorithm: 'CRC32' }),
    );
    const upload = { Bucket, Key: 'mp.bin', UploadId: up.UploadId };
    const parts = [];
    for (let n = 1, at = 0; at < data.length; n++, at += partSize) {
      const Body = data.subarray(at, at + partSize);
      const p = await s3.send(
        new UploadPartCommand({ ...upload, PartNumber: n, Body, ChecksumAlgorithm: 'CRC32' }),
      );
      parts.push({ PartNumber: n, ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32 });
    }
    await completeUpload(s3, upload, parts);
    const head = await headChecksums(s3, Bucket, 'mp.bin');
    assert.equal(head.ChecksumCRC32, compositeCrc32(data, partSize));

    const noAlgorithm = await s3.send(
      new CopyObjectCommand({ Bucket, Key: 'mp-plain.bin', CopySource: `${Bucket}/mp.bin` }),
    );
    assert.deepEqual(checksumsOf(noAlgorithm.CopyObjectResult ?? {}), {});
    const sha = await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'mp-sha.bin',
        CopySource: `${Bucket}/mp.bin`,
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    assert.deepEqual(checksumsOf(sha.CopyObjectResult ?? {}), { ChecksumSHA256: digest('sha256', data) });
    assert.equal(sha.CopyObjectResult?.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
    assert.deepEqual(checksumsOf(await headChecksums(s3, Bucket, 'mp-sha.bin')), {
      ChecksumSHA256: digest('sha256', data),
    });
  });

  it('in a versioned bucket the new version carries the new checksum, the old keeps its own', T, async () => {
    const Bucket = await newBucket(s3, 'copy-sum-v', { versioning: 'Enabled' });
    const first = await s3.send(
      new PutObjectCommand({ Bucket, Key: 'ver.txt', Body: 'versioned', ChecksumAlgorithm: 'CRC32' }),
    );
    const out = await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'ver.txt',
        CopySource: `${Bucket}/ver.txt`,
        MetadataDirective: 'REPLACE',
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    assert.ok(out.VersionId);
    assert.notEqual(out.VersionId, first.VersionId);
    const head = await headChecksums(s3, Bucket, 'ver.txt');
    assert.deepEqual(checksumsOf(head), { ChecksumSHA256: digest('sha256', Buffer.from('versioned')) });
    assert.equal(head.VersionId, out.VersionId);
    const old = await s3.send(
      new HeadObjectCommand({ Bucket, Key: 'ver.txt', VersionId: first.VersionId, ChecksumMode: 'ENABLED' }),
    );
    assert.deepEqual(checksumsOf(old), { ChecksumCRC32: first.ChecksumCRC32 });
  });
});

describe('CopyObject with x-amz-checksum-algorithm, Drime backend (fake Drime API, AWS SDK v3)', () => {
  let drime: InProcessDrime;

  before(async () => {
    drime = await startInProcessDrime('s3local-drime-copy-sum-');
  });
  after(async () => {
    await drime?.close();
  });

  copyChecksumCases(
    () => drime.s3,
    () => 'default',
  );
});
