/**
 * Storage contract: multipart uploads (StorageBackend.multipart, see src/storage/multipart.ts).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Checksums } from '../../src/s3/body.js';
import { computeChecksum } from '../../src/s3/checksums.js';
import { S3Error } from '../../src/s3/errors.js';
import type { ObjectInfo, StorageBackend } from '../../src/storage/backend.js';
import { MIN_PART_SIZE, type MultipartStore, type PartInfo } from '../../src/storage/multipart.js';
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

function store(b: StorageBackend): MultipartStore {
  assert.ok(b.multipart, `the ${b.kind} backend has no multipart store`);
  return b.multipart;
}

/** The multipart ETag computed here, independently of the code under test. */
function expectedETag(parts: Buffer[]): string {
  const md5s = parts.map((p) => createHash('md5').update(p).digest());
  return `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${parts.length}`;
}

async function uploadAll(
  mp: MultipartStore,
  key: string,
  uploadId: string,
  parts: Buffer[],
  checksums?: (data: Buffer) => Checksums,
): Promise<PartInfo[]> {
  // Concurrently and in reverse order: parts may arrive in any order.
  const infos = await Promise.all(
    parts
      .map((data, i) => ({ data, n: i + 1 }))
      .reverse()
      .map(({ data, n }) =>
        mp.uploadPart(
          BUCKET,
          key,
          uploadId,
          n,
          bodyFrom(data, checksums ? { checksums: checksums(data) } : {}),
          { size: data.length },
        ),
      ),
  );
  return infos.reverse();
}

const completed = (infos: PartInfo[]) =>
  infos.map((p) => ({ partNumber: p.partNumber, etag: `"${p.etag}"`, checksums: {} }));

