/**
 * Storage contract: conditional deletes (DeleteOptions.precondition) and copies that compute a
 * new checksum (CopyOptions.checksumAlgorithm).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { computeChecksum } from '../../src/s3/checksums.js';
import { S3Error } from '../../src/s3/errors.js';
import type { ObjectInfo, StorageBackend } from '../../src/storage/backend.js';
import { bodyFrom, md5Hex } from '../helpers/body.js';
import {
  assertNoLeftovers,
  BUCKET,
  getBytes,
  put,
  rejectsCode,
  T,
  type WithBackend,
} from './contract-helpers.js';

/** A precondition that records what it saw and refuses. */
function refuse(seen: (ObjectInfo | undefined)[]): (cur: ObjectInfo | undefined) => void {
  return (cur) => {
    seen.push(cur);
    throw new S3Error('PreconditionFailed');
  };
}

/** Enables versioning on {@link BUCKET}; false when the backend keeps no versions. */
async function versioned(b: StorageBackend): Promise<boolean> {
  if (!b.versioning) return false;
  await b.versioning.setBucketVersioning(BUCKET, 'Enabled');
  return true;
}

/** Registers these contract tests. */
export function conditionalContract(withBackend: WithBackend): void {
  describe('conditional deletes', () => {
    test('the precondition sees the current object; throwing deletes nothing', T, () =>
      withBackend(async (b) => {
        const info = await put(b, 'k', 'current bytes');
        const seen: (ObjectInfo | undefined)[] = [];
        await rejectsCode(b.deleteObject(BUCKET, 'k', { precondition: refuse(seen) }), 'PreconditionFailed');
        assert.equal(seen.length, 1);
        assert.equal(seen[0]?.etag, info.etag);
        assert.equal(seen[0]?.size, info.size);
        assert.equal((await getBytes(b, 'k')).toString(), 'current bytes');

        let passed: ObjectInfo | undefined;
        await b.deleteObject(BUCKET, 'k', { precondition: (cur) => void (passed = cur) });
        assert.equal(passed?.etag, md5Hex('current bytes'));
        await rejectsCode(b.headObject(BUCKET, 'k'), 'NoSuchKey');
      }),
    );

    test('an absent key (or one that cannot be stored) shows no current object', T, () =>
      withBackend(async (b) => {
        const seen: (ObjectInfo | undefined)[] = [];
        await rejectsCode(
          b.deleteObject(BUCKET, 'absent', { precondition: refuse(seen) }),
          'PreconditionFailed',
        );
        await rejectsCode(
          b.deleteObject(BUCKET, 'x'.repeat(1100), { precondition: refuse(seen) }),
          'PreconditionFailed',
        );
        assert.deepEqual(seen, [undefined, undefined]);
        await b.deleteObject(BUCKET, 'absent', { precondition: (cur) => assert.equal(cur, undefined) });
      }),
    );

    test('the precondition runs under the key lock: a write it starts lands after the delete', T, () =>
      withBackend(async (b) => {
        const first = await put(b, 'k', 'v1');
        let overwrite: Promise<ObjectInfo> | undefined;
        await b.deleteObject(BUCKET, 'k', {
          precondition: (cur) => {
            assert.equal(cur?.etag, first.etag);
            // A concurrent overwrite: it must wait for the key's lock, so the delete cannot
            // remove it (a check made outside the lock could pass on v1, then delete v2).
            overwrite = put(b, 'k', 'v2');
          },
        });
        assert.ok(overwrite, 'the precondition was not run');
        await overwrite;
        assert.equal((await getBytes(b, 'k')).toString(), 'v2');
      }),
    );

    test('versioned: a refused delete adds no delete marker; a delete marker is no object', T, () =>
      withBackend(async (b) => {
        if (!(await versioned(b))) return;
        const v1 = await put(b, 'k', 'one');
        const v2 = await put(b, 'k', 'two');
        const seen: (ObjectInfo | undefined)[] = [];
        await rejectsCode(b.deleteObject(BUCKET, 'k', { precondition: refuse(seen) }), 'PreconditionFailed');
        assert.equal(seen[0]?.etag, v2.etag);
        assert.equal(seen[0]?.versionId, v2.versionId);
        let page = await b.versioning!.listObjectVersions(BUCKET, {
          prefix: '',
          delimiter: '',
          keyMarker: '',
          maxKeys: 100,
        });
        assert.equal(page.versions.length, 2);
        assert.ok(page.versions.every((v) => !v.deleteMarker));

        // A delete naming a version is conditional on the current version, not the one named.
        await rejectsCode(
          b.deleteObject(BUCKET, 'k', { versionId: v1.versionId!, precondition: refuse(seen) }),
          'PreconditionFailed',
        );
        assert.equal(seen[1]?.versionId, v2.versionId);
        assert.equal((await b.headObject(BUCKET, 'k', { versionId: v1.versionId! })).etag, v1.etag);

        const marker = await b.deleteObject(BUCKET, 'k', {
          precondition: (cur) => assert.equal(cur?.versionId, v2.versionId),
        });
        assert.equal(marker?.deleteMarker, true);
        // Now the latest version is a delete marker: no current object.
        await rejectsCode(b.deleteObject(BUCKET, 'k', { precondition: refuse(seen) }), 'PreconditionFailed');
        assert.equal(seen[2], undefined);
        assert.equal(seen.length, 3);
        page = await b.versioning!.listObjectVersions(BUCKET, {
          prefix: '',
          delimiter: '',
          keyMarker: '',
          maxKeys: 100,
        });
        assert.equal(page.versions.filter((v) => v.deleteMarker).length, 1);
      }),
    );
  });

  describe('copy with a new checksum algorithm', () => {
    const src = { bucket: BUCKET, key: 'src' };

    test('to another key: the checksum of the bytes replaces the source one', T, () =>
      withBackend(async (b, subject) => {
        const data = randomBytes(200_000);
        const crc32 = computeChecksum('CRC32', data);
        await b.putObject(BUCKET, 'src', bodyFrom(data, { checksums: { CRC32: crc32 } }), {
          headers: {},
          metadata: {},
        });
        for (const algorithm of ['SHA256', 'CRC64NVME', 'XXHASH128'] as const) {
          const key = `dst-${algorithm}`;
          const info = await b.copyObject(src, { bucket: BUCKET, key }, { checksumAlgorithm: algorithm });
          assert.deepEqual(info.checksums, { [algorithm]: computeChecksum(algorithm, data) });
          assert.equal(info.checksumType, 'FULL_OBJECT');
          assert.equal(info.etag, md5Hex(data));
          const head = await b.headObject(BUCKET, key);
          assert.deepEqual(head.checksums, info.checksums);
          assert.equal(head.checksumType, 'FULL_OBJECT');
          assert.ok((await getBytes(b, key)).equals(data));
        }
        // The algorithm the source already holds: the same value, alone.
        const same = await b.copyObject(
          src,
          { bucket: BUCKET, key: 'dst-crc' },
          { checksumAlgorithm: 'CRC32' },
        );
        assert.deepEqual(same.checksums, { CRC32: crc32 });
        // Without one, the source's checksum is kept.
        const kept = await b.copyObject(src, { bucket: BUCKET, key: 'dst-kept' }, {});
        assert.deepEqual(kept.checksums, { CRC32: crc32 });
        assert.deepEqual((await b.headObject(BUCKET, 'src')).checksums, { CRC32: crc32 });
        await assertNoLeftovers(subject);
      }),
    );

    test('self-copy with REPLACE and a new algorithm changes the stored checksum', T, () =>
      withBackend(async (b) => {
        const data = randomBytes(70_000);
        await b.putObject(
          BUCKET,
          'src',
          bodyFrom(data, { checksums: { SHA256: computeChecksum('SHA256', data) } }),
          {
            headers: {},
            metadata: { a: '1' },
          },
        );
        const info = await b.copyObject(src, src, {
          replace: { headers: { contentType: 'text/plain' }, metadata: { b: '2' } },
          checksumAlgorithm: 'CRC32C',
        });
        assert.deepEqual(info.checksums, { CRC32C: computeChecksum('CRC32C', data) });
        assert.deepEqual(info.metadata, { b: '2' });
        const head = await b.headObject(BUCKET, 'src');
        assert.deepEqual(head.checksums, { CRC32C: computeChecksum('CRC32C', data) });
        assert.equal(head.checksumType, 'FULL_OBJECT');
        assert.equal(head.headers.contentType, 'text/plain');
        assert.equal(head.etag, md5Hex(data));
        assert.ok((await getBytes(b, 'src')).equals(data));
      }),
    );

    test('a source without checksum, and an empty one, get the one asked for', T, () =>
      withBackend(async (b) => {
        await put(b, 'plain', 'no checksum here');
        await put(b, 'empty', '');
        const plain = await b.copyObject(
          { bucket: BUCKET, key: 'plain' },
          { bucket: BUCKET, key: 'plain-copy' },
          { checksumAlgorithm: 'SHA1' },
        );
        assert.deepEqual(plain.checksums, { SHA1: computeChecksum('SHA1', 'no checksum here') });
        const empty = await b.copyObject(
          { bucket: BUCKET, key: 'empty' },
          { bucket: BUCKET, key: 'empty-copy' },
          { checksumAlgorithm: 'CRC32' },
        );
        assert.deepEqual(empty.checksums, { CRC32: computeChecksum('CRC32', '') });
        assert.deepEqual((await b.headObject(BUCKET, 'empty-copy')).checksums, empty.checksums);
      }),
    );
  });
}
