/**
 * Local-backend specifics the contract cannot see: the on-disk layout and modes, the index,
 * recovery at open, and reconciliation with files changed behind the server's back.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { S3Error } from '../../../src/s3/errors.js';
import { SCHEMA_VERSION } from '../../../src/index/migrations.js';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { bodyFrom, md5Hex, readAll } from '../../helpers/body.js';
import { closeTempStore, getText, openTempStore, putText } from '../../helpers/local-store.js';

let root: string;
let data: string;
let backend: LocalBackend;

const put = (key: string, content: string, bucket = 'bkt') => putText(backend, bucket, key, content);

const get = (key: string, bucket = 'bkt') => getText(backend, bucket, key);

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

async function reopen(): Promise<void> {
  await backend.close();
  backend = await LocalBackend.open({ path: data });
}

function mode(st: { mode: number }): number {
  return st.mode & 0o777;
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof S3Error && e.code === code);
}

describe('local backend', () => {
  beforeEach(async () => {
    ({ root, data, backend } = await openTempStore('s3local-local-'));
  });

  afterEach(() => closeTempStore({ root, backend }));

  test('objects are plain files at their key path; dirs 0700, files 0600', async () => {
    await put('a/b/c.txt', 'hello');
    assert.equal(await readFile(join(data, 'bkt', 'a', 'b', 'c.txt'), 'utf8'), 'hello');
    assert.equal(mode(await stat(join(data, 'bkt', 'a', 'b', 'c.txt'))), 0o600);
    for (const dir of ['bkt', 'bkt/a', 'bkt/a/b', '.s3local', '.s3local/tmp', '.s3local/uploads']) {
      assert.equal(mode(await stat(join(data, dir))), 0o700, dir);
    }
    assert.equal(mode(await stat(data)), 0o700);
    assert.equal(mode(await stat(join(data, '.s3local', 'index.sqlite'))), 0o600);
    await backend.copyObject({ bucket: 'bkt', key: 'a/b/c.txt' }, { bucket: 'bkt', key: 'copy' }, {});
    const copy = await stat(join(data, 'bkt', 'copy'));
    assert.equal(mode(copy), 0o600);
    assert.equal(copy.nlink, 1, 'a copy is its own file, not a hard link to the source');
    assert.equal((await stat(join(data, 'bkt', 'a', 'b', 'c.txt'))).nlink, 1);
  });

  test('folder markers, empty segments, reserved names and collisions on disk', async () => {
    await put('dir/', '');
    await put('dir//x', 'x');
    await put('.s3local-evil', 'e');
    await put('a', 'A');
    await put('a/b', 'AB');
    await put('c/d', 'CD');
    await put('c', 'C');
    const bucket = join(data, 'bkt');
    assert.equal(await readFile(join(bucket, 'dir', '.s3local-empty', 'x'), 'utf8'), 'x');
    assert.ok((await stat(join(bucket, 'dir', '.s3local-empty'))).isDirectory());
    // 'dir/' collided with the directory needed by 'dir//x': it moved to its self path.
    assert.equal(await readFile(join(bucket, 'dir', '.s3local-empty', '.s3local-self'), 'utf8'), '');
    assert.equal(await readFile(join(bucket, '.s3local-esc.s3local-evil'), 'utf8'), 'e');
    assert.equal(await readFile(join(bucket, 'a', '.s3local-self'), 'utf8'), 'A');
    assert.equal(await readFile(join(bucket, 'a', 'b'), 'utf8'), 'AB');
    assert.equal(await readFile(join(bucket, 'c', '.s3local-self'), 'utf8'), 'C');
    assert.ok(!(await exists(join(bucket, '.s3local-moving'))), 'no moving dir left behind');
    assert.equal(await get('dir/'), '');
    assert.equal(await get('a'), 'A');
    // Survives a restart (the index holds the path).
    await reopen();
    assert.equal(await get('a'), 'A');
    assert.equal(await get('c'), 'C');
  });

  test('delete removes empty parent directories, never the bucket', async () => {
    await put('p/q/r', 'x');
    await put('p/keep', 'y');
    await backend.deleteObject('bkt', 'p/q/r');
    assert.ok(!(await exists(join(data, 'bkt', 'p', 'q'))));
    assert.ok(await exists(join(data, 'bkt', 'p', 'keep')));
    await backend.deleteObject('bkt', 'p/keep');
    assert.deepEqual(await readdir(join(data, 'bkt')), []);
    await put('solo', 'z');
    await backend.deleteObject('bkt', 'solo');
    assert.ok((await stat(join(data, 'bkt'))).isDirectory());
  });

  test('a key deleted while its file was a directory-colliding object', async () => {
    await put('a/b', 'AB');
    await put('a', 'A');
    await backend.deleteObject('bkt', 'a/b');
    assert.equal(await get('a'), 'A');
    await backend.deleteObject('bkt', 'a');
    assert.deepEqual(await readdir(join(data, 'bkt')), []);
  });

  test('index: schema version, persistence of metadata across reopen', async () => {
    await backend.putObject('bkt', 'k', bodyFrom('v', { checksums: { SHA1: 'abc=' } }), {
      headers: { contentType: 'a/b', cacheControl: 'no-store' },
      metadata: { x: 'y' },
    });
    const before = await backend.headObject('bkt', 'k');
    await reopen();
    assert.deepEqual(await backend.headObject('bkt', 'k'), before);
    await backend.close();
    const db = new Database(join(data, '.s3local', 'index.sqlite'), { readonly: true });
    try {
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const row = db
        .prepare('SELECT path, size, etag FROM objects WHERE bucket = ? AND key = ?')
        .get('bkt', 'k');
      assert.deepEqual(row, { path: 'k', size: 1, etag: md5Hex('v') });
    } finally {
      db.close();
    }
    backend = await LocalBackend.open({ path: data });
  });

  test('an index from a newer s3local is refused', async () => {
    await backend.close();
    const db = new Database(join(data, '.s3local', 'index.sqlite'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(LocalBackend.open({ path: data }), /newer than this s3local supports/);
    const fix = new Database(join(data, '.s3local', 'index.sqlite'));
    fix.pragma(`user_version = ${SCHEMA_VERSION}`);
    fix.close();
    backend = await LocalBackend.open({ path: data });
  });

  test('open removes stale temp files', async () => {
    await writeFile(join(data, '.s3local', 'tmp', 'stale-upload'), 'partial');
    await mkdir(join(data, '.s3local', 'tmp', 'stale-dir'));
    await reopen();
    assert.deepEqual(await readdir(join(data, '.s3local', 'tmp')), []);
  });

  test('open reconciles buckets with the directories on disk', async () => {
    await mkdir(join(data, 'made-by-hand'));
    await mkdir(join(data, 'Not_A_Bucket'));
    await mkdir(join(data, '.hidden'));
    await writeFile(join(data, 'file-not-dir'), 'x');
    await backend.createBucket('doomed');
    await put('k', 'v', 'doomed');
    await rm(join(data, 'doomed'), { recursive: true });
    await reopen();
    assert.deepEqual(
      (await backend.listBuckets()).map((b) => b.name),
      ['bkt', 'made-by-hand'],
    );
    await rejectsCode(backend.headObject('doomed', 'k'), 'NoSuchBucket');
    await backend.createBucket('doomed');
    const page = await backend.listObjects('doomed', { prefix: '', delimiter: '', after: '', maxKeys: 10 });
    assert.deepEqual(page.objects, [], 'rows of a vanished bucket are gone');
  });

  test('a bucket holding files unknown to the index is not empty', async () => {
    await mkdir(join(data, 'bkt', 'sub', 'deeper'), { recursive: true });
    await backend.deleteBucket('bkt'); // only empty directories: deletable
    assert.ok(!(await exists(join(data, 'bkt'))));
    await backend.createBucket('bkt');
    await mkdir(join(data, 'bkt', 'sub'));
    await writeFile(join(data, 'bkt', 'sub', 'stray'), 'x');
    await rejectsCode(backend.deleteBucket('bkt'), 'BucketNotEmpty');
    assert.ok(await exists(join(data, 'bkt', 'sub', 'stray')));
  });

  test('a file removed behind the back: NoSuchKey and the row is dropped', async () => {
    await put('gone', 'x');
    await rm(join(data, 'bkt', 'gone'));
    await rejectsCode(backend.headObject('bkt', 'gone'), 'NoSuchKey');
    const page = await backend.listObjects('bkt', { prefix: '', delimiter: '', after: '', maxKeys: 10 });
    assert.deepEqual(page.objects, []);
    await put('gone2', 'x');
    await rm(join(data, 'bkt', 'gone2'));
    await rejectsCode(backend.getObject('bkt', 'gone2'), 'NoSuchKey');
  });

  test('a file changed behind the back is described as it now is', async () => {
    await put('changed', 'old');
    await new Promise((r) => setTimeout(r, 5));
    await writeFile(join(data, 'bkt', 'changed'), 'new content');
    const head = await backend.headObject('bkt', 'changed');
    assert.equal(head.size, 'new content'.length);
    assert.equal(head.etag, md5Hex('new content'));
    assert.deepEqual(head.checksums, {});
    assert.equal(head.headers.contentType, 'text/x', 'metadata is kept');
    assert.equal(await get('changed'), 'new content');
  });

  test('an interrupted move (crash between steps) is found again', async () => {
    await put('m', 'moving object');
    const bucket = join(data, 'bkt');
    // State after step 1 of a move: the bytes sit in .s3local-moving/, the row still says 'm'.
    await mkdir(join(bucket, '.s3local-moving'));
    await rename(join(bucket, 'm'), join(bucket, '.s3local-moving', 'm'));
    await reopen();
    assert.equal(await get('m'), 'moving object');
    // State after the mkdir and the last rename, before the row update.
    await put('n', 'second');
    await rename(join(bucket, 'n'), join(bucket, 'n.tmp'));
    await mkdir(join(bucket, 'n'));
    await rename(join(bucket, 'n.tmp'), join(bucket, 'n', '.s3local-self'));
    assert.equal(await get('n'), 'second');
    assert.equal((await backend.headObject('bkt', 'n')).etag, md5Hex('second'));
    // Putting a key below the moved object still works.
    await put('m/child', 'c');
    assert.equal(await get('m'), 'moving object');
  });

  test('per-segment limit: 255 bytes accepted, 256 refused with KeyTooLongError', async () => {
    await put('d/' + 'x'.repeat(255), 'ok');
    await rejectsCode(put('d/' + 'x'.repeat(256), 'no'), 'KeyTooLongError');
  });

  test('destroyed GET bodies release their file handles', async () => {
    if (process.platform !== 'linux') return; // counts /proc/self/fd
    await put('big', 'x'.repeat(3 << 20));
    const count = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
    const before = await count();
    for (let i = 0; i < 20; i++) {
      const { body } = await backend.getObject('bkt', 'big');
      body.destroy();
    }
    for (let i = 0; i < 20; i++) {
      const { body } = await backend.getObject('bkt', 'big', { range: { start: 10, end: 20 } });
      await readAll(body);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.ok((await count()) <= before + 2, `${await count()} fds open, ${before} before`);
  });

  test('a GET aborted by its signal ends its body', async () => {
    await put('abortme', 'y'.repeat(5 << 20));
    const ac = new AbortController();
    const { body } = await backend.getObject('bkt', 'abortme', { signal: ac.signal });
    ac.abort();
    await assert.rejects(readAll(body), (e: Error) => e.name === 'AbortError');
  });
});
