import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  collectListPage,
  commonPrefixOf,
  compareUtf8,
  prefixSuccessor,
  type SeekBound,
} from '../../../src/storage/listing.js';

function bytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = [
  'a',
  'b',
  '/',
  '-',
  '~',
  '\u007f',
  'é',
  '\uD7FF',
  '\uE000',
  '\uFFFD',
  '\uFFFF',
  '😀',
  '\u{10FFFF}',
  '𝄞',
];

function randomString(random: () => number, maxLen: number, chars = CHARS): string {
  let s = '';
  const len = Math.floor(random() * (maxLen + 1));
  for (let i = 0; i < len; i++) s += chars[Math.floor(random() * chars.length)]!;
  return s;
}

describe('compareUtf8', () => {
  test('agrees with byte comparison of the UTF-8 encodings', () => {
    const random = prng(1);
    for (let i = 0; i < 20_000; i++) {
      const a = randomString(random, 4);
      const b = random() < 0.3 ? a + randomString(random, 2) : randomString(random, 4);
      assert.equal(
        Math.sign(compareUtf8(a, b)),
        Math.sign(bytes(a, b)),
        `${JSON.stringify(a)} ${JSON.stringify(b)}`,
      );
    }
  });

  test('astral characters sort after U+FFFD (unlike UTF-16 order)', () => {
    assert.ok('😀' < '\uFFFD', 'UTF-16 order differs');
    assert.ok(compareUtf8('😀', '\uFFFD') > 0);
    assert.ok(compareUtf8('a', 'a/') < 0);
    assert.equal(compareUtf8('x', 'x'), 0);
  });
});

describe('prefixSuccessor', () => {
  test('examples', () => {
    assert.equal(prefixSuccessor('a'), 'b');
    assert.equal(prefixSuccessor('dir/'), 'dir0');
    assert.equal(prefixSuccessor('a\u{10FFFF}'), 'b');
    assert.equal(prefixSuccessor('a\u{10FFFF}\u{10FFFF}'), 'b');
    assert.equal(prefixSuccessor('\u{10FFFF}'), undefined);
    assert.equal(prefixSuccessor(''), undefined);
    assert.equal(prefixSuccessor('\uD7FF'), '\uE000');
    assert.equal(prefixSuccessor('\uFFFF'), '\u{10000}');
    assert.equal(prefixSuccessor('x😀'), 'x😁');
  });

  test('bounds exactly the strings that start with the prefix', () => {
    const random = prng(2);
    for (let i = 0; i < 20_000; i++) {
      const p = randomString(random, 3);
      const s = prefixSuccessor(p);
      const t = random() < 0.5 ? p + randomString(random, 3) : randomString(random, 4);
      const inRange = bytes(t, p) >= 0 && (s === undefined || bytes(t, s) < 0);
      assert.equal(
        inRange,
        t.startsWith(p),
        `p=${JSON.stringify(p)} t=${JSON.stringify(t)} s=${JSON.stringify(s)}`,
      );
    }
  });
});

describe('commonPrefixOf', () => {
  test('first delimiter after the prefix', () => {
    assert.equal(commonPrefixOf('a/b/c', '', '/'), 'a/');
    assert.equal(commonPrefixOf('a/b/c', 'a/', '/'), 'a/b/');
    assert.equal(commonPrefixOf('a/b/c', 'a/b/', '/'), undefined);
    assert.equal(commonPrefixOf('a/b', 'a/', ''), undefined);
    assert.equal(commonPrefixOf('xxabyyab', 'x', 'ab'), 'xxab');
    assert.equal(commonPrefixOf('/x', '', '/'), '/');
  });
});

/** An in-memory ordered scan that counts the entries it yields. */
function memoryScan(keys: string[]): {
  scan: Parameters<typeof collectListPage<{ key: string }>>[1];
  read: () => number;
} {
  const sorted = [...keys].sort(bytes).map((key) => ({ key }));
  let read = 0;
  function* scan(from: SeekBound, before: string | undefined, limit: number): Generator<{ key: string }> {
    assert.ok(limit >= 1);
    let n = 0;
    for (const e of sorted) {
      const c = bytes(e.key, from.key);
      if (c < 0 || (c === 0 && !from.inclusive)) continue;
      if (before !== undefined && bytes(e.key, before) >= 0) return;
      if (n++ === limit) return;
      read++;
      yield e;
    }
  }
  return { scan, read: () => read };
}

