/**
 * delete-conditions.ts: parsing DeleteObject's condition headers and DeleteObjects' entries, and
 * the precondition they make.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deleteConditionsOfEntry,
  deleteConditionsOfHeaders,
  deletePrecondition,
} from '../../../src/s3/delete-conditions.js';
import { S3Error } from '../../../src/s3/errors.js';
import type { ObjectInfo } from '../../../src/storage/backend.js';

const current: ObjectInfo = {
  key: 'k',
  size: 5,
  etag: '0123456789abcdef0123456789abcdef',
  lastModified: new Date('2026-03-04T05:06:07.890Z'),
  headers: {},
  metadata: {},
  checksums: {},
  storageClass: 'STANDARD',
};

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    return err.code;
  }
}

describe('delete conditions', () => {
  it('no condition: no precondition', () => {
    assert.equal(deletePrecondition('k', deleteConditionsOfHeaders({})), undefined);
    assert.equal(deletePrecondition('k', deleteConditionsOfEntry({ Key: 'k' })), undefined);
  });

  it('If-Match: ETags quoted or not, lists and *; no object is NoSuchKey', () => {
    for (const ifMatch of [`"${current.etag}"`, current.etag, `"x", "${current.etag}"`, '*']) {
      const p = deletePrecondition('k', deleteConditionsOfHeaders({ 'if-match': ifMatch }))!;
      assert.equal(
        code(() => p(current)),
        undefined,
        ifMatch,
      );
      assert.equal(
        code(() => p(undefined)),
        'NoSuchKey',
        ifMatch,
      );
    }
    const stale = deletePrecondition('k', deleteConditionsOfHeaders({ 'if-match': '"ffff"' }))!;
    assert.equal(
      code(() => stale(current)),
      'PreconditionFailed',
    );
  });

  it('size and last-modified time: 412 when the object differs; no object satisfies them', () => {
    const headers = (size: string, time: string) =>
      deletePrecondition(
        'k',
        deleteConditionsOfHeaders({ 'x-amz-if-match-size': size, 'x-amz-if-match-last-modified-time': time }),
      )!;
    // An HTTP date has whole seconds: the milliseconds of LastModified do not count.
    const ok = headers('5', 'Wed, 04 Mar 2026 05:06:07 GMT');
    assert.equal(
      code(() => ok(current)),
      undefined,
    );
    assert.equal(
      code(() => ok(undefined)),
      undefined,
    );
    assert.equal(
      code(() => headers('6', 'Wed, 04 Mar 2026 05:06:07 GMT')(current)),
      'PreconditionFailed',
    );
    assert.equal(
      code(() => headers('5', 'Wed, 04 Mar 2026 05:06:08 GMT')(current)),
      'PreconditionFailed',
    );
  });

  it('DeleteObjects entries: ETag, Size and an ISO 8601 LastModifiedTime', () => {
    const entry = deletePrecondition(
      'k',
      deleteConditionsOfEntry({
        Key: 'k',
        ETag: `"${current.etag}"`,
        Size: '5',
        LastModifiedTime: '2026-03-04T05:06:07.000Z',
      }),
    )!;
    assert.equal(
      code(() => entry(current)),
      undefined,
    );
    const wrong = deletePrecondition('k', deleteConditionsOfEntry({ Key: 'k', Size: '4' }))!;
    assert.equal(
      code(() => wrong(current)),
      'PreconditionFailed',
    );
  });

  it('malformed size or time is InvalidArgument', () => {
    assert.equal(
      code(() => deleteConditionsOfHeaders({ 'x-amz-if-match-size': '-1' })),
      'InvalidArgument',
    );
    assert.equal(
      code(() => deleteConditionsOfHeaders({ 'x-amz-if-match-size': 'five' })),
      'InvalidArgument',
    );
    assert.equal(
      code(() => deleteConditionsOfHeaders({ 'x-amz-if-match-last-modified-time': 'yesterday' })),
      'InvalidArgument',
    );
    assert.equal(
      code(() => deleteConditionsOfEntry({ Key: 'k', Size: '1.5' })),
      'InvalidArgument',
    );
  });
});
