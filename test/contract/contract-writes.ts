/**
 * Storage contract: failed writes, copies, concurrency.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { S3Error } from '../../src/s3/errors.js';
import type { ObjectInfo, StorageBackend } from '../../src/storage/backend.js';
import { bodyFrom, md5Hex, readAll } from '../helpers/body.js';
import {
  assertNoLeftovers,
  BUCKET,
  getBytes,
  listAll,
  put,
  rejectsCode,
  stallingStream,
  T,
  type WithBackend,
} from './contract-helpers.js';

/** Registers these contract tests. */
export function writeContract(withBackend: WithBackend): void {
  describe('failed writes', () => {
    test('body failing at its end keeps the previous object and leaves nothing behind', T, () =>
      withBackend(async (b, subject) => {
        await put(b, 'keep', 'previous');
        const big = randomBytes(1_000_000);
        await rejectsCode(
          b.putObject(BUCKET, 'keep', bodyFrom(big, { failAtEnd: true }), { headers: {}, metadata: {} }),
          'BadDigest',
        );
        assert.equal((await getBytes(b, 'keep')).toString(), 'previous');
        assert.equal((await b.headObject(BUCKET, 'keep')).etag, md5Hex('previous'));
        await rejectsCode(
          b.putObject(BUCKET, 'new/key', bodyFrom('zz', { failAtEnd: true }), {
            headers: {},
            metadata: {},
          }),
          'BadDigest',
        );
        await rejectsCode(b.headObject(BUCKET, 'new/key'), 'NoSuchKey');
        await assertNoLeftovers(subject);
      }),
    );

    test('abort via signal keeps the previous object and leaves nothing behind', T, () =>
      withBackend(async (b, subject) => {
        await put(b, 'keep', 'previous');
        const ac = new AbortController();
        const stream = stallingStream(randomBytes(100_000));
        const pending = b.putObject(BUCKET, 'keep', bodyFrom(stream), {
          headers: {},
          metadata: {},
          signal: ac.signal,
        });
        setTimeout(() => ac.abort(), 50);
        await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
        assert.equal((await getBytes(b, 'keep')).toString(), 'previous');
        await assertNoLeftovers(subject);
        const already = AbortSignal.abort();
        await assert.rejects(
          b.putObject(BUCKET, 'other', bodyFrom('x'), { headers: {}, metadata: {}, signal: already }),
          (err: Error) => err.name === 'AbortError',
        );
        await rejectsCode(b.headObject(BUCKET, 'other'), 'NoSuchKey');
        await assertNoLeftovers(subject);
      }),
    );

    test('precondition sees the current object; throwing keeps it', T, () =>
      withBackend(async (b, subject) => {
        const seen: (ObjectInfo | undefined)[] = [];
        await b.putObject(BUCKET, 'p', bodyFrom('v1'), {
          headers: {},
          metadata: {},
          precondition: (cur) => void seen.push(cur),
        });
        assert.equal(seen.length, 1);
        assert.equal(seen[0], undefined);
        await rejectsCode(
          b.putObject(BUCKET, 'p', bodyFrom('v2'), {
            headers: {},
            metadata: {},
            precondition: (cur) => {
              seen.push(cur);
              throw new S3Error('PreconditionFailed');
            },
          }),
          'PreconditionFailed',
        );
        assert.equal(seen[1]?.etag, md5Hex('v1'));
        assert.equal((await getBytes(b, 'p')).toString(), 'v1');
        await assertNoLeftovers(subject);
      }),
    );

    test('If-None-Match style precondition: exactly one concurrent creator wins', T, () =>
      withBackend(async (b) => {
        const createOnly = (cur: ObjectInfo | undefined): void => {
          if (cur) throw new S3Error('PreconditionFailed');
        };
        const results = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) =>
            b.putObject(BUCKET, 'once', bodyFrom(`writer ${i}`), {
              headers: {},
              metadata: {},
              precondition: createOnly,
            }),
          ),
        );
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) {
          if (r.status === 'rejected') assert.equal((r.reason as S3Error).code, 'PreconditionFailed');
        }
      }),
    );
  });

  describe('copy', () => {
    const src = { bucket: BUCKET, key: 'src/obj' };
    const srcHeaders = { contentType: 'text/plain', cacheControl: 'max-age=1' };
    const checksums = { CRC32C: 'AAAAAA==' };

    async function putSource(b: StorageBackend, data: Buffer): Promise<ObjectInfo> {
      return b.putObject(BUCKET, src.key, bodyFrom(data, { checksums }), {
        headers: srcHeaders,
        metadata: { origin: 'src' },
      });
    }

    test('COPY: bytes, headers, metadata, checksums and etag follow the source', T, () =>
      withBackend(async (b) => {
        const data = randomBytes(150_000);
        const source = await putSource(b, data);
        await b.createBucket('other-bucket');
        for (const dst of [
          { bucket: BUCKET, key: 'dst/copy' },
          { bucket: 'other-bucket', key: 'x' },
        ]) {
          const info = await b.copyObject(src, dst, {});
          assert.equal(info.key, dst.key);
          assert.equal(info.etag, source.etag);
          assert.equal(info.size, data.length);
          assert.deepEqual(info.headers, srcHeaders);
          assert.deepEqual(info.metadata, { origin: 'src' });
          assert.deepEqual(info.checksums, checksums);
          assert.deepEqual(await b.headObject(dst.bucket, dst.key), info);
          assert.ok((await getBytes(b, dst.key, dst.bucket)).equals(data));
        }
        // The source is unchanged.
        assert.deepEqual(await b.headObject(BUCKET, src.key), source);
      }),
    );

    test('REPLACE: new headers and metadata, same bytes', T, () =>
      withBackend(async (b) => {
        const data = randomBytes(1000);
        await putSource(b, data);
        const info = await b.copyObject(
          src,
          { bucket: BUCKET, key: 'replaced' },
          { replace: { headers: { contentType: 'image/png' }, metadata: { fresh: 'yes' } } },
        );
        assert.deepEqual(info.headers, { contentType: 'image/png' });
        assert.deepEqual(info.metadata, { fresh: 'yes' });
        assert.equal(info.etag, md5Hex(data));
        assert.ok((await getBytes(b, 'replaced')).equals(data));
      }),
    );

    test('self-copy with REPLACE rewrites metadata only', T, () =>
      withBackend(async (b) => {
        const data = randomBytes(5000);
        const before = await putSource(b, data);
        await new Promise((r) => setTimeout(r, 15));
        const info = await b.copyObject(src, src, {
          replace: { headers: { contentType: 'application/json' }, metadata: { v: '2' } },
        });
        assert.equal(info.etag, before.etag);
        assert.equal(info.size, before.size);
        assert.deepEqual(info.metadata, { v: '2' });
        assert.deepEqual(info.headers, { contentType: 'application/json' });
        assert.ok(info.lastModified.getTime() > before.lastModified.getTime());
        assert.deepEqual(await b.headObject(BUCKET, src.key), info);
        assert.ok((await getBytes(b, src.key)).equals(data));
      }),
    );

    test('missing source, source precondition and destination precondition', T, () =>
      withBackend(async (b, subject) => {
        await rejectsCode(
          b.copyObject({ bucket: BUCKET, key: 'nope' }, { bucket: BUCKET, key: 'd' }, {}),
          'NoSuchKey',
        );
        await rejectsCode(
          b.copyObject({ bucket: 'no-bucket', key: 'x' }, { bucket: BUCKET, key: 'd' }, {}),
          'NoSuchBucket',
        );
        const source = await putSource(b, Buffer.from('source bytes'));
        await put(b, 'dst', 'old dst');
        let seenSource: ObjectInfo | undefined;
        await rejectsCode(
          b.copyObject(
            src,
            { bucket: BUCKET, key: 'dst' },
            {
              sourcePrecondition: (s) => {
                seenSource = s;
                throw new S3Error('PreconditionFailed');
              },
            },
          ),
          'PreconditionFailed',
        );
        assert.equal(seenSource?.etag, source.etag);
        await rejectsCode(
          b.copyObject(
            src,
            { bucket: BUCKET, key: 'dst' },
            {
              precondition: (cur) => {
                assert.equal(cur?.etag, md5Hex('old dst'));
                throw new S3Error('PreconditionFailed');
              },
            },
          ),
          'PreconditionFailed',
        );
        assert.equal((await getBytes(b, 'dst')).toString(), 'old dst');
        await assertNoLeftovers(subject);
      }),
    );
  });

  describe('concurrency', () => {
    test('concurrent puts to one key end with one complete object', T, () =>
      withBackend(async (b) => {
        const bodies = Array.from({ length: 8 }, () => randomBytes(256 * 1024));
        await Promise.all(bodies.map((data) => put(b, 'race/key', data)));
        const got = await getBytes(b, 'race/key');
        const winner = bodies.find((d) => d.equals(got));
        assert.ok(winner, 'the object is one of the bodies, whole');
        const head = await b.headObject(BUCKET, 'race/key');
        assert.equal(head.etag, md5Hex(winner));
        assert.equal(head.size, winner.length);
        assert.deepEqual((await listAll(b, BUCKET, {})).keys, ['race/key']);
      }),
    );

    test('concurrent writes of a key and keys below it all land', T, () =>
      withBackend(async (b) => {
        const keys = ['n', 'n/1', 'n/2', 'n/1/x', 'n/', 'n//z', 'n/2/y/z'];
        for (let round = 0; round < 3; round++) {
          await Promise.all(keys.map((k) => put(b, k, `${k}#${round}`)));
          for (const k of keys) assert.equal((await getBytes(b, k)).toString(), `${k}#${round}`, k);
          await Promise.all(keys.filter((_, i) => i % 2 === round % 2).map((k) => b.deleteObject(BUCKET, k)));
        }
      }),
    );

    test('a read racing overwrites gets a consistent object', T, () =>
      withBackend(async (b) => {
        const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(50_000 + i * 1000, i));
        await put(b, 'rw', bodies[0]!);
        const writes = Promise.all(bodies.map((d) => put(b, 'rw', d)));
        for (let i = 0; i < 10; i++) {
          const { info, body } = await b.getObject(BUCKET, 'rw');
          const bytes = await readAll(body);
          assert.equal(bytes.length, info.size);
          assert.equal(md5Hex(bytes), info.etag);
        }
        await writes;
      }),
    );
  });
}
