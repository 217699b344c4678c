import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { S3Error } from '../../../src/s3/errors.js';
import {
  BACKSLASH_SEPARATES,
  candidatePaths,
  decodeSegment,
  encodeSegment,
  keyToPath,
  movingPath,
  pathToKey,
  selfPath,
  validateKey,
} from '../../../src/storage/local/key-path.js';

function refused(key: string, code: string, messagePart?: RegExp): S3Error {
  let caught: unknown;
  try {
    keyToPath(key);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof S3Error, `key ${JSON.stringify(key)} should be refused`);
  assert.equal(caught.code, code, JSON.stringify(key));
  if (messagePart) assert.match(caught.message, messagePart);
  return caught;
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('key-path: refusals', () => {
  test('NUL, leading slash, dot segments (and on Windows a backslash): InvalidArgument naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['a\0b', /NUL/],
      ['\0', /NUL/],
      ...(BACKSLASH_SEPARATES
        ? ([
            ['a\\b', /backslash/],
            ['\\..\\x', /backslash/],
          ] as [string, RegExp][])
        : []),
      ['/etc/passwd', /starts with '\/'/],
      ['/', /starts with '\/'/],
      ['.', /'\.' path segment/],
      ['..', /'\.\.' path segment/],
      ['../x', /'\.\.'/],
      ['a/../../x', /'\.\.'/],
      ['a/./b', /'\.'/],
      ['a/..', /'\.\.'/],
      ['a/.', /'\.'/],
      ['x/../', /'\.\.'/],
      ['bad\uD800surrogate', /UTF-8/],
      ['bad\uDC00', /UTF-8/],
    ];
    for (const [key, message] of cases) {
      const err = refused(key, 'InvalidArgument', message);
      assert.equal(err.extra.ArgumentName, 'key');
      assert.equal(err.status, 400);
    }
  });

  test(
    'a backslash is an ordinary key character where it does not separate paths (S3 accepts it)',
    {
      skip: BACKSLASH_SEPARATES && 'on Windows a backslash separates paths and is refused (tested above)',
    },
    () => {
      for (const key of ['my\\key', '..\\..\\etc/passwd', 'dir\\/x']) {
        const path = keyToPath(key);
        assert.equal(pathToKey(path), key, key);
      }
    },
  );

  test('ArgumentValue is the key, control characters shown escaped', () => {
    assert.equal(refused('a/../b', 'InvalidArgument').extra.ArgumentValue, 'a/../b');
    assert.equal(refused('a\0b', 'InvalidArgument').extra.ArgumentValue, 'a\\u0000b');
  });

  test('over 1024 UTF-8 bytes: KeyTooLongError', () => {
    keyToPath('a/'.repeat(511) + 'bc'); // exactly 1024 bytes
    const err = refused('a/'.repeat(511) + 'bcd', 'KeyTooLongError');
    assert.equal(err.extra.Size, '1025');
    assert.equal(err.extra.MaxSizeAllowed, '1024');
    // Bytes, not characters: 342 three-byte characters are 1026 bytes.
    refused('中'.repeat(342), 'KeyTooLongError');
  });

  test('a segment over 255 bytes: KeyTooLongError explaining the file system limit', () => {
    assert.equal(keyToPath('x'.repeat(255)), 'x'.repeat(255));
    refused('x'.repeat(256), 'KeyTooLongError', /255 bytes/);
    refused('dir/' + 'é'.repeat(128), 'KeyTooLongError', /255 bytes/);
    // The escape prefix counts: '.s3local' + 240 chars is 248 bytes, 260 once escaped.
    refused('.s3local' + 'y'.repeat(240), 'KeyTooLongError', /255 bytes/);
  });

  test('paths that would exceed the path length limit: KeyTooLongError', () => {
    // 400 empty segments encode to 400 × 14 bytes.
    refused('a' + '/'.repeat(400), 'KeyTooLongError', /path of \d+ bytes/);
  });

  test('validateKey accepts what keyToPath stores', () => {
    for (const key of ['a', 'a/b', 'dir/', 'a//b', '...', '.x', 'x.', ' ', '%2e%2e%2f', '😀']) {
      validateKey(key);
      keyToPath(key);
    }
  });
});

