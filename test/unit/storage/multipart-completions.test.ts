/**
 * Which requests repeat a remembered CompleteMultipartUpload (matchesCompletion), and the object
 * info a repeat answers with (completedObjectInfo).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  completedObjectInfo,
  matchesCompletion,
  type CompletionRecord,
} from '../../../src/storage/multipart-completions.js';
import type { CompleteRequest, CompletedPartRequest } from '../../../src/storage/multipart.js';

const E1 = '1'.repeat(32);
const E2 = '2'.repeat(32);

function record(mode?: 'COMPOSITE' | 'FULL_OBJECT'): CompletionRecord {
  const r: CompletionRecord = {
    uploadId: 'u',
    bucket: 'b',
    key: 'k',
    completedAt: new Date(1000),
    parts: [
      { partNumber: 1, etag: E1, size: 5 * 1024 * 1024 },
      { partNumber: 4, etag: E2, size: 10 },
    ],
    result: {
      etag: 'f'.repeat(32) + '-2',
      size: 5 * 1024 * 1024 + 10,
      lastModified: new Date(900),
      headers: { contentType: 'x/y' },
      metadata: {},
      checksums: {},
      versionId: 'v1',
    },
  };
  if (mode !== undefined) {
    r.parts[0]!.checksum = 'AAAAAQ==';
    r.parts[1]!.checksum = 'AAAAAg==';
    r.result.checksumAlgorithm = 'CRC32';
    r.result.uploadChecksumType = mode;
    r.result.checksumType = mode;
    r.result.checksums = { CRC32: mode === 'COMPOSITE' ? 'Q1JDMw==-2' : 'Q1JDMw==' };
  }
  return r;
}

const part = (partNumber: number, etag: string, crc?: string): CompletedPartRequest => ({
  partNumber,
  etag,
  checksums: crc === undefined ? {} : { CRC32: crc },
});
const req = (parts: CompletedPartRequest[], extra: Omit<CompleteRequest, 'parts'> = {}): CompleteRequest => ({
  parts,
  ...extra,
});

test('the same part numbers and ETags, quoted or not, repeat the Complete; anything else does not', () => {
  const r = record();
  assert.equal(matchesCompletion(r, req([part(1, E1), part(4, E2)])), true);
  assert.equal(matchesCompletion(r, req([part(1, `"${E1}"`), part(4, ` "${E2}" `)])), true);
  assert.equal(matchesCompletion(r, req([part(1, E1)])), false);
  assert.equal(matchesCompletion(r, req([part(1, E1), part(4, E2), part(5, E2)])), false);
  assert.equal(matchesCompletion(r, req([part(1, E1), part(3, E2)])), false);
  assert.equal(matchesCompletion(r, req([part(1, E1), part(4, E1)])), false);
  // Whole-object headers must agree with the object.
  assert.equal(matchesCompletion(r, req([part(1, E1), part(4, E2)], { objectSize: r.result.size })), true);
  assert.equal(matchesCompletion(r, req([part(1, E1), part(4, E2)], { objectSize: 10 })), false);
  assert.equal(matchesCompletion(r, req([part(1, E1), part(4, E2)], { checksumType: 'COMPOSITE' })), false);
  // An upload without a checksum algorithm ignores a final checksum header, as Complete does.
  assert.equal(
    matchesCompletion(
      r,
      req([part(1, E1), part(4, E2)], { objectChecksum: { algorithm: 'CRC32', value: 'x' } }),
    ),
    true,
  );
});

test('COMPOSITE: every part names its checksum, and it must be the part checksum', () => {
  const r = record('COMPOSITE');
  const both = [part(1, E1, 'AAAAAQ=='), part(4, E2, 'AAAAAg==')];
  assert.equal(matchesCompletion(r, req(both)), true);
  assert.equal(matchesCompletion(r, req([part(1, E1, 'AAAAAQ=='), part(4, E2)])), false);
  assert.equal(matchesCompletion(r, req([part(1, E1, 'AAAAAg=='), part(4, E2, 'AAAAAg==')])), false);
  assert.equal(matchesCompletion(r, req(both, { checksumType: 'COMPOSITE' })), true);
  assert.equal(matchesCompletion(r, req(both, { checksumType: 'FULL_OBJECT' })), false);
  // The object checksum may come with or without its -N.
  for (const value of ['Q1JDMw==', 'Q1JDMw==-2']) {
    assert.equal(matchesCompletion(r, req(both, { objectChecksum: { algorithm: 'CRC32', value } })), true);
  }
  assert.equal(
    matchesCompletion(r, req(both, { objectChecksum: { algorithm: 'CRC32', value: 'Zm9v' } })),
    false,
  );
  assert.equal(
    matchesCompletion(r, req(both, { objectChecksum: { algorithm: 'SHA256', value: 'Q1JDMw==' } })),
    false,
  );
});

test('FULL_OBJECT: part checksums may be left out, but a given one must match', () => {
  const r = record('FULL_OBJECT');
  assert.equal(matchesCompletion(r, req([part(1, E1), part(4, E2)])), true);
  assert.equal(matchesCompletion(r, req([part(1, E1, 'AAAAAQ=='), part(4, E2)])), true);
  assert.equal(matchesCompletion(r, req([part(1, E1, 'AAAAAg=='), part(4, E2)])), false);
  // A part checksum of another algorithm fails Complete (BadDigest), so it repeats nothing.
  const sha256 = { partNumber: 1, etag: E1, checksums: { SHA256: 'A'.repeat(43) + '=' } };
  assert.equal(matchesCompletion(r, req([sha256, part(4, E2)])), false);
  assert.equal(
    matchesCompletion(
      r,
      req([part(1, E1), part(4, E2)], { objectChecksum: { algorithm: 'CRC32', value: 'Q1JDMw==' } }),
    ),
    true,
  );
  assert.equal(
    matchesCompletion(
      r,
      req([part(1, E1), part(4, E2)], { objectChecksum: { algorithm: 'CRC32', value: 'Q1JDMw==-2' } }),
    ),
    false,
  );
});

test('the object info of a repeat: ETag, size, checksums, part layout and version id as completed', () => {
  const info = completedObjectInfo(record('COMPOSITE'));
  assert.equal(info.key, 'k');
  assert.equal(info.etag, 'f'.repeat(32) + '-2');
  assert.equal(info.size, 5 * 1024 * 1024 + 10);
  assert.equal(info.versionId, 'v1');
  assert.equal(info.checksumType, 'COMPOSITE');
  assert.deepEqual(info.checksums, { CRC32: 'Q1JDMw==-2' });
  assert.deepEqual(info.parts, {
    sizes: [5 * 1024 * 1024, 10],
    checksums: [{ CRC32: 'AAAAAQ==' }, { CRC32: 'AAAAAg==' }],
  });
  assert.deepEqual(info.headers, { contentType: 'x/y' });
  assert.deepEqual(completedObjectInfo(record('FULL_OBJECT')).parts, { sizes: [5 * 1024 * 1024, 10] });
});
