/** Range parsing and conditional requests. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkReadConditions,
  parseRange,
  readObjectHeaders,
  writePrecondition,
} from '../../../src/s3/headers.js';
import type { S3Error } from '../../../src/s3/errors.js';
import type { ObjectInfo } from '../../../src/storage/backend.js';

const info: ObjectInfo = {
  key: 'k',
  size: 10,
  etag: 'abc',
  lastModified: new Date('2026-01-01T00:00:00.500Z'),
  headers: {},
  metadata: {},
  checksums: {},
  storageClass: 'STANDARD',
};

describe('parseRange', () => {
  it('resolves single ranges', () => {
    assert.deepEqual(parseRange('bytes=0-4', 10), { start: 0, end: 4 });
    assert.deepEqual(parseRange('bytes=5-', 10), { start: 5, end: 9 });
    assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
    assert.deepEqual(parseRange('bytes=-30', 10), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=8-100', 10), { start: 8, end: 9 });
  });
  it('ignores what S3 ignores', () => {
    assert.equal(parseRange(undefined, 10), undefined);
    assert.equal(parseRange('bytes=0-1,3-4', 10), undefined);
    assert.equal(parseRange('items=0-1', 10), undefined);
    assert.equal(parseRange('bytes=5-2', 10), undefined);
    // No whitespace inside a range (RFC 9110): ignored, the whole object is answered.
    assert.equal(parseRange('bytes= -1', 100), undefined);
    assert.equal(parseRange('bytes=0 -1', 100), undefined);
    // A suffix of an empty object is the empty object (S3: 200, no Content-Range).
    assert.equal(parseRange('bytes=-1', 0), undefined);
    assert.throws(
      () => parseRange('bytes=-0', 0),
      (e: S3Error) => e.code === 'InvalidRange',
    );
  });
  it('throws 416 InvalidRange with Content-Range when unsatisfiable', () => {
    for (const [r, size] of [
      ['bytes=10-', 10],
      ['bytes=-0', 10],
      ['bytes=0-', 0],
    ] as const) {
      assert.throws(
        () => parseRange(r, size),
        (e: S3Error) =>
          e.code === 'InvalidRange' && e.status === 416 && e.headers['content-range'] === `bytes */${size}`,
      );
    }
  });
});

describe('conditionals', () => {
  const check = (h: Record<string, string>) => checkReadConditions(h, info);
  const code = (h: Record<string, string>) => {
    try {
      check(h);
      return 'OK';
    } catch (e) {
      return (e as S3Error).code;
    }
  };
  it('follows RFC 7232 with the S3 combinations', () => {
    assert.equal(code({ 'if-match': '"abc"' }), 'OK');
    assert.equal(code({ 'if-match': '"x", "abc"' }), 'OK');
    assert.equal(code({ 'if-match': '*' }), 'OK');
    assert.equal(code({ 'if-match': '"x"' }), 'PreconditionFailed');
    assert.equal(code({ 'if-none-match': '"abc"' }), 'NotModified');
    assert.equal(code({ 'if-none-match': '"x"' }), 'OK');
    assert.equal(code({ 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' }), 'NotModified');
    assert.equal(code({ 'if-modified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' }), 'OK');
    assert.equal(code({ 'if-unmodified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' }), 'PreconditionFailed');
    assert.equal(code({ 'if-unmodified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' }), 'OK');
    assert.equal(code({ 'if-match': '"abc"', 'if-unmodified-since': 'Wed, 31 Dec 2025 23:59:59 GMT' }), 'OK');
    assert.equal(
      code({ 'if-none-match': '"x"', 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' }),
      'OK',
    );
    assert.equal(code({ 'if-modified-since': 'not a date' }), 'OK');
  });
  it('builds write preconditions for If-None-Match: * and If-Match', () => {
    const create = writePrecondition({ 'if-none-match': '*' })!;
    create(undefined);
    assert.throws(
      () => create(info),
      (e: S3Error) => e.code === 'PreconditionFailed',
    );
    const replace = writePrecondition({ 'if-match': '"abc"' })!;
    replace(info);
    assert.throws(
      () => replace({ ...info, etag: 'def' }),
      (e: S3Error) => e.code === 'PreconditionFailed',
    );
    assert.throws(
      () => replace(undefined),
      (e: S3Error) => e.code === 'NoSuchKey',
    );
    assert.equal(writePrecondition({}), undefined);
  });
});

describe('readObjectHeaders', () => {
  it('strips aws-chunked from Content-Encoding and defaults the type', () => {
    assert.deepEqual(readObjectHeaders({ 'content-encoding': 'aws-chunked' }), {
      contentType: 'binary/octet-stream',
    });
    assert.deepEqual(readObjectHeaders({ 'content-encoding': 'aws-chunked,gzip', 'content-type': 'a/b' }), {
      contentType: 'a/b',
      contentEncoding: 'gzip',
    });
  });
});