/** Registers these contract tests. */
export function multipartContract(withBackend: WithBackend): void {
  describe('multipart uploads', () => {
    test('parts out of order and concurrent; Complete assembles the object with the multipart ETag', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        const parts = [randomBytes(MIN_PART_SIZE), randomBytes(MIN_PART_SIZE + 7), randomBytes(1234)];
        const up = await mp.createUpload(BUCKET, 'mp/object.bin', {
          headers: { contentType: 'application/x-test', cacheControl: 'no-cache' },
          metadata: { origin: 'multipart' },
        });
        assert.match(up.uploadId, /^[A-Za-z0-9_-]{20,}$/);
        const infos = await uploadAll(mp, 'mp/object.bin', up.uploadId, parts);
        assert.deepEqual(
          infos.map((p) => [p.partNumber, p.size, p.etag]),
          parts.map((p, i) => [i + 1, p.length, md5Hex(p)]),
        );
        const listed = await mp.listParts(BUCKET, 'mp/object.bin', up.uploadId, {
          partNumberMarker: 0,
          maxParts: 1000,
        });
        assert.deepEqual(
          listed.parts.map((p) => p.partNumber),
          [1, 2, 3],
        );
        assert.equal(listed.isTruncated, false);

        const info = await mp.completeUpload(
          BUCKET,
          'mp/object.bin',
          up.uploadId,
          { parts: completed(infos) },
          {},
        );
        assert.equal(info.etag, expectedETag(parts));
        assert.equal(
          info.size,
          parts.reduce((n, p) => n + p.length, 0),
        );
        assert.deepEqual(
          info.parts?.sizes,
          parts.map((p) => p.length),
        );
        const head = await b.headObject(BUCKET, 'mp/object.bin');
        assert.equal(head.etag, expectedETag(parts));
        assert.deepEqual(
          head.parts?.sizes,
          parts.map((p) => p.length),
        );
        assert.equal(head.headers.contentType, 'application/x-test');
        assert.equal(head.headers.cacheControl, 'no-cache');
        assert.deepEqual(head.metadata, { origin: 'multipart' });
        assert.ok((await getBytes(b, 'mp/object.bin')).equals(Buffer.concat(parts)));
        // The upload is gone.
        await rejectsCode(
          mp.listParts(BUCKET, 'mp/object.bin', up.uploadId, { partNumberMarker: 0, maxParts: 10 }),
          'NoSuchUpload',
        );
        // A repeated Complete (a retry whose answer was lost) answers with the same object, as S3
        // does; one that differs (other parts, another key) is NoSuchUpload.
        const again = await mp.completeUpload(
          BUCKET,
          'mp/object.bin',
          up.uploadId,
          { parts: completed(infos) },
          {},
        );
        assert.equal(again.etag, info.etag);
        assert.equal(again.size, info.size);
        assert.deepEqual(again.parts?.sizes, info.parts?.sizes);
        await rejectsCode(
          mp.completeUpload(
            BUCKET,
            'mp/object.bin',
            up.uploadId,
            { parts: completed(infos.slice(0, 2)) },
            {},
          ),
          'NoSuchUpload',
        );
        await rejectsCode(
          mp.completeUpload(BUCKET, 'mp/other.bin', up.uploadId, { parts: completed(infos) }, {}),
          'NoSuchUpload',
        );
        await assertNoLeftovers(subject);
      }),
    );

    test('re-uploading a part number replaces it; a stale ETag is InvalidPart', T, () =>
      withBackend(async (b) => {
        const mp = store(b);
        const up = await mp.createUpload(BUCKET, 'replace', { headers: {}, metadata: {} });
        const first = await mp.uploadPart(BUCKET, 'replace', up.uploadId, 1, bodyFrom('first'), {});
        const second = await mp.uploadPart(BUCKET, 'replace', up.uploadId, 1, bodyFrom('second version'), {});
        const listed = await mp.listParts(BUCKET, 'replace', up.uploadId, {
          partNumberMarker: 0,
          maxParts: 10,
        });
        assert.deepEqual(
          listed.parts.map((p) => [p.partNumber, p.etag, p.size]),
          [[1, md5Hex('second version'), 14]],
        );
        await rejectsCode(
          mp.completeUpload(BUCKET, 'replace', up.uploadId, { parts: completed([first]) }, {}),
          'InvalidPart',
        );
        const info = await mp.completeUpload(
          BUCKET,
          'replace',
          up.uploadId,
          { parts: completed([second]) },
          {},
        );
        assert.equal(info.etag, expectedETag([Buffer.from('second version')]));
        assert.equal((await getBytes(b, 'replace')).toString(), 'second version');
      }),
    );

    test('errors: NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall, MalformedXML', T, () =>
      withBackend(async (b) => {
        const mp = store(b);
        const up = await mp.createUpload(BUCKET, 'errs', { headers: {}, metadata: {} });
        const p1 = await mp.uploadPart(BUCKET, 'errs', up.uploadId, 1, bodyFrom('small one'), {});
        const p2 = await mp.uploadPart(BUCKET, 'errs', up.uploadId, 2, bodyFrom('small two'), {});
        await rejectsCode(mp.uploadPart(BUCKET, 'errs', 'nope', 1, bodyFrom('x'), {}), 'NoSuchUpload');
        await rejectsCode(
          mp.uploadPart(BUCKET, 'other-key', up.uploadId, 1, bodyFrom('x'), {}),
          'NoSuchUpload',
        );
        await rejectsCode(mp.abortUpload(BUCKET, 'errs', '../../etc'), 'NoSuchUpload');
        await rejectsCode(mp.getUpload('no-such-bucket-x', 'errs', up.uploadId), 'NoSuchBucket');
        const complete = (parts: { partNumber: number; etag: string; checksums: Checksums }[]) =>
          mp.completeUpload(BUCKET, 'errs', up.uploadId, { parts }, {});
        await rejectsCode(complete([]), 'MalformedXML');
        await rejectsCode(complete([{ partNumber: 3, etag: p1.etag, checksums: {} }]), 'InvalidPart');
        await rejectsCode(complete([{ partNumber: 1, etag: md5Hex('other'), checksums: {} }]), 'InvalidPart');
        await rejectsCode(complete([...completed([p2]), ...completed([p1])]), 'InvalidPartOrder');
        await rejectsCode(complete([...completed([p1]), ...completed([p1])]), 'InvalidPartOrder');
        await rejectsCode(
          complete([{ partNumber: 10_001, etag: p1.etag, checksums: {} }]),
          'InvalidArgument',
        );
        await rejectsCode(complete(completed([p1, p2])), 'EntityTooSmall');
        // A failed Complete leaves the upload usable.
        const info = await complete(completed([p1]));
        assert.equal(info.size, 9);
        await rejectsCode(mp.abortUpload(BUCKET, 'errs', up.uploadId), 'NoSuchUpload');
      }),
    );

    test('abort removes the upload and its parts', T, () =>
      withBackend(async (b, subject) => {
        const mp = store(b);
        await b.createBucket('mp-bucket-del');
        const up = await mp.createUpload('mp-bucket-del', 'k', { headers: {}, metadata: {} });
        await mp.uploadPart('mp-bucket-del', 'k', up.uploadId, 1, bodyFrom('data'), {});
        assert.equal(await mp.hasUploads('mp-bucket-del'), true);
        if (subject.stagedUploads) assert.deepEqual(await subject.stagedUploads(), [up.uploadId]);
        await mp.abortUpload('mp-bucket-del', 'k', up.uploadId);
        await rejectsCode(mp.abortUpload('mp-bucket-del', 'k', up.uploadId), 'NoSuchUpload');
        await rejectsCode(
          mp.uploadPart('mp-bucket-del', 'k', up.uploadId, 2, bodyFrom('x'), {}),
          'NoSuchUpload',
        );
        assert.equal(await mp.hasUploads('mp-bucket-del'), false);
        const page = await mp.listUploads('mp-bucket-del', {
          prefix: '',
          delimiter: '',
          keyMarker: '',
          uploadIdMarker: '',
          maxUploads: 1000,
        });
        assert.deepEqual(page.uploads, []);
        if (subject.stagedUploads) assert.deepEqual(await subject.stagedUploads(), []);
        await b.deleteBucket('mp-bucket-del');
      }),
    );

    test('ListMultipartUploads: key order, then initiation; prefix, delimiter, markers', T, () =>
      withBackend(async (b) => {
        const mp = store(b);
        const keys = ['b/2', 'a', 'b/1', 'c', 'a', 'b/1/x'];
        const ids: { key: string; id: string }[] = [];
        for (const key of keys) {
          ids.push({ key, id: (await mp.createUpload(BUCKET, key, { headers: {}, metadata: {} })).uploadId });
        }
        const opts = { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 1000 };
        const all = await mp.listUploads(BUCKET, opts);
        const order = ['a', 'a', 'b/1', 'b/1/x', 'b/2', 'c'];
        assert.deepEqual(
          all.uploads.map((u) => u.key),
          order,
        );
        const aIds = ids.filter((x) => x.key === 'a').map((x) => x.id);
        assert.deepEqual(
          all.uploads.filter((u) => u.key === 'a').map((u) => u.uploadId),
          aIds,
          'uploads of one key in initiation order',
        );
        // Pages of two, resumed with the markers, give the same sequence.
        const seen: string[] = [];
        let keyMarker = '';
        let uploadIdMarker = '';
        for (let pages = 0; pages < 10; pages++) {
          const page = await mp.listUploads(BUCKET, { ...opts, keyMarker, uploadIdMarker, maxUploads: 2 });
          seen.push(...page.uploads.map((u) => u.uploadId));
          if (!page.isTruncated) break;
          keyMarker = page.nextKeyMarker ?? '';
          uploadIdMarker = page.nextUploadIdMarker ?? '';
        }
        assert.deepEqual(
          seen,
          all.uploads.map((u) => u.uploadId),
        );
        const delimited = await mp.listUploads(BUCKET, { ...opts, delimiter: '/' });
        assert.deepEqual(
          delimited.uploads.map((u) => u.key),
          ['a', 'a', 'c'],
        );
        assert.deepEqual(delimited.commonPrefixes, ['b/']);
        const under = await mp.listUploads(BUCKET, { ...opts, prefix: 'b/', delimiter: '/' });
        assert.deepEqual(
          under.uploads.map((u) => u.key),
          ['b/1', 'b/2'],
        );
        assert.deepEqual(under.commonPrefixes, ['b/1/']);
        const after = await mp.listUploads(BUCKET, { ...opts, keyMarker: 'b/1' });
        assert.deepEqual(
          after.uploads.map((u) => u.key),
          ['b/1/x', 'b/2', 'c'],
        );
        const none = await mp.listUploads(BUCKET, { ...opts, maxUploads: 0 });
        assert.deepEqual([none.uploads.length, none.isTruncated], [0, false]);
      }),
    );

    test('ListParts pages with part-number-marker', T, () =>
      withBackend(async (b) => {
        const mp = store(b);
        const up = await mp.createUpload(BUCKET, 'pages', { headers: {}, metadata: {} });
        for (const n of [5, 1, 3, 2, 4])
          await mp.uploadPart(BUCKET, 'pages', up.uploadId, n, bodyFrom(`p${n}`), {});
        const page1 = await mp.listParts(BUCKET, 'pages', up.uploadId, { partNumberMarker: 0, maxParts: 2 });
        assert.deepEqual(
          [page1.parts.map((p) => p.partNumber), page1.isTruncated, page1.nextPartNumberMarker],
          [[1, 2], true, 2],
        );
        const page3 = await mp.listParts(BUCKET, 'pages', up.uploadId, { partNumberMarker: 4, maxParts: 2 });
        assert.deepEqual([page3.parts.map((p) => p.partNumber), page3.isTruncated], [[5], false]);
      }),
    );

    test(
      'COMPOSITE and FULL_OBJECT checksums; the upload algorithm is computed when a part lacks it',
      T,
      () =>
        withBackend(async (b) => {
          const mp = store(b);
          const parts = [randomBytes(MIN_PART_SIZE), randomBytes(100)];
          const crc32 = (d: Buffer) => computeChecksum('CRC32', d);
          const composite = await mp.createUpload(BUCKET, 'sum/composite', {
            headers: {},
            metadata: {},
            checksumAlgorithm: 'CRC32',
            checksumType: 'COMPOSITE',
          });
          // Part 1 carries its CRC32, part 2 none: the store computes it.
          const c1 = await mp.uploadPart(
            BUCKET,
            'sum/composite',
            composite.uploadId,
            1,
            bodyFrom(parts[0]!, { checksums: { CRC32: crc32(parts[0]!) } }),
            { checksumAlgorithm: 'CRC32' },
          );
          const c2 = await mp.uploadPart(
            BUCKET,
            'sum/composite',
            composite.uploadId,
            2,
            bodyFrom(parts[1]!),
            {},
          );
          assert.equal(c2.checksums.CRC32, crc32(parts[1]!));
          await rejectsCode(
            mp.uploadPart(
              BUCKET,
              'sum/composite',
              composite.uploadId,
              3,
              bodyFrom('x', { checksums: { SHA256: computeChecksum('SHA256', 'x') } }),
              { checksumAlgorithm: 'SHA256' },
            ),
            'InvalidRequest',
          );
          const withSums = [c1, c2].map((p) => ({
            partNumber: p.partNumber,
            etag: p.etag,
            checksums: { CRC32: p.checksums.CRC32! },
          }));
          await rejectsCode(
            mp.completeUpload(
              BUCKET,
              'sum/composite',
              composite.uploadId,
              { parts: completed([c1, c2]) },
              {},
            ),
            'InvalidRequest', // COMPOSITE: each part's checksum must be listed
          );
          await rejectsCode(
            mp.completeUpload(
              BUCKET,
              'sum/composite',
              composite.uploadId,
              { parts: [withSums[0]!, { ...withSums[1]!, checksums: { CRC32: crc32(Buffer.from('no')) } }] },
              {},
            ),
            'InvalidPart',
          );
          const expectedComposite = `${computeChecksum('CRC32', Buffer.concat(parts.map((p) => Buffer.from(crc32(p), 'base64'))))}-2`;
          const info = await mp.completeUpload(
            BUCKET,
            'sum/composite',
            composite.uploadId,
            { parts: withSums },
            {},
          );
          assert.deepEqual([info.checksums, info.checksumType], [{ CRC32: expectedComposite }, 'COMPOSITE']);
          const head = await b.headObject(BUCKET, 'sum/composite');
          assert.deepEqual([head.checksums, head.checksumType], [{ CRC32: expectedComposite }, 'COMPOSITE']);

          const full = await mp.createUpload(BUCKET, 'sum/full', {
            headers: {},
            metadata: {},
            checksumAlgorithm: 'CRC64NVME',
            checksumType: 'FULL_OBJECT',
          });
          const f = await uploadAll(mp, 'sum/full', full.uploadId, parts);
          const whole = computeChecksum('CRC64NVME', Buffer.concat(parts));
          await rejectsCode(
            mp.completeUpload(
              BUCKET,
              'sum/full',
              full.uploadId,
              {
                parts: completed(f),
                objectChecksum: { algorithm: 'CRC64NVME', value: computeChecksum('CRC64NVME', 'wrong') },
              },
              {},
            ),
            'BadDigest',
          );
          const fi = await mp.completeUpload(
            BUCKET,
            'sum/full',
            full.uploadId,
            { parts: completed(f), objectChecksum: { algorithm: 'CRC64NVME', value: whole } },
            {},
          );
          assert.deepEqual([fi.checksums, fi.checksumType], [{ CRC64NVME: whole }, 'FULL_OBJECT']);
          const fh = await b.headObject(BUCKET, 'sum/full');
          assert.deepEqual([fh.checksums, fh.checksumType], [{ CRC64NVME: whole }, 'FULL_OBJECT']);
        }),
    );

    test('Complete runs the write precondition atomically; a refused Complete keeps the upload', T, () =>
      withBackend(async (b) => {
        const mp = store(b);
        await put(b, 'cond', 'existing');
        const createOnly = (cur: ObjectInfo | undefined): void => {
          if (cur) throw new S3Error('PreconditionFailed');
        };
        const up = await mp.createUpload(BUCKET, 'cond', { headers: {}, metadata: {} });
        const p = await mp.uploadPart(BUCKET, 'cond', up.uploadId, 1, bodyFrom('new'), {});
        let validated = false;
        await rejectsCode(
          mp.completeUpload(
            BUCKET,
            'cond',
            up.uploadId,
            { parts: completed([p]) },
            { precondition: createOnly, onValidated: () => (validated = true) },
          ),
          'PreconditionFailed',
        );
        assert.equal(validated, false, 'a precondition that fails up front fails before onValidated');
        assert.equal((await getBytes(b, 'cond')).toString(), 'existing');
        await b.deleteObject(BUCKET, 'cond');
        // Two uploads race to create the key: exactly one wins.
        const ups = await Promise.all(
          [0, 1, 2].map(() => mp.createUpload(BUCKET, 'cond', { headers: {}, metadata: {} })),
        );
        const partsOf = await Promise.all(
          ups.map((u, i) => mp.uploadPart(BUCKET, 'cond', u.uploadId, 1, bodyFrom(`writer ${i}`), {})),
        );
        const results = await Promise.allSettled(
          ups.map((u, i) =>
            mp.completeUpload(
              BUCKET,
              'cond',
              u.uploadId,
              { parts: completed([partsOf[i]!]) },
              { precondition: createOnly },
            ),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results)
          if (r.status === 'rejected') assert.equal((r.reason as S3Error).code, 'PreconditionFailed');
        assert.match((await getBytes(b, 'cond')).toString(), /^writer \d$/);
      }),
    );

    test('expireUploads removes only uploads older than the given age', T, () =>
      withBackend(async (b) => {
        const mp = store(b);
        const old = await mp.createUpload(BUCKET, 'old', { headers: {}, metadata: {} });
        await mp.uploadPart(BUCKET, 'old', old.uploadId, 1, bodyFrom('x'), {});
        // Wide margins: 'old' is >= 1.2 s old, 'fresh' well under 0.6 s even on a loaded machine.
        await new Promise((r) => setTimeout(r, 1200));
        const fresh = await mp.createUpload(BUCKET, 'fresh', { headers: {}, metadata: {} });
        assert.equal(await mp.expireUploads(60_000), 0);
        assert.equal(await mp.expireUploads(600), 1);
        await rejectsCode(mp.getUpload(BUCKET, 'old', old.uploadId), 'NoSuchUpload');
        assert.equal((await mp.getUpload(BUCKET, 'fresh', fresh.uploadId)).key, 'fresh');
      }),
    );
  });
}