describe('key-path: encoding', () => {
  test('segments', () => {
    assert.equal(encodeSegment(''), '.s3local-empty');
    assert.equal(encodeSegment('.s3local'), '.s3local-esc.s3local');
    assert.equal(encodeSegment('.s3local-self'), '.s3local-esc.s3local-self');
    assert.equal(encodeSegment('.s3localx'), '.s3local-esc.s3localx');
    assert.equal(encodeSegment('.s3loca'), '.s3loca');
    assert.equal(encodeSegment('s3local'), 's3local');
    assert.equal(encodeSegment('...'), '...');
    assert.equal(decodeSegment('.s3local-empty'), '');
    assert.equal(decodeSegment('.s3local-esc.s3local-empty'), '.s3local-empty');
    assert.equal(decodeSegment('.s3local-escfoo'), undefined, 'non-canonical escape');
    assert.equal(decodeSegment('.s3local-self'), undefined);
    assert.equal(decodeSegment('.s3local-moving'), undefined);
    assert.equal(decodeSegment('..'), undefined);
    assert.equal(decodeSegment(''), undefined);
  });

  test('keys to paths', () => {
    const cases: [string, string][] = [
      ['a', 'a'],
      ['a/b/c.txt', 'a/b/c.txt'],
      ['dir/', 'dir/.s3local-empty'],
      ['a//b', 'a/.s3local-empty/b'],
      ['a//', 'a/.s3local-empty/.s3local-empty'],
      ['.s3local', '.s3local-esc.s3local'],
      ['x/.s3local-self', 'x/.s3local-esc.s3local-self'],
      ['%2e%2e%2fetc', '%2e%2e%2fetc'],
      ['...', '...'],
      ['日本/😀', '日本/😀'],
    ];
    for (const [key, path] of cases) {
      assert.equal(keyToPath(key), path, key);
      assert.equal(pathToKey(path), key, path);
    }
  });

  test('self and moving forms decode to the same key', () => {
    assert.equal(selfPath('a'), 'a/.s3local-self');
    assert.equal(movingPath('a'), '.s3local-moving/a');
    assert.equal(movingPath('x/y/a'), 'x/y/.s3local-moving/a');
    assert.deepEqual(candidatePaths('x/a'), ['x/a', 'x/a/.s3local-self', 'x/.s3local-moving/a']);
    for (const key of ['a', 'x/y/a', 'dir/', 'a//b', '.s3local-z', '😀/é']) {
      const natural = keyToPath(key);
      assert.equal(pathToKey(selfPath(natural)), key);
      assert.equal(pathToKey(movingPath(natural)), key);
    }
  });

  test('paths that are not object paths decode to undefined', () => {
    for (const path of [
      '',
      '.s3local-self',
      '.s3local-moving',
      'a/.s3local-moving',
      'a/.s3local-self/b',
      'a/.s3local-moving/b/c',
      '.s3local-foo',
      'a/.s3local-escfoo',
      'a//b',
      '/a',
      'a/',
      '../x',
      'a/./b',
      ...(BACKSLASH_SEPARATES ? ['a\\b'] : []),
      'x'.repeat(256),
    ]) {
      assert.equal(pathToKey(path), undefined, JSON.stringify(path));
    }
  });
});

describe('key-path: properties over random keys', () => {
  const alphabet = [
    'a',
    'b',
    'Z',
    '/',
    '/',
    '/',
    '.',
    '.',
    '..',
    '.s3local',
    '-esc',
    '-empty',
    '-self',
    ' ',
    '%2e',
    'é',
    '😀',
    '\uFFFD',
    '\\',
    '\0',
    '中',
  ];

  test('every key round-trips through every form, or is refused with InvalidArgument/KeyTooLongError', () => {
    const random = prng(20240611);
    const seen = new Map<string, string>();
    let stored = 0;
    for (let i = 0; i < 20_000; i++) {
      const len = 1 + Math.floor(random() * 12);
      let key = '';
      for (let j = 0; j < len; j++) key += alphabet[Math.floor(random() * alphabet.length)]!;
      let path: string;
      try {
        path = keyToPath(key);
      } catch (err) {
        assert.ok(err instanceof S3Error);
        assert.ok(err.code === 'InvalidArgument' || err.code === 'KeyTooLongError', err.code);
        continue;
      }
      stored++;
      assert.equal(pathToKey(path), key, JSON.stringify(key));
      assert.equal(pathToKey(selfPath(path)), key);
      assert.equal(pathToKey(movingPath(path)), key);
      for (const name of path.split('/')) {
        assert.ok(name !== '' && name !== '.' && name !== '..', `bad name in ${path}`);
        assert.ok(!name.includes('\0'));
        if (BACKSLASH_SEPARATES) assert.ok(!name.includes('\\'));
      }
      const other = seen.get(path);
      assert.ok(
        other === undefined || other === key,
        `${JSON.stringify(key)} and ${JSON.stringify(other)} collide`,
      );
      seen.set(path, key);
    }
    assert.ok(stored > 5000, `only ${stored} random keys were storable`);
  });
});
