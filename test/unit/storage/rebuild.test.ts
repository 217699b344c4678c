/**
 * `cache rebuild` at the backend level: files added, changed, moved and removed behind the
 * server's back are brought into the index; names s3local never writes are ignored; batches and
 * concurrency do not change the outcome. Also the store lock that keeps a rebuild and a server
 * (or two opens) apart.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { S3Error } from '../../../src/s3/errors.js';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { readIndexStats } from '../../../src/storage/local/rebuild.js';
import { StoreLockedError } from '../../../src/storage/local/store-lock.js';
import { md5Hex } from '../../helpers/body.js';
import { closeTempStore, getText, openTempStore, putText } from '../../helpers/local-store.js';

let root: string;
let data: string;
let backend: LocalBackend;

const put = (key: string, content: string, bucket = 'bkt') => putText(backend, bucket, key, content);

async function list(bucket = 'bkt'): Promise<Array<{ key: string; etag: string; size: number }>> {
  const page = await backend.listObjects(bucket, { prefix: '', delimiter: '', after: '', maxKeys: 1000 });
  return page.objects.map((o) => ({ key: o.key, etag: o.etag, size: o.size }));
}

const get = (key: string, bucket = 'bkt') => getText(backend, bucket, key);

/** Writes a file under the bucket directory, creating parents. */
async function outside(rel: string, content: string, bucket = 'bkt'): Promise<void> {
  const abs = join(data, bucket, rel);
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
}

/** Where the odd keys of the first test live. */
const ON_DISK: Record<string, string> = {
  k: 'k/.s3local-self',
  'm/n': 'm/.s3local-moving/n',
  'dir/': 'dir/.s3local-empty',
  'x//y': 'x/.s3local-empty/y',
  '.s3local-z': '.s3local-esc.s3local-z',
};