/** The obvious O(n) listing, for comparison. */
function reference(
  keys: string[],
  opts: { prefix: string; delimiter: string; after: string; maxKeys: number },
): { items: string[]; truncated: boolean } {
  const items: string[] = [];
  for (const key of [...keys].sort(bytes)) {
    if (!key.startsWith(opts.prefix) || bytes(key, opts.after) <= 0) continue;
    const cp = commonPrefixOf(key, opts.prefix, opts.delimiter);
    const item = cp ?? key;
    if (cp !== undefined && cp === opts.after) continue;
    if (items[items.length - 1] !== item) items.push(item);
  }
  return { items: items.slice(0, opts.maxKeys), truncated: items.length > opts.maxKeys };
}

describe('collectListPage', () => {
  test('matches the reference listing on random trees, reading at most one entry past the page', () => {
    const random = prng(3);
    const chars = ['a', 'b', '/', '/', 'é', '😀', '\uFFFD'];
    for (let round = 0; round < 400; round++) {
      const keys = [
        ...new Set(
          Array.from({ length: 1 + Math.floor(random() * 60) }, () => randomString(random, 6, chars)),
        ),
      ].filter((k) => k !== '');
      const { scan, read } = memoryScan(keys);
      const opts = {
        prefix: random() < 0.5 ? '' : randomString(random, 2, chars),
        delimiter: random() < 0.3 ? '' : random() < 0.8 ? '/' : 'b',
        after: random() < 0.5 ? '' : randomString(random, 4, chars),
        maxKeys: Math.floor(random() * 8),
      };
      const page = collectListPage(opts, scan);
      const ref = reference(keys, opts);
      const items = [...page.objects.map((o) => o.key), ...page.commonPrefixes].sort(bytes);
      const what = JSON.stringify({ keys, opts });
      assert.deepEqual(items, ref.items, what);
      assert.equal(page.isTruncated, ref.truncated, what);
      if (page.isTruncated && items.length > 0) assert.equal(page.nextAfter, items[items.length - 1], what);
      assert.ok(read() <= items.length + 1, `read ${read()} entries for a page of ${items.length}: ${what}`);
    }
  });

  test('paging with nextAfter yields the whole listing exactly once', () => {
    const random = prng(4);
    const chars = ['a', 'b', '/', 'é', '😀'];
    for (let round = 0; round < 100; round++) {
      const keys = [...new Set(Array.from({ length: 80 }, () => randomString(random, 6, chars)))].filter(
        (k) => k !== '',
      );
      const prefix = random() < 0.5 ? '' : randomString(random, 1, chars);
      const delimiter = random() < 0.5 ? '' : '/';
      const maxKeys = 1 + Math.floor(random() * 5);
      const all = reference(keys, { prefix, delimiter, after: '', maxKeys: Infinity }).items;
      const { scan } = memoryScan(keys);
      const got: string[] = [];
      let after = '';
      for (let pages = 0; ; pages++) {
        assert.ok(pages <= all.length, 'listing does not end');
        const page = collectListPage({ prefix, delimiter, after, maxKeys }, scan);
        got.push(...[...page.objects.map((o) => o.key), ...page.commonPrefixes].sort(bytes));
        if (!page.isTruncated) break;
        after = page.nextAfter!;
      }
      assert.deepEqual(got, all, JSON.stringify({ keys, prefix, delimiter, maxKeys }));
    }
  });

  test('a common prefix is skipped with one seek, its keys are never read', () => {
    const keys = ['a', ...Array.from({ length: 1000 }, (_, i) => `big/${i}`), 'z'];
    const { scan, read } = memoryScan(keys);
    const page = collectListPage({ prefix: '', delimiter: '/', after: '', maxKeys: 10 }, scan);
    assert.deepEqual(
      page.objects.map((o) => o.key),
      ['a', 'z'],
    );
    assert.deepEqual(page.commonPrefixes, ['big/']);
    assert.ok(read() <= 3, `read ${read()}`);
  });

  test('maxKeys 0', () => {
    const { scan } = memoryScan(['p/1']);
    assert.deepEqual(collectListPage({ prefix: 'p/', delimiter: '', after: '', maxKeys: 0 }, scan), {
      objects: [],
      commonPrefixes: [],
      isTruncated: true,
    });
    assert.equal(
      collectListPage({ prefix: 'q', delimiter: '', after: '', maxKeys: 0 }, scan).isTruncated,
      false,
    );
  });
});
