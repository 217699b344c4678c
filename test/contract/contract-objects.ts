/**
 * Storage contract: buckets and single objects.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { bodyFrom, md5Hex, readAll } from '../helpers/body.js';
import {
  BUCKET,
  byteOrder,
  getBytes,
  listAll,
  put,
  rejectsCode,
  T,
  type WithBackend,
} from './contract-helpers.js';

/** Registers these contract tests. */
export function bucketAndObjectContract(withBackend: WithBackend): void {
  describe('buckets', () => {
    test('create, head, list sorted with creation dates', T, () =>
      withBackend(async (b) => {
        const before = Date.now();
        await b.createBucket('zz-last');
        await b.createBucket('aa-first');
        const head = await b.headBucket('aa-first');
        assert.equal(head.name, 'aa-first');
        assert.ok(head.creationDate instanceof Date);
        assert.ok(Math.abs(head.creationDate.getTime() - before) < 60_000);
        const names = (await b.listBuckets()).map((x) => x.name);
        assert.deepEqual(names, [...names].sort(byteOrder));
        for (const n of ['aa-first', BUCKET, 'zz-last']) assert.ok(names.includes(n), n);
      }),
    );

    test('create twice: BucketAlreadyOwnedByYou', T, () =>
      withBackend(async (b) => {
        await rejectsCode(b.createBucket(BUCKET), 'BucketAlreadyOwnedByYou');
      }),
    );

    test('missing bucket: NoSuchBucket everywhere', T, () =>
      withBackend(async (b) => {
        const m = 'no-such-bucket';
        await rejectsCode(b.headBucket(m), 'NoSuchBucket');
        await rejectsCode(b.deleteBucket(m), 'NoSuchBucket');
        await rejectsCode(b.headObject(m, 'k'), 'NoSuchBucket');
        await rejectsCode(b.getObject(m, 'k'), 'NoSuchBucket');
        await rejectsCode(put(b, 'k', 'x', m), 'NoSuchBucket');
        await rejectsCode(b.deleteObject(m, 'k'), 'NoSuchBucket');
        await rejectsCode(
          b.listObjects(m, { prefix: '', delimiter: '', after: '', maxKeys: 10 }),
          'NoSuchBucket',
        );
      }),
    );

    test('delete: BucketNotEmpty, never recursive; empty bucket goes away', T, () =>
      withBackend(async (b) => {
        await put(b, 'deep/er/key', 'data');
        await rejectsCode(b.deleteBucket(BUCKET), 'BucketNotEmpty');
        assert.equal((await getBytes(b, 'deep/er/key')).toString(), 'data');
        await b.deleteObject(BUCKET, 'deep/er/key');
        await b.deleteBucket(BUCKET);
        await rejectsCode(b.headBucket(BUCKET), 'NoSuchBucket');
        assert.ok(!(await b.listBuckets()).some((x) => x.name === BUCKET));
        await b.createBucket(BUCKET); // can be created again, empty
        const page = await b.listObjects(BUCKET, { prefix: '', delimiter: '', after: '', maxKeys: 10 });
        assert.deepEqual(page.objects, []);
      }),
    );
  });

  describe('objects', () => {
    test('put/get/head round trip with headers, metadata, checksums', T, () =>
      withBackend(async (b) => {
        const data = randomBytes(200_000);
        const t0 = Date.now();
        const headers = {
          contentType: 'application/x-test',
          contentEncoding: 'identity',
          contentDisposition: 'attachment; filename="a b.bin"',
          contentLanguage: 'fr',
          cacheControl: 'no-cache',
          expires: 'Wed, 21 Oct 2015 07:28:00 GMT',
        };
        const metadata = { 'first-name': 'Zoë', empty: '' };
        const checksums = { CRC32: 'AAAAAA==', SHA256: Buffer.alloc(32, 7).toString('base64') };
        const info = await b.putObject(BUCKET, 'dir/obj.bin', bodyFrom(data, { checksums }), {
          headers,
          metadata,
          size: data.length,
        });
        assert.equal(info.key, 'dir/obj.bin');
        assert.equal(info.size, data.length);
        assert.equal(info.etag, md5Hex(data));
        assert.deepEqual(info.headers, headers);
        assert.deepEqual(info.metadata, metadata);
        assert.deepEqual(info.checksums, checksums);
        assert.equal(info.checksumType, 'FULL_OBJECT');
        assert.equal(info.storageClass, 'STANDARD');
        assert.ok(
          info.lastModified.getTime() >= t0 - 2000 && info.lastModified.getTime() <= Date.now() + 2000,
        );

        const head = await b.headObject(BUCKET, 'dir/obj.bin');
        assert.deepEqual(head, info);
        const got = await b.getObject(BUCKET, 'dir/obj.bin');
        assert.deepEqual(got.info, info);
        assert.ok((await readAll(got.body)).equals(data));
      }),
    );

    test('no checksums: none reported, no checksum type', T, () =>
      withBackend(async (b) => {
        const info = await put(b, 'plain', 'hello');
        assert.deepEqual(info.checksums, {});
        assert.equal(info.checksumType, undefined);
        assert.equal(info.etag, md5Hex('hello'));
      }),
    );

    test('empty object', T, () =>
      withBackend(async (b) => {
        const info = await put(b, 'empty', Buffer.alloc(0));
        assert.equal(info.size, 0);
        assert.equal(info.etag, 'd41d8cd98f00b204e9800998ecf8427e');
        assert.equal((await getBytes(b, 'empty')).length, 0);
      }),
    );

    test('ranges are inclusive byte offsets', T, () =>
      withBackend(async (b) => {
        const data = randomBytes(300_000);
        await put(b, 'r', data);
        for (const [start, end] of [
          [0, 0],
          [0, 99],
          [299_999, 299_999],
          [1000, 200_000],
          [0, 299_999],
        ] as const) {
          const { info, body } = await b.getObject(BUCKET, 'r', { range: { start, end } });
          assert.equal(info.size, data.length, 'info describes the whole object');
          assert.ok((await readAll(body)).equals(data.subarray(start, end + 1)), `${start}-${end}`);
        }
      }),
    );

    test('overwrite replaces bytes, etag and metadata', T, () =>
      withBackend(async (b) => {
        await b.putObject(BUCKET, 'k', bodyFrom('one'), {
          headers: { contentType: 'text/one' },
          metadata: { a: '1', b: '2' },
        });
        const second = await b.putObject(BUCKET, 'k', bodyFrom('second'), {
          headers: {},
          metadata: { c: '3' },
        });
        const head = await b.headObject(BUCKET, 'k');
        assert.deepEqual(head, second);
        assert.deepEqual(head.metadata, { c: '3' });
        assert.equal(head.headers.contentType, undefined);
        assert.equal(head.etag, md5Hex('second'));
        assert.equal((await getBytes(b, 'k')).toString(), 'second');
      }),
    );

    test('delete; deleting an absent key succeeds', T, () =>
      withBackend(async (b) => {
        await put(b, 'gone/soon', 'x');
        await b.deleteObject(BUCKET, 'gone/soon');
        await rejectsCode(b.headObject(BUCKET, 'gone/soon'), 'NoSuchKey');
        await rejectsCode(b.getObject(BUCKET, 'gone/soon'), 'NoSuchKey');
        await b.deleteObject(BUCKET, 'gone/soon');
        await b.deleteObject(BUCKET, 'never/was');
        const page = await b.listObjects(BUCKET, { prefix: '', delimiter: '', after: '', maxKeys: 10 });
        assert.deepEqual(page.objects, []);
        // A new object in the (possibly pruned) directory still works.
        await put(b, 'gone/again', 'y');
        assert.equal((await getBytes(b, 'gone/again')).toString(), 'y');
      }),
    );

    test('odd keys round-trip byte-exact and list in byte order', T, () =>
      withBackend(async (b) => {
        const long = Array.from({ length: 6 }, (_, i) => String(i).repeat(169)).join('/') + '/xyzw';
        const keys = [
          'with space',
          'plus+sign',
          'percent%2Fencoded%2e%2e',
          'question?hash#amp&eq=',
          'ünïcödé/日本語/файл',
          'emoji/😀/🎉.txt',
          'double//slash',
          'trailing/',
          'a//',
          'tilde~and*star',
          '.dotfile',
          '..dots',
          'a/.hidden/..x/...',
          '.s3local',
          '.s3local-empty',
          'x/.s3local-self',
          'quote"apos\'<lt>&amp;',
          'tab\there',
          long,
        ];
        assert.equal(Buffer.byteLength(long), 1024);
        for (const key of keys) {
          const data = `data of ${key}`;
          const info = await put(b, key, data);
          assert.equal(info.key, key);
          assert.equal((await getBytes(b, key)).toString(), data, key);
          assert.equal((await b.headObject(BUCKET, key)).key, key);
        }
        const listed = await listAll(b, BUCKET, {});
        assert.deepEqual(listed.keys, [...keys].sort(byteOrder));
        await rejectsCode(put(b, long + 'y', 'x'), 'KeyTooLongError');
      }),
    );

    test('keys a and a/b coexist, in both creation orders', T, () =>
      withBackend(async (b) => {
        await put(b, 'a', 'object a');
        await put(b, 'a/b', 'object a/b');
        await put(b, 'c/d', 'object c/d');
        await put(b, 'c', 'object c');
        await put(b, 'e/f/g', 'object e/f/g');
        await put(b, 'e/f', 'object e/f');
        await put(b, 'e', 'object e');
        for (const k of ['a', 'a/b', 'c', 'c/d', 'e', 'e/f', 'e/f/g']) {
          assert.equal((await getBytes(b, k)).toString(), `object ${k}`, k);
          assert.equal((await b.headObject(BUCKET, k)).size, `object ${k}`.length);
        }
        assert.deepEqual((await listAll(b, BUCKET, {})).keys, ['a', 'a/b', 'c', 'c/d', 'e', 'e/f', 'e/f/g']);
        const top = await listAll(b, BUCKET, { delimiter: '/' });
        assert.deepEqual(top.keys, ['a', 'c', 'e']);
        assert.deepEqual(top.prefixes, ['a/', 'c/', 'e/']);
        // Overwrite both sides, delete one side: the other stays.
        await put(b, 'a', 'object a v2');
        await put(b, 'a/b', 'object a/b v2');
        await b.deleteObject(BUCKET, 'a/b');
        assert.equal((await getBytes(b, 'a')).toString(), 'object a v2');
        await b.deleteObject(BUCKET, 'c');
        assert.equal((await getBytes(b, 'c/d')).toString(), 'object c/d');
        await rejectsCode(b.headObject(BUCKET, 'c'), 'NoSuchKey');
        // a/b again after a's directory lost its other children.
        await put(b, 'a/b', 'object a/b v3');
        assert.equal((await getBytes(b, 'a/b')).toString(), 'object a/b v3');
        assert.equal((await getBytes(b, 'a')).toString(), 'object a v2');
      }),
    );

    test('folder marker dir/ with dir/x', T, () =>
      withBackend(async (b) => {
        await put(b, 'dir/', Buffer.alloc(0));
        await put(b, 'dir/x', 'x');
        await put(b, 'dir//y', 'y');
        assert.equal((await b.headObject(BUCKET, 'dir/')).size, 0);
        await rejectsCode(b.headObject(BUCKET, 'dir'), 'NoSuchKey');
        const inside = await listAll(b, BUCKET, { prefix: 'dir/', delimiter: '/' });
        assert.deepEqual(inside.keys, ['dir/', 'dir/x']);
        assert.deepEqual(inside.prefixes, ['dir//']);
        const top = await listAll(b, BUCKET, { delimiter: '/' });
        assert.deepEqual(top.keys, []);
        assert.deepEqual(top.prefixes, ['dir/']);
        await b.deleteObject(BUCKET, 'dir/');
        assert.equal((await getBytes(b, 'dir/x')).toString(), 'x');
        assert.deepEqual((await listAll(b, BUCKET, {})).keys, ['dir//y', 'dir/x']);
      }),
    );
  });
}
