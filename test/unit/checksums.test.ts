import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { CHECKSUM_ALGORITHMS } from '../../src/s3/body.js';
import {
  checksumAlgorithmOfHeader,
  computeChecksum,
  createChecksum,
  isValidChecksumValue,
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
    assert.equal(parseChecksumAlgorithm('md5'), undefined);
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
      () => parseChecksumHeaders({ 'x-amz-sdk-checksum-algorithm': 'MD5' }),
      'InvalidRequest',
      /unsupported/,
    );
    throwsCode(
      () =>
        parseChecksumHeaders({ 'x-amz-sdk-checksum-algorithm': 'SHA1', 'x-amz-checksum-crc32': 'DUoRhQ==' }),
      'InvalidRequest',
    );
    throwsCode(() => parseTrailerHeader({ 'x-amz-trailer': 'x-amz-meta-foo' }), 'InvalidRequest');
  });
});
