/**
 * The shared multipart rules (src/storage/multipart.ts, multipart-crc.ts): checksum settings of
 * Create, the validation and results of Complete, CRC combination, part checksums on GET.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { computeChecksum } from '../../../src/s3/checksums.js';
import { S3Error } from '../../../src/s3/errors.js';
import type { ObjectInfo } from '../../../src/storage/backend.js';
import { combineCrcs } from '../../../src/storage/multipart-crc.js';
import {
  MIN_PART_SIZE,
  compositeChecksum,
  multipartETag,
  partChecksums,
  planCompletion,
  resolveChecksumSettings,
  type CompletedPartRequest,
  type PartInfo,
  type UploadInfo,
} from '../../../src/storage/multipart.js';

function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S3Error, `expected S3Error ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function upload(extra: Partial<UploadInfo> = {}): UploadInfo {
  return {
    uploadId: 'u1',
    bucket: 'b',
    key: 'k',
    initiated: new Date(0),
    headers: {},
    metadata: {},
    ...extra,
  };
}

function partsOf(datas: Buffer[], algorithm?: 'CRC32' | 'SHA256' | 'CRC64NVME'): PartInfo[] {
  return datas.map((d, i) => ({
    partNumber: i + 1,
    size: d.length,
    etag: md5(d),
    checksums: algorithm ? { [algorithm]: computeChecksum(algorithm, d) } : {},
    lastModified: new Date(0),
  }));
}

const ask = (parts: PartInfo[], withSums = false): CompletedPartRequest[] =>
  parts.map((p) => ({
    partNumber: p.partNumber,
    etag: `"${p.etag}"`,
    checksums: withSums ? p.checksums : {},
  }));

describe('CreateMultipartUpload checksum settings', () => {
  it('defaults: CRC32/CRC32C/SHA1/SHA256 COMPOSITE, CRC64NVME FULL_OBJECT, none without an algorithm', () => {
    assert.deepEqual(resolveChecksumSettings(undefined, undefined), {});
    assert.deepEqual(resolveChecksumSettings('crc32', undefined), {
      checksumAlgorithm: 'CRC32',
      checksumType: 'COMPOSITE',
    });
    assert.deepEqual(resolveChecksumSettings('SHA256', undefined), {
      checksumAlgorithm: 'SHA256',
      checksumType: 'COMPOSITE',
    });
    assert.deepEqual(resolveChecksumSettings('CRC64NVME', undefined), {
      checksumAlgorithm: 'CRC64NVME',
      checksumType: 'FULL_OBJECT',
    });
    assert.deepEqual(resolveChecksumSettings('CRC32C', 'FULL_OBJECT'), {
      checksumAlgorithm: 'CRC32C',
      checksumType: 'FULL_OBJECT',
    });
  });

  it('refuses impossible combinations with AWS messages', () => {
    throwsCode(
      () => resolveChecksumSettings('SHA1', 'FULL_OBJECT'),
      'InvalidRequest',
      /FULL_OBJECT checksum type cannot be used with the sha1/,
    );
    throwsCode(() => resolveChecksumSettings('CRC64NVME', 'COMPOSITE'), 'InvalidRequest', /COMPOSITE/);
    throwsCode(
      () => resolveChecksumSettings(undefined, 'COMPOSITE'),
      'InvalidRequest',
      /only be used with the x-amz-checksum-algorithm/,
    );
    throwsCode(() => resolveChecksumSettings('CRC32', 'PARTIAL'), 'InvalidRequest', /x-amz-checksum-type/);
    throwsCode(() => resolveChecksumSettings('MD4', undefined), 'InvalidRequest', /unsupported/);
  });

  it('MD5, SHA512 and the xxHashes: COMPOSITE by default, never FULL_OBJECT', () => {
    for (const alg of ['MD5', 'SHA512', 'XXHASH64', 'XXHASH3', 'XXHASH128'] as const) {
      const expected = { checksumAlgorithm: alg, checksumType: 'COMPOSITE' };
      assert.deepEqual(resolveChecksumSettings(alg.toLowerCase(), undefined), expected);
      assert.deepEqual(resolveChecksumSettings(alg, 'COMPOSITE'), expected);
      throwsCode(
        () => resolveChecksumSettings(alg, 'FULL_OBJECT'),
        'InvalidRequest',
        new RegExp(
          `^The FULL_OBJECT checksum type cannot be used with the ${alg.toLowerCase()} checksum algorithm\\.$`,
        ),
      );
    }
  });
});

describe('CompleteMultipartUpload validation', () => {
  const big = [randomBytes(MIN_PART_SIZE), randomBytes(MIN_PART_SIZE + 1), randomBytes(10)];

  it('computes md5-of-md5s-N, size and layout', () => {
    const parts = partsOf(big);
    const plan = planCompletion(upload(), parts, { parts: ask(parts) });
    const expected = createHash('md5')
      .update(Buffer.concat(big.map((d) => createHash('md5').update(d).digest())))
      .digest('hex');
    assert.equal(plan.etag, `${expected}-3`);
    assert.equal(plan.etag, multipartETag(parts.map((p) => p.etag)));
    assert.equal(
      plan.size,
      big.reduce((n, d) => n + d.length, 0),
    );
    assert.deepEqual(plan.layout, { sizes: big.map((d) => d.length) });
    assert.deepEqual(plan.checksums, {});
  });

  it('uses a subset of the uploaded parts (gaps allowed)', () => {
    const parts = partsOf(big);
    const plan = planCompletion(upload(), parts, { parts: ask([parts[0]!, parts[2]!]) });
    assert.equal(plan.etag, multipartETag([parts[0]!.etag, parts[2]!.etag]));
    assert.equal(plan.parts.length, 2);
  });

  it('refuses bad part lists, unknown parts and small parts', () => {
    const parts = partsOf(big);
    const small = partsOf([Buffer.from('a'), Buffer.from('b')]);
    throwsCode(() => planCompletion(upload(), parts, { parts: [] }), 'MalformedXML');
    throwsCode(() => planCompletion(upload(), parts, { parts: ask(parts).reverse() }), 'InvalidPartOrder');
    throwsCode(
      () =>
        planCompletion(upload(), parts, { parts: [{ partNumber: 0, etag: parts[0]!.etag, checksums: {} }] }),
      'InvalidArgument',
    );
    throwsCode(
      () => planCompletion(upload(), parts, { parts: [{ partNumber: 4, etag: 'x', checksums: {} }] }),
      'InvalidPart',
    );
    throwsCode(
      () =>
        planCompletion(upload(), parts, {
          parts: [{ partNumber: 1, etag: md5(Buffer.from('z')), checksums: {} }],
        }),
      'InvalidPart',
    );
    assert.throws(
      () => planCompletion(upload(), small, { parts: ask(small) }),
      (err: S3Error) =>
        err.code === 'EntityTooSmall' &&
        err.extra.PartNumber === '1' &&
        err.extra.MinSizeAllowed === String(MIN_PART_SIZE),
    );
    throwsCode(
      () => planCompletion(upload(), parts, { parts: ask(parts), objectSize: 5 }),
      'InvalidRequest',
      /x-amz-mp-object-size/,
    );
  });

  it('COMPOSITE: every part checksum listed and right; the value is the checksum of checksums', () => {
    const parts = partsOf(big, 'SHA256');
    const up = upload({ checksumAlgorithm: 'SHA256', checksumType: 'COMPOSITE' });
    throwsCode(
      () => planCompletion(up, parts, { parts: ask(parts) }),
      'InvalidRequest',
      /must include the checksum for each part\. It was missing for part 1/,
    );
    const wrong = ask(parts, true);
    wrong[1] = { ...wrong[1]!, checksums: { SHA256: computeChecksum('SHA256', 'nope') } };
    throwsCode(() => planCompletion(up, parts, { parts: wrong }), 'InvalidPart');
    const plan = planCompletion(up, parts, { parts: ask(parts, true) });
    const joined = Buffer.concat(big.map((d) => createHash('sha256').update(d).digest()));
    const expected = `${createHash('sha256').update(joined).digest('base64')}-3`;
    assert.deepEqual(plan.checksums, { SHA256: expected });
    assert.equal(plan.checksumType, 'COMPOSITE');
    assert.deepEqual(
      plan.layout.checksums,
      parts.map((p) => p.checksums),
    );
    assert.equal(
      compositeChecksum(
        'SHA256',
        parts.map((p) => p.checksums.SHA256!),
      ),
      expected,
    );
    // The object checksum header may repeat the value, with or without the -N suffix.
    planCompletion(up, parts, {
      parts: ask(parts, true),
      objectChecksum: { algorithm: 'SHA256', value: expected },
    });
    planCompletion(up, parts, {
      parts: ask(parts, true),
      objectChecksum: { algorithm: 'SHA256', value: expected.slice(0, -2) },
    });
    throwsCode(
      () =>
        planCompletion(up, parts, {
          parts: ask(parts, true),
          objectChecksum: { algorithm: 'SHA256', value: computeChecksum('SHA256', 'x') },
        }),
      'BadDigest',
    );
    // A checksum type other than the upload's is InvalidRequest (versitygw, against AWS).
    throwsCode(
      () => planCompletion(up, parts, { parts: ask(parts, true), checksumType: 'FULL_OBJECT' }),
      'InvalidRequest',
      /^The upload was created using the COMPOSITE checksum mode\. The complete request must use the same checksum mode\.$/,
    );
  });

  it("a part checksum of another algorithm than the upload's is BadDigest, whatever its value", () => {
    const parts = partsOf(big, 'CRC32');
    const up = upload({ checksumAlgorithm: 'CRC32', checksumType: 'COMPOSITE' });
    const foreign = ask(parts, true);
    // The part's own CRC32 stays; an added SHA256 (even the right one) has nothing to match.
    foreign[1] = { ...foreign[1]!, checksums: { SHA256: computeChecksum('SHA256', big[1]!) } };
    throwsCode(
      () => planCompletion(up, parts, { parts: foreign }),
      'BadDigest',
      /^The sha256 you specified for part 2 did not match what we received\.$/,
    );
    const full = upload({ checksumAlgorithm: 'CRC32', checksumType: 'FULL_OBJECT' });
    const xx = ask(parts);
    xx[0] = { ...xx[0]!, checksums: { XXHASH64: computeChecksum('XXHASH64', 'x') } };
    throwsCode(
      () => planCompletion(full, parts, { parts: xx }),
      'BadDigest',
      /^The xxhash64 you specified for part 1/,
    );
  });

  it('an upload created without an algorithm ignores the final checksum header and part checksums', () => {
    const parts = partsOf(big);
    const asked = ask(parts);
    asked[0] = { ...asked[0]!, checksums: { CRC32: computeChecksum('CRC32', 'not the part') } };
    const plan = planCompletion(upload(), parts, {
      parts: asked,
      objectChecksum: { algorithm: 'CRC64NVME', value: 'vqf3hRLTlJw=' },
    });
    assert.deepEqual(plan.checksums, {});
    assert.equal(plan.checksumType, undefined);
  });

  it('COMPOSITE with the new algorithms: the checksum of the part checksums, -N', () => {
    for (const alg of ['MD5', 'SHA512', 'XXHASH64', 'XXHASH3', 'XXHASH128'] as const) {
      const parts = big.map((d, i) => ({
        partNumber: i + 1,
        size: d.length,
        etag: md5(d),
        checksums: { [alg]: computeChecksum(alg, d) },
        lastModified: new Date(0),
      }));
      const up = upload({ checksumAlgorithm: alg, checksumType: 'COMPOSITE' });
      const plan = planCompletion(up, parts, { parts: ask(parts, true) });
      const joined = Buffer.concat(parts.map((p) => Buffer.from(p.checksums[alg]!, 'base64')));
      const expected = `${computeChecksum(alg, joined)}-3`;
      assert.deepEqual(plan.checksums, { [alg]: expected }, alg);
      planCompletion(up, parts, {
        parts: ask(parts, true),
        objectChecksum: { algorithm: alg, value: expected },
      });
      throwsCode(
        () =>
          planCompletion(up, parts, {
            parts: ask(parts, true),
            objectChecksum: { algorithm: alg, value: `${computeChecksum(alg, 'x')}-3` },
          }),
        'BadDigest',
      );
    }
  });

  it('FULL_OBJECT: the CRC of the whole object, part checksums optional', async () => {
    const parts = partsOf(big, 'CRC64NVME');
    const up = upload({ checksumAlgorithm: 'CRC64NVME', checksumType: 'FULL_OBJECT' });
    const plan = planCompletion(up, parts, { parts: ask(parts) });
    const aws = new Crc64Nvme();
    aws.update(Buffer.concat(big));
    const expected = Buffer.from(await aws.digest()).toString('base64');
    assert.deepEqual(plan.checksums, { CRC64NVME: expected });
    assert.equal(plan.checksumType, 'FULL_OBJECT');
    assert.equal(plan.layout.checksums, undefined);
    throwsCode(
      () =>
        planCompletion(up, parts, {
          parts: ask(parts),
          objectChecksum: { algorithm: 'CRC32', value: 'AAAAAA==' },
        }),
      'InvalidRequest',
      /Checksum Type mismatch/,
    );
  });
});

describe('CRC combination', () => {
  it('equals the CRC of the concatenation for CRC32, CRC32C and CRC64NVME, including empty parts', () => {
    const pieces = [
      randomBytes(1),
      randomBytes(0),
      randomBytes(65_537),
      randomBytes(3 * 1024 * 1024 + 5),
      randomBytes(999),
    ];
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
      const combined = combineCrcs(
        alg,
        pieces.map((p) => ({ checksum: computeChecksum(alg, p), size: p.length })),
      );
      assert.equal(combined, computeChecksum(alg, Buffer.concat(pieces)), alg);
      assert.equal(combineCrcs(alg, []), computeChecksum(alg, Buffer.alloc(0)));
    }
  });
});

describe('part checksums on GET/HEAD ?partNumber', () => {
  const base: ObjectInfo = {
    key: 'k',
    size: 10,
    etag: 'e',
    lastModified: new Date(0),
    headers: {},
    metadata: {},
    checksums: { CRC32: 'AAAAAA==' },
    checksumType: 'FULL_OBJECT',
    storageClass: 'STANDARD',
  };

  it('single-part objects: part 1 is the object', () => {
    assert.deepEqual(partChecksums(base, 1), { checksums: base.checksums, checksumType: 'FULL_OBJECT' });
    assert.equal(partChecksums(base, 2), undefined);
  });

  it('COMPOSITE: the part value; FULL_OBJECT of several parts: none', () => {
    const composite: ObjectInfo = {
      ...base,
      checksums: { CRC32: 'abcd-2' },
      checksumType: 'COMPOSITE',
      parts: { sizes: [5, 5], checksums: [{ CRC32: 'AQEBAQ==' }, { CRC32: 'AgICAg==' }] },
    };
    assert.deepEqual(partChecksums(composite, 2), {
      checksums: { CRC32: 'AgICAg==' },
      checksumType: 'COMPOSITE',
    });
    assert.equal(partChecksums({ ...base, parts: { sizes: [5, 5] } }, 1), undefined);
    assert.deepEqual(partChecksums({ ...base, parts: { sizes: [10] } }, 1), {
      checksums: base.checksums,
      checksumType: 'FULL_OBJECT',
    });
  });
});