describe('cache rebuild (backend)', () => {
  beforeEach(async () => {
    ({ root, data, backend } = await openTempStore('s3local-rebuild-'));
  });

  afterEach(() => closeTempStore({ root, backend }));

  test('indexes files written behind the server, mapping paths back to keys', async () => {
    await outside('plain.txt', 'p');
    await outside('a/b/c.txt', 'abc');
    await outside('dir/.s3local-empty', ''); // folder marker `dir/`
    await outside('x/.s3local-empty/y', 'xy'); // `x//y`
    await outside('.s3local-esc.s3local-z', 'z'); // key `.s3local-z`
    await outside('k/.s3local-self', 'self'); // key `k` while `k/child` exists
    await outside('k/child', 'child');
    await outside('m/.s3local-moving/n', 'moving'); // key `m/n`, caught mid-move
    await outside('.s3local-stray', 'not an object');
    await outside('q/.s3local-foo/r', 'not an object either');
    const r = await backend.rebuildIndex();
    assert.equal(r.added, 8);
    assert.equal(r.ignored, 2);
    assert.equal(r.removed, 0);
    assert.equal(r.files, 8);
    assert.deepEqual(r.buckets, ['bkt']);
    const keys = (await list()).map((o) => o.key);
    assert.deepEqual(keys, ['.s3local-z', 'a/b/c.txt', 'dir/', 'k', 'k/child', 'm/n', 'plain.txt', 'x//y']);
    for (const [key, content] of [
      ['a/b/c.txt', 'abc'],
      ['dir/', ''],
      ['x//y', 'xy'],
      ['.s3local-z', 'z'],
      ['k', 'self'],
      ['m/n', 'moving'],
    ] as const) {
      assert.equal(await get(key), content, key);
      const info = await backend.headObject('bkt', key);
      assert.equal(info.etag, md5Hex(content), key);
      const st = await stat(join(data, 'bkt', ON_DISK[key] ?? key));
      // LastModified is the file's mtime (ms).
      assert.equal(info.lastModified.getTime(), Math.floor(st.mtimeMs), key);
    }
    // A second run finds nothing to do.
    const again = await backend.rebuildIndex();
    assert.deepEqual(
      { added: again.added, updated: again.updated, removed: again.removed, unchanged: again.unchanged },
      { added: 0, updated: 0, removed: 0, unchanged: 8 },
    );
  });

  test('re-hashes changed files keeping headers and metadata, drops rows of removed files', async () => {
    await put('keep', 'same');
    await put('grow', 'v1');
    await put('touch', 'same-size');
    await put('gone', 'bye');
    await writeFile(join(data, 'bkt', 'grow'), 'version 2');
    const later = new Date(Math.floor(Date.now() / 1000) * 1000 + 5000); // whole seconds: exact in ns
    await writeFile(join(data, 'bkt', 'touch'), 'SAME-SIZE');
    await utimes(join(data, 'bkt', 'touch'), later, later);
    await unlink(join(data, 'bkt', 'gone'));
    const r = await backend.rebuildIndex();
    assert.deepEqual(
      { added: r.added, updated: r.updated, removed: r.removed, unchanged: r.unchanged },
      { added: 0, updated: 2, removed: 1, unchanged: 1 },
    );
    assert.deepEqual(await list(), [
      { key: 'grow', etag: md5Hex('version 2'), size: 9 },
      { key: 'keep', etag: md5Hex('same'), size: 4 },
      { key: 'touch', etag: md5Hex('SAME-SIZE'), size: 9 },
    ]);
    const info = await backend.headObject('bkt', 'grow');
    assert.equal(info.headers.contentType, 'text/x');
    assert.deepEqual(info.metadata, { m: '1' });
    assert.equal((await backend.headObject('bkt', 'touch')).lastModified.getTime(), later.getTime());
  });

  test('fixes the path of a file that moved to another place of its key', async () => {
    await put('a', 'object a');
    // As if `a` had been moved aside to make room for `a/b` by hand.
    await mkdir(join(data, 'bkt', '.tmp-move'));
    await rename(join(data, 'bkt', 'a'), join(data, 'bkt', '.tmp-move', 'a'));
    await mkdir(join(data, 'bkt', 'a'));
    await rename(join(data, 'bkt', '.tmp-move', 'a'), join(data, 'bkt', 'a', '.s3local-self'));
    await rm(join(data, 'bkt', '.tmp-move'), { recursive: true });
    const r = await backend.rebuildIndex();
    assert.equal(r.moved, 1);
    assert.equal(r.removed, 0);
    assert.equal(await get('a'), 'object a');
    assert.deepEqual((await backend.headObject('bkt', 'a')).metadata, { m: '1' });
  });

  test('a second file for the same key is reported, not indexed over the first', async () => {
    await put('m/n', 'the object');
    await outside('m/.s3local-moving/n', 'a stray copy');
    const r = await backend.rebuildIndex();
    assert.equal(r.duplicates, 1);
    assert.equal(r.unchanged, 1);
    assert.equal(await get('m/n'), 'the object');
  });

  test('--bucket limits the walk; an unknown bucket is an error', async () => {
    await backend.createBucket('two');
    await outside('one-file', '1');
    await outside('two-file', '2', 'two');
    const r = await backend.rebuildIndex({ bucket: 'two' });
    assert.deepEqual(r.buckets, ['two']);
    assert.equal(r.added, 1);
    assert.deepEqual(await list(), []);
    assert.deepEqual(
      (await list('two')).map((o) => o.key),
      ['two-file'],
    );
    await assert.rejects(backend.rebuildIndex({ bucket: 'nope' }), /no bucket 'nope'/);
  });

  test('small batches and several readers give the same index; progress is reported', async () => {
    const expected: Array<{ key: string; etag: string; size: number }> = [];
    for (let i = 0; i < 57; i++) {
      const key = `d${i % 5}/f${String(i).padStart(3, '0')}`;
      const content = `content ${i} `.repeat(i);
      await outside(key, content);
      expected.push({ key, etag: md5Hex(content), size: Buffer.byteLength(content) });
    }
    expected.sort((a, b) => (a.key < b.key ? -1 : 1));
    const seen: number[] = [];
    let total: number | undefined;
    const r = await backend.rebuildIndex({
      batchSize: 4,
      concurrency: 3,
      countFirst: true,
      onProgress: (p) => {
        if (p.phase === 'scanning') seen.push(p.files);
        total = p.totalFiles ?? total;
      },
    });
    assert.equal(r.added, 57);
    assert.equal(total, 57);
    assert.equal(seen.at(-1), 57);
    assert.deepEqual(await list(), expected);
    // Remove a third: they go, in batches too.
    for (let i = 0; i < 57; i += 3) await unlink(join(data, 'bkt', expected[i]!.key));
    const r2 = await backend.rebuildIndex({ batchSize: 2, concurrency: 2 });
    assert.equal(r2.removed, 19);
    assert.deepEqual(
      await list(),
      expected.filter((_, i) => i % 3 !== 0),
    );
  });

  test('stats read from the index file agree with the listing', async () => {
    await put('a', '12345');
    await put('b', '123');
    await backend.createBucket('empty');
    assert.deepEqual(readIndexStats(join(data, '.s3local', 'index.sqlite')), [
      { name: 'bkt', objects: 2, bytes: 8 },
      { name: 'empty', objects: 0, bytes: 0 },
    ]);
  });

  test('dropIndexRows forgets rows, never files; a rebuild brings them back', async () => {
    await put('a', 'aaa');
    await put('b/c', 'bc');
    assert.equal(backend.dropIndexRows('bkt'), 2);
    assert.deepEqual(await list(), []);
    await assert.rejects(
      backend.headObject('bkt', 'a'),
      (e: unknown) => e instanceof S3Error && e.code === 'NoSuchKey',
    );
    assert.equal((await stat(join(data, 'bkt', 'b', 'c'))).size, 2);
    const r = await backend.rebuildIndex();
    assert.equal(r.added, 2);
    assert.deepEqual(
      (await list()).map((o) => o.key),
      ['a', 'b/c'],
    );
  });

  test('vacuum reports the sizes before and after', async () => {
    for (let i = 0; i < 300; i++) await put(`k${i}`, 'x'.repeat(10));
    backend.dropIndexRows();
    const { before, after } = await backend.vacuumIndex();
    assert.ok(before > 0);
    assert.ok(after < before, `${after} < ${before}`);
  });
});

describe('store lock', () => {
  test('a store open in this process cannot be opened again until it is closed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3local-lock-'));
    try {
      const first = await LocalBackend.open({ path: dir });
      await assert.rejects(LocalBackend.open({ path: dir }), (err: unknown) => {
        assert.ok(err instanceof StoreLockedError);
        assert.equal(err.pid, process.pid);
        assert.equal(err.message, `the store at ${dir} is in use by s3local (pid ${process.pid})`);
        return true;
      });
      await first.close();
      const second = await LocalBackend.open({ path: dir });
      await second.close();
      assert.equal((await stat(join(dir, '.s3local', 'lock'))).mode & 0o777, 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a failed open releases the lock', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3local-lock-'));
    try {
      await mkdir(join(dir, '.s3local'), { recursive: true });
      // An index file that is not a database makes the open fail after the lock was taken.
      await writeFile(join(dir, '.s3local', 'index.sqlite'), 'not a database, definitely not'.repeat(50));
      await assert.rejects(LocalBackend.open({ path: dir }));
      await unlink(join(dir, '.s3local', 'index.sqlite'));
      const b = await LocalBackend.open({ path: dir });
      await b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
