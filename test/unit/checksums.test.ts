import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { Md5 } from '@aws-sdk/checksums/md5';
import { Sha512 } from '@aws-sdk/checksums/sha';
import { Xxh3_128, Xxh3_64, Xxh64 } from '@aws-sdk/checksums/xxh';
import { CHECKSUM_ALGORITHMS } from '../../src/s3/body.js';
import {
  checksumAlgorithmOfHeader,
  computeChecksum,
  createChecksum,
  isValidChecksumValue,
  isValidObjectChecksumValue,
  parseChecksumAlgorithm,
  parseChecksumHeaders,
  parseTrailerHeader,
} from '../../src/s3/checksums.js';
import { S3Error } from '../../src/s3/errors.js';

async function awsCrc64(data: Buffer): Promise<string> {
  const c = new Crc64Nvme();
  c.update(data);
  return Buffer.from(await c.digest()).toString('base64');
}

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S3Error, `expected S3Error, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

describe('checksum algorithms', () => {
  it('match known values for "hello world"', () => {
    assert.equal(computeChecksum('CRC32', 'hello world'), 'DUoRhQ==');
    assert.equal(computeChecksum('CRC32C', 'hello world'), 'yZRlqg==');
    assert.equal(
      computeChecksum('SHA1', 'hello world'),
      createHash('sha1').update('hello world').digest('base64'),
    );
    assert.equal(
      computeChecksum('SHA256', 'hello world'),
      createHash('sha256').update('hello world').digest('base64'),
    );
  });

  it('CRC64NVME matches the check value and @aws-sdk/crc64-nvme', async () => {
    // The CRC-64/NVME check value (CRC of "123456789") is 0xAE8B14860A799888.
    assert.equal(
      computeChecksum('CRC64NVME', '123456789'),
      Buffer.from('ae8b14860a799888', 'hex').toString('base64'),
    );
    for (const text of ['', 'Hello world', 'a', '12345678', '123456789abcdefgh']) {
      assert.equal(
        computeChecksum('CRC64NVME', text),
        await awsCrc64(Buffer.from(text)),
        `for ${JSON.stringify(text)}`,
      );
    }
    const big = Buffer.alloc(100_003);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    assert.equal(computeChecksum('CRC64NVME', big), await awsCrc64(big));
  });

  it('empty input gives the algorithm initial digest', () => {
    assert.equal(computeChecksum('CRC32', ''), 'AAAAAA==');
    assert.equal(computeChecksum('CRC32C', ''), 'AAAAAA==');
    assert.equal(computeChecksum('CRC64NVME', ''), 'AAAAAAAAAAA=');
  });

  it('streaming over uneven pieces equals one shot, for every algorithm', () => {
    const data = Buffer.alloc(70_001);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    for (const alg of CHECKSUM_ALGORITHMS) {
      const c = createChecksum(alg);
      let pos = 0;
      let step = 1;
      while (pos < data.length) {
        c.update(data.subarray(pos, pos + step));
        pos += step;
        step = (step * 3 + 1) % 9000;
      }
      assert.equal(c.digest(), computeChecksum(alg, data), alg);
      assert.equal(c.algorithm, alg);
    }
  });
});

describe('checksum header helpers', () => {
  it('validates base64 values by digest length', () => {
    assert.equal(isValidChecksumValue('CRC32', 'DUoRhQ=='), true);
    assert.equal(isValidChecksumValue('CRC32', 'DUoRhQ'), false);
    assert.equal(isValidChecksumValue('CRC32', 'AAAAAAAAAAA='), false);
    assert.equal(isValidChecksumValue('CRC64NVME', 'AAAAAAAAAAA='), true);
    assert.equal(isValidChecksumValue('SHA256', computeChecksum('SHA256', 'x')), true);
    assert.equal(isValidChecksumValue('SHA1', '!!!!'), false);
  });

  it('maps names both ways', () => {
    assert.equal(checksumAlgorithmOfHeader('X-Amz-Checksum-CRC32C'), 'CRC32C');
    assert.equal(checksumAlgorithmOfHeader('x-amz-checksum-type'), undefined);
    assert.equal(parseChecksumAlgorithm('crc64nvme'), 'CRC64NVME');
    assert.equal(parseChecksumAlgorithm('md5'), 'MD5');
    assert.equal(parseChecksumAlgorithm('xxhash128'), 'XXHASH128');
    assert.equal(checksumAlgorithmOfHeader('x-amz-checksum-xxhash3'), 'XXHASH3');
    assert.equal(checksumAlgorithmOfHeader('x-amz-checksum-sha512'), 'SHA512');
    assert.equal(parseChecksumAlgorithm('blake3'), undefined);
  });

  it('parses a header checksum, a trailer checksum, or an SDK algorithm alone', () => {
    assert.deepEqual(parseChecksumHeaders({ 'x-amz-checksum-crc32': 'DUoRhQ==' }), {
      algorithm: 'CRC32',
      source: 'header',
      value: 'DUoRhQ==',
    });
    assert.deepEqual(parseChecksumHeaders({ 'x-amz-trailer': 'x-amz-checksum-crc32c' }), {
      algorithm: 'CRC32C',
      source: 'trailer',
    });
    assert.deepEqual(parseChecksumHeaders({ 'x-amz-sdk-checksum-algorithm': 'sha1' }), {
      algorithm: 'SHA1',
      source: 'compute',
    });
    assert.equal(parseChecksumHeaders({ 'x-amz-checksum-type': 'FULL_OBJECT' }), null);
    assert.equal(parseChecksumHeaders({}), null);
  });

  it('rejects invalid values, two checksums, and unsupported algorithms as AWS does', () => {
    throwsCode(
      () => parseChecksumHeaders({ 'x-amz-checksum-crc32': 'nope' }),
      'InvalidRequest',
      /^Value for x-amz-checksum-crc32 header is invalid\.$/,
    );
    throwsCode(
      () => parseChecksumHeaders({ 'x-amz-checksum-crc32': 'DUoRhQ==', 'x-amz-checksum-crc32c': 'yZRlqg==' }),
      'InvalidRequest',
      /^Expecting a single x-amz-checksum- header$/,
    );
    throwsCode(
      () =>
        parseChecksumHeaders({ 'x-amz-checksum-crc32': 'DUoRhQ==', 'x-amz-trailer': 'x-amz-checksum-sha1' }),
      'InvalidRequest',
      /single/,
    );
    throwsCode(
      () => parseChecksumHeaders({ 'x-amz-sdk-checksum-algorithm': 'BLAKE3' }),
      'InvalidRequest',
      /^Checksum algorithm provided is unsupported\. Please try again with any of the valid types: \[CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH64, XXHASH3, XXHASH128\]$/,
    );
    throwsCode(
      () =>
        parseChecksumHeaders({ 'x-amz-sdk-checksum-algorithm': 'SHA1', 'x-amz-checksum-crc32': 'DUoRhQ==' }),
      'InvalidRequest',
    );
    throwsCode(() => parseTrailerHeader({ 'x-amz-trailer': 'x-amz-meta-foo' }), 'InvalidRequest');
  });
});

/** The AWS SDK's own JS implementation of `algorithm` (@aws-sdk/checksums), base64. */
async function awsDigest(
  Impl: new () => { update(data: Uint8Array): void; digest(): Promise<Uint8Array> },
  data: Buffer,
): Promise<string> {
  const h = new Impl();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

describe('the checksums AWS added: MD5, SHA512, XXHASH64, XXHASH3, XXHASH128', () => {
  const hex = (h: string): string => Buffer.from(h, 'hex').toString('base64');

  it('xxHash: seed 0, big-endian digest bytes, as the AWS CRT test vectors give them', () => {
    // awslabs/aws-checksums tests/xxhash_test.c, input "Hello world".
    assert.equal(computeChecksum('XXHASH64', 'Hello world'), hex('c500b0c912b376d8'));
    assert.equal(computeChecksum('XXHASH3', 'Hello world'), hex('b6acb9d84a38ff74'));
    assert.equal(computeChecksum('XXHASH128', 'Hello world'), hex('7351f89812f97382b91d05b31e04dd7f'));
    // The xxHash reference values of the empty input.
    assert.equal(computeChecksum('XXHASH64', ''), hex('ef46db3751d8e999'));
    assert.equal(computeChecksum('XXHASH3', ''), hex('2d06800538d394c2'));
    assert.equal(computeChecksum('XXHASH128', ''), hex('99aa06d3014798d86001c324468d497f'));
  });

  it('MD5 and SHA512 are the plain digests, base64', () => {
    assert.equal(computeChecksum('MD5', 'abc'), createHash('md5').update('abc').digest('base64'));
    assert.equal(computeChecksum('MD5', 'abc'), hex('900150983cd24fb0d6963f7d28e17f72'));
    assert.equal(computeChecksum('SHA512', 'abc'), createHash('sha512').update('abc').digest('base64'));
  });

  it('agree with the AWS SDK implementations at every XXH3 length class, streamed in uneven pieces', async () => {
    // XXH3 has separate paths for 0, 1-3, 4-8, 9-16, 17-128, 129-240 bytes, one and several
    // 1 KiB blocks; the streaming hashers must also carry state across update() boundaries.
    const lengths = [0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1023, 1024, 1025, 4096, 70_001, 1_048_583];
    const impls = {
      XXHASH64: Xxh64,
      XXHASH3: Xxh3_64,
      XXHASH128: Xxh3_128,
      SHA512: Sha512,
      MD5: Md5,
    } as const;
    for (const n of lengths) {
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
      for (const [alg, Impl] of Object.entries(impls) as [
        keyof typeof impls,
        (typeof impls)[keyof typeof impls],
      ][]) {
        const expected = await awsDigest(Impl, data);
        assert.equal(computeChecksum(alg, data), expected, `${alg} of ${n} bytes`);
        const c = createChecksum(alg);
        for (let pos = 0, step = 7; pos < n; pos += step, step = (step * 5 + 3) % 5000) {
          c.update(data.subarray(pos, pos + step));
        }
        assert.equal(c.digest(), expected, `${alg} of ${n} bytes, streamed`);
      }
    }
  });

  it('XXHASH128 hashers are independent of each other while interleaved', () => {
    const a = createChecksum('XXHASH128');
    const b = createChecksum('XXHASH128');
    a.update(Buffer.from('Hello '));
    b.update(Buffer.from('something else entirely, longer than sixteen bytes'));
    a.update(Buffer.from('world'));
    assert.equal(a.digest(), hex('7351f89812f97382b91d05b31e04dd7f'));
    assert.equal(
      b.digest(),
      computeChecksum('XXHASH128', 'something else entirely, longer than sixteen bytes'),
    );
  });

  it('header values: base64 of the digest length of each algorithm', () => {
    for (const [alg, bytes] of [
      ['MD5', 16],
      ['SHA512', 64],
      ['XXHASH64', 8],
      ['XXHASH3', 8],
      ['XXHASH128', 16],
    ] as const) {
      const header = `x-amz-checksum-${alg.toLowerCase()}`;
      const good = Buffer.alloc(bytes, 1).toString('base64');
      assert.equal(isValidChecksumValue(alg, good), true, alg);
      assert.deepEqual(parseChecksumHeaders({ [header]: good }), {
        algorithm: alg,
        source: 'header',
        value: good,
      });
      assert.deepEqual(parseChecksumHeaders({ 'x-amz-trailer': header }), {
        algorithm: alg,
        source: 'trailer',
      });
      for (const bad of ['', 'invalid_checksum', Buffer.alloc(bytes - 1).toString('base64'), good + 'AA==']) {
        throwsCode(
          () => parseChecksumHeaders({ [header]: bad }),
          'InvalidRequest',
          new RegExp(`^Value for ${header} header is invalid\\.$`),
        );
      }
    }
  });

  it('Complete object checksum values: a digest, or a digest and a part count', () => {
    const crc = computeChecksum('CRC32', 'x');
    for (const ok of [crc, `${crc}-1`, `${crc}-10000`])
      assert.equal(isValidObjectChecksumValue('CRC32', ok), true, ok);
    for (const bad of [
      '',
      'invalid_checksum',
      'xxxx==-3',
      `${crc}-`,
      `${crc}-smth`,
      `${crc}-12a`,
      `${crc}--3`,
      `${crc}-10-20`,
      `${crc}-0`,
      `${crc}-10001`,
    ]) {
      assert.equal(isValidObjectChecksumValue('CRC32', bad), false, bad);
    }
    const x = computeChecksum('XXHASH128', 'x');
    assert.equal(isValidObjectChecksumValue('XXHASH128', `${x}-3`), true);
    assert.equal(isValidObjectChecksumValue('XXHASH128', crc), false);
  });
});
