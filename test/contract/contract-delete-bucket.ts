/**
 * Storage contract: DeleteBucket and multipart uploads. S3 deletes a general purpose bucket whose
 * objects, versions and delete markers are gone even while uploads are in progress, and aborts
 * them (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html; only directory
 * buckets refuse, https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html).
 * versitygw's ListObjects_should_not_list_pending_mps deletes such a bucket and expects 204.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { StorageBackend } from '../../src/storage/backend.js';
import type { MultipartStore, PartInfo, UploadsPage } from '../../src/storage/multipart.js';
import { bodyFrom } from '../helpers/body.js';
import { getBytes, put, rejectsCode, T, type ContractSubject, type WithBackend } from './contract-helpers.js';

const B = 'mp-del-bucket';

function store(b: StorageBackend): MultipartStore {
  assert.ok(b.multipart, `the ${b.kind} backend has no multipart store`);
  return b.multipart;
}

const ALL = { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 1000 };

function uploadIds(page: UploadsPage): string[] {
  return page.uploads.map((u) => u.uploadId);
}

const completed = (infos: PartInfo[]) =>
  infos.map((p) => ({ partNumber: p.partNumber, etag: `"${p.etag}"`, checksums: {} }));

async function assertStaged(subject: ContractSubject, expected: string[]): Promise<void> {
  if (subject.stagedUploads) assert.deepEqual((await subject.stagedUploads()).sort(), [...expected].sort());
}

/**
 * After the bucket was deleted: it is gone, nothing but `staged` (uploads of other buckets) is
 * staged, and created again it holds no upload.
 */
async function assertGoneWithUploads(
  b: StorageBackend,
  subject: ContractSubject,
  ids: string[],
  staged: string[] = [],
): Promise<void> {
  const mp = store(b);
  await rejectsCode(b.headBucket(B), 'NoSuchBucket');
  await rejectsCode(mp.listUploads(B, ALL), 'NoSuchBucket');
  await assertStaged(subject, staged);
  await b.createBucket(B);
  assert.deepEqual(uploadIds(await mp.listUploads(B, ALL)), []);
  assert.equal(await mp.hasUploads(B), false);
  for (const id of ids) {
    await rejectsCode(mp.getUpload(B, 'k', id), 'NoSuchUpload');
    await rejectsCode(mp.uploadPart(B, 'k', id, 1, bodyFrom('late'), {}), 'NoSuchUpload');
    await rejectsCode(mp.abortUpload(B, 'k', id), 'NoSuchUpload');
  }
}

