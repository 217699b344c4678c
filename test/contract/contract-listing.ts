/**
 * Storage contract: listings.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { md5Hex } from '../helpers/body.js';
import { BUCKET, byteOrder, listAll, pool, put, T, type WithBackend } from './contract-helpers.js';

/** Registers these contract tests. */
export function listingContract(withBackend: WithBackend): void {
  describe('listing', () => {
    const tree = [
      'photos/2023/jan/a.jpg',
      'photos/2023/jan/b.jpg',
      'photos/2023/feb/c.jpg',
      'photos/2024/d.jpg',
      'photos/e.jpg',
      'photos.txt',
      'readme',
      'video/x.mp4',
    ];

    test('with and without delimiter, prefixes at several depths', T, () =>
      withBackend(async (b) => {
        for (const k of tree) await put(b, k, k);
        const all = await b.listObjects(BUCKET, { prefix: '', delimiter: '', after: '', maxKeys: 1000 });
        assert.deepEqual(
          all.objects.map((o) => o.key),
          [...tree].sort(byteOrder),
        );
        assert.equal(all.isTruncated, false);
        assert.equal(all.objects[0]!.etag, md5Hex(all.objects[0]!.key));
        const cases: [string, string, string[], string[]][] = [
          ['', '/', ['photos.txt', 'readme'], ['photos/', 'video/']],
          ['photos', '/', ['photos.txt'], ['photos/']],
          ['photos/', '/', ['photos/e.jpg'], ['photos/2023/', 'photos/2024/']],
          ['photos/2023/', '/', [], ['photos/2023/feb/', 'photos/2023/jan/']],
          ['photos/2023/jan/', '/', ['photos/2023/jan/a.jpg', 'photos/2023/jan/b.jpg'], []],
          ['photos/20', '/', [], ['photos/2023/', 'photos/2024/']],
          [
            'photos/2023/',
            '',
            ['photos/2023/feb/c.jpg', 'photos/2023/jan/a.jpg', 'photos/2023/jan/b.jpg'],
            [],
          ],
          ['nothing', '/', [], []],
          [
            '',
            '.',
            ['readme'],
            [
              'photos.',
              'photos/2023/feb/c.',
              'photos/2023/jan/a.',
              'photos/2023/jan/b.',
              'photos/2024/d.',
              'photos/e.',
              'video/x.',
            ],
          ],
          ['photos/', '20', ['photos/e.jpg'], ['photos/20']],
        ];
        for (const [prefix, delimiter, keys, prefixes] of cases) {
          const page = await b.listObjects(BUCKET, { prefix, delimiter, after: '', maxKeys: 1000 });
          const what = `prefix=${prefix} delimiter=${delimiter}`;
          assert.deepEqual(
            page.objects.map((o) => o.key),
            keys,
            what,
          );
          assert.deepEqual(page.commonPrefixes, prefixes, what);
          assert.equal(page.isTruncated, false, what);
        }
      }),
    );

    test('pagination over 2,500 keys: no dupes, no gaps, byte order', T, () =>
      withBackend(async (b) => {
        const keys: string[] = [];
        for (let i = 0; i < 2400; i++) keys.push(`k/${String(i).padStart(4, '0')}`);
        for (let i = 0; i < 25; i++) {
          keys.push(`k/é${i}`, `k/😀${i}`, `k/\uFFFD${i}`, `k/Z${i}`);
        }
        await pool(keys, 8, (k) => put(b, k, 'x'));
        const expected = [...keys].sort(byteOrder);
        for (const maxKeys of [1000, 333]) {
          const { keys: got, pages } = await listAll(b, BUCKET, { prefix: 'k/', maxKeys });
          assert.equal(got.length, keys.length);
          assert.equal(new Set(got).size, got.length, 'duplicates');
          assert.deepEqual(got, expected);
          assert.equal(pages, Math.ceil(keys.length / maxKeys));
        }
        // Starting after an arbitrary key that does not exist.
        const page = await b.listObjects(BUCKET, {
          prefix: '',
          delimiter: '',
          after: 'k/1000x',
          maxKeys: 2,
        });
        assert.deepEqual(
          page.objects.map((o) => o.key),
          ['k/1001', 'k/1002'],
        );
        assert.equal(page.nextAfter, 'k/1002');
      }),
    );

    test('maxKeys 0: empty page, truncated iff something matches', T, () =>
      withBackend(async (b) => {
        await put(b, 'm/1', 'x');
        const some = await b.listObjects(BUCKET, { prefix: 'm/', delimiter: '/', after: '', maxKeys: 0 });
        assert.deepEqual(some.objects, []);
        assert.deepEqual(some.commonPrefixes, []);
        assert.equal(some.isTruncated, true);
        const none = await b.listObjects(BUCKET, { prefix: 'n/', delimiter: '', after: '', maxKeys: 0 });
        assert.equal(none.isTruncated, false);
        const past = await b.listObjects(BUCKET, { prefix: 'm/', delimiter: '', after: 'm/1', maxKeys: 0 });
        assert.equal(past.isTruncated, false);
      }),
    );

    test('exact page: not truncated when nothing remains', T, () =>
      withBackend(async (b) => {
        for (const k of ['p/1', 'p/2', 'q/1']) await put(b, k, 'x');
        const page = await b.listObjects(BUCKET, { prefix: 'p/', delimiter: '', after: '', maxKeys: 2 });
        assert.equal(page.objects.length, 2);
        assert.equal(page.isTruncated, false);
        const top = await b.listObjects(BUCKET, { prefix: '', delimiter: '/', after: '', maxKeys: 2 });
        assert.deepEqual(top.commonPrefixes, ['p/', 'q/']);
        assert.equal(top.isTruncated, false);
      }),
    );

    test('common prefixes count toward maxKeys and never repeat across pages', T, () =>
      withBackend(async (b) => {
        const keys: string[] = [];
        for (let i = 0; i < 7; i++) {
          for (let j = 0; j < 4; j++) keys.push(`d${i}/f${j}`);
          keys.push(`f${i}`);
        }
        await pool(keys, 8, (k) => put(b, k, 'x'));
        const expectedPrefixes = Array.from({ length: 7 }, (_, i) => `d${i}/`);
        const expectedKeys = Array.from({ length: 7 }, (_, i) => `f${i}`);
        for (const maxKeys of [1, 2, 3, 5, 1000]) {
          const { keys: got, prefixes, pages } = await listAll(b, BUCKET, { delimiter: '/', maxKeys });
          assert.deepEqual(prefixes, expectedPrefixes, `maxKeys=${maxKeys}`);
          assert.deepEqual(got, expectedKeys, `maxKeys=${maxKeys}`);
          assert.equal(pages, Math.ceil(14 / maxKeys), `maxKeys=${maxKeys}`);
        }
        // A common prefix as `after` skips everything under it.
        const page = await b.listObjects(BUCKET, { prefix: '', delimiter: '/', after: 'd3/', maxKeys: 2 });
        assert.deepEqual(page.commonPrefixes, ['d4/', 'd5/']);
        assert.equal(page.nextAfter, 'd5/');
        assert.equal(page.isTruncated, true);
        const within = await b.listObjects(BUCKET, {
          prefix: 'd1/',
          delimiter: '/',
          after: 'd1/f1',
          maxKeys: 10,
        });
        assert.deepEqual(
          within.objects.map((o) => o.key),
          ['d1/f2', 'd1/f3'],
        );
      }),
    );

    test('unicode versus ASCII sorts by UTF-8 bytes', T, () =>
      withBackend(async (b) => {
        const keys = ['a', 'B', 'z', '~', 'é', 'ÿ', 'Ā', '中', '\uFFFD', '😀', '𝄞', 'a😀', 'a\uFFFD'];
        for (const k of keys) await put(b, k, 'x');
        const { keys: got } = await listAll(b, BUCKET, { maxKeys: 4 });
        assert.deepEqual(got, [...keys].sort(byteOrder));
        assert.ok(got.indexOf('😀') > got.indexOf('\uFFFD'), 'astral after U+FFFD in UTF-8 order');
        const prefixed = await listAll(b, BUCKET, { prefix: 'a' });
        assert.deepEqual(prefixed.keys, ['a', 'a\uFFFD', 'a😀']);
      }),
    );
  });
}