/** Registers these contract tests. */
export function deleteBucketContract(withBackend: WithBackend): void {
  describe('DeleteBucket and multipart uploads', () => {
    test('a bucket holding only uploads is deleted; its uploads and parts are gone', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        await b.createBucket(B);
        const ids: string[] = [];
        for (const key of ['k', 'k', 'dir/other', 'empty']) {
          const up = await mp.createUpload(B, key, { headers: {}, metadata: {} });
          ids.push(up.uploadId);
          if (key !== 'empty') await mp.uploadPart(B, key, up.uploadId, 1, bodyFrom(`part of ${key}`), {});
        }
        // An upload in another bucket is not touched.
        const other = await mp.createUpload('contract-bucket', 'k', { headers: {}, metadata: {} });
        await mp.uploadPart('contract-bucket', 'k', other.uploadId, 1, bodyFrom('other'), {});
        await assertStaged(subject, [...ids, other.uploadId]);
        // ListObjects does not list pending uploads (versitygw ListObjects_should_not_list_pending_mps).
        const listed = await b.listObjects(B, { prefix: '', delimiter: '', after: '', maxKeys: 10 });
        assert.deepEqual(listed.objects, []);

        await b.deleteBucket(B);
        await rejectsCode(mp.uploadPart(B, 'k', ids[0]!, 2, bodyFrom('x'), {}), 'NoSuchBucket');
        await rejectsCode(mp.completeUpload(B, 'k', ids[0]!, { parts: [] }, {}), 'NoSuchBucket');
        await rejectsCode(mp.abortUpload(B, 'k', ids[0]!), 'NoSuchBucket');
        await assertGoneWithUploads(b, subject, ids.slice(0, 2), [other.uploadId]);
        await assertStaged(subject, [other.uploadId]);
        const kept = await mp.listParts('contract-bucket', 'k', other.uploadId, {
          partNumberMarker: 0,
          maxParts: 10,
        });
        assert.deepEqual(
          kept.parts.map((p) => p.size),
          [5],
        );
      }),
    );

    test('with an object left: BucketNotEmpty, and no upload is touched', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        await b.createBucket(B);
        const up = await mp.createUpload(B, 'k', { headers: {}, metadata: {} });
        const part = await mp.uploadPart(B, 'k', up.uploadId, 1, bodyFrom('kept part'), {});
        await put(b, 'deep/object', 'stays', B);
        await rejectsCode(b.deleteBucket(B), 'BucketNotEmpty');
        await rejectsCode(b.deleteBucket(B, { keep: true }), 'BucketNotEmpty');
        assert.deepEqual(uploadIds(await mp.listUploads(B, ALL)), [up.uploadId]);
        await assertStaged(subject, [up.uploadId]);
        const info = await mp.completeUpload(B, 'k', up.uploadId, { parts: completed([part]) }, {});
        assert.equal(info.size, 9);
        assert.equal((await getBytes(b, 'k', B)).toString(), 'kept part');
        assert.equal((await getBytes(b, 'deep/object', B)).toString(), 'stays');
      }),
    );

    test('keep: the bucket stays, its uploads are aborted', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        await b.createBucket(B);
        const up = await mp.createUpload(B, 'k', { headers: {}, metadata: {} });
        await mp.uploadPart(B, 'k', up.uploadId, 1, bodyFrom('gone'), {});
        await b.deleteBucket(B, { keep: true });
        await b.headBucket(B);
        assert.deepEqual(uploadIds(await mp.listUploads(B, ALL)), []);
        await rejectsCode(mp.uploadPart(B, 'k', up.uploadId, 2, bodyFrom('x'), {}), 'NoSuchUpload');
        await assertStaged(subject, []);
        await put(b, 'k', 'after', B);
        assert.equal((await getBytes(b, 'k', B)).toString(), 'after');
      }),
    );

    test('CreateMultipartUpload racing DeleteBucket leaves no upload behind', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        for (let round = 0; round < 4; round++) {
          await b.createBucket(B);
          const creates = Array.from({ length: 4 }, (_, i) =>
            mp.createUpload(B, `k${i}`, { headers: {}, metadata: {} }),
          );
          // Round 0..1: DeleteBucket first; 2..3: the creates have a head start.
          if (round >= 2) await delay(1);
          const results = await Promise.allSettled([...creates, b.deleteBucket(B)]);
          const deleted = results[4]!;
          assert.equal(deleted.status, 'fulfilled', String((deleted as PromiseRejectedResult).reason));
          for (const r of results.slice(0, 4)) {
            if (r.status === 'rejected') {
              assert.equal((r.reason as { code?: string }).code, 'NoSuchBucket');
            }
          }
          const ids = results
            .slice(0, 4)
            .flatMap((r) => (r.status === 'fulfilled' ? [(r.value as { uploadId: string }).uploadId] : []));
          await assertGoneWithUploads(b, subject, ids);
          await b.deleteBucket(B);
        }
      }),
    );

    test('UploadPart streaming while the bucket is deleted: NoSuchUpload, nothing staged', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        await b.createBucket(B);
        const up = await mp.createUpload(B, 'k', { headers: {}, metadata: {} });
        const source = new PassThrough();
        source.write(Buffer.alloc(64 * 1024, 1));
        const part = mp.uploadPart(B, 'k', up.uploadId, 1, bodyFrom(source), {});
        part.catch(() => undefined);
        await delay(50);
        await b.deleteBucket(B);
        source.end(Buffer.alloc(1024, 2));
        await rejectsCode(part, 'NoSuchUpload');
        await assertGoneWithUploads(b, subject, [up.uploadId]);
      }),
    );

    test('Complete racing DeleteBucket: the object and the bucket, or neither', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        for (const order of ['together', 'complete first'] as const) {
          await b.createBucket(B);
          const up = await mp.createUpload(B, 'k', { headers: {}, metadata: {} });
          const part = await mp.uploadPart(B, 'k', up.uploadId, 1, bodyFrom('racing'), {});
          let started = false;
          let start!: () => void;
          const deletion = new Promise<void>((resolve) => {
            start = () => {
              if (!started) resolve(b.deleteBucket(B));
              started = true;
            };
          });
          const complete = mp.completeUpload(
            B,
            'k',
            up.uploadId,
            { parts: completed([part]) },
            // 'complete first': DeleteBucket starts once the Complete holds the upload.
            order === 'complete first' ? { onValidated: () => start() } : {},
          );
          if (order === 'together') start();
          const [c] = await Promise.allSettled([complete]);
          start(); // in case the Complete failed before holding the upload
          const [d] = await Promise.allSettled([deletion]);
          if (c.status === 'fulfilled') {
            assert.equal(d.status, 'rejected', `${order}: both the Complete and DeleteBucket succeeded`);
            assert.equal((d.reason as { code?: string }).code, 'BucketNotEmpty');
            assert.equal((await getBytes(b, 'k', B)).toString(), 'racing');
            await assertStaged(subject, []);
            await b.deleteObject(B, 'k');
            await b.deleteBucket(B);
          } else {
            assert.equal(d.status, 'fulfilled', `${order}: ${String((d as PromiseRejectedResult).reason)}`);
            const code = (c.reason as { code?: string }).code;
            assert.ok(
              code === 'NoSuchUpload' || code === 'NoSuchBucket',
              `${order}: Complete failed with ${code}`,
            );
            await assertGoneWithUploads(b, subject, [up.uploadId]);
            assert.deepEqual(
              (await b.listObjects(B, { prefix: '', delimiter: '', after: '', maxKeys: 10 })).objects,
              [],
            );
            await b.deleteBucket(B);
          }
          if (order === 'complete first')
            assert.equal(c.status, 'fulfilled', 'the Complete held the upload first');
        }
      }),
    );
  });
}
