/**
 * Crash recovery at open, deterministically: the states a kill -9 can leave in the middle of a
 * PUT (before or after the rename), a DELETE (before or after the unlink) and a move aside are
 * built by hand — files plus the write journal's intents — and the store is reopened. The random
 * SIGKILL loop against a real server is test/crash/.
 */
import assert from 'node:assert/strict';
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { openIndexDatabase } from '../../../src/index/index-db.js';
import type { ObjectRow } from '../../../src/index/object-index.js';
import { WriteJournal } from '../../../src/index/write-journal.js';
import { S3Error } from '../../../src/s3/errors.js';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { bodyFrom, md5Hex, readAll } from '../../helpers/body.js';

let root: string;
let data: string;

const isCode = (code: string) => (e: unknown) => e instanceof S3Error && e.code === code;

async function withStore<T>(fn: (b: LocalBackend) => Promise<T>): Promise<T> {
  const b = await LocalBackend.open({ path: data });
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

async function put(b: LocalBackend, key: string, content: string): Promise<void> {
  await b.putObject('bkt', key, bodyFrom(content), { headers: { contentType: 'text/old' }, metadata: {} });
}

async function read(b: LocalBackend, key: string): Promise<string> {
  return (await readAll((await b.getObject('bkt', key)).body)).toString();
}

/** Writes `content` at `abs` as a write would (a file of its own), returns what the intent records. */
async function staged(abs: string, content: string): Promise<{ ino: bigint; row: ObjectRow }> {
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
  const st = await stat(abs, { bigint: true });
  return {
    ino: st.ino,
    row: {
      bucket: 'bkt',
      key: '',
      path: '',
      size: Number(st.size),
      etag: md5Hex(content),
      mtimeNs: st.mtimeNs,
      lastModified: 1_700_000_000_000,
      headers: JSON.stringify({ contentType: 'text/new' }),
      metadata: JSON.stringify({ written: 'by the crashed put' }),
      checksums: '{}',
      checksumType: null,
      parts: null,
    },
  };
}

/** Records intents in the closed store's journal, as the crashed process had. */
function journal(fn: (j: WriteJournal) => void): void {
  const db = openIndexDatabase(join(data, '.s3local', 'index.sqlite'));
  try {
    fn(new WriteJournal(db));
  } finally {
    db.close();
  }
}

function journalLeft(): number {
  const db = openIndexDatabase(join(data, '.s3local', 'index.sqlite'));
  try {
    return new WriteJournal(db).entries().length;
  } finally {
    db.close();
  }
}

describe('recovery of writes in flight at a crash', () => {
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 's3local-recovery-'));
    data = join(root, 'data');
    await withStore((b) => b.createBucket('bkt'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('PUT of a new key, killed after the rename: the recorded row is committed', async () => {
    const { ino, row } = await staged(join(data, 'bkt', 'dir', 'new'), 'new bytes');
    journal((j) => j.beginPut('bkt', 'dir/new', ino, { ...row, key: 'dir/new' }));
    await withStore(async (b) => {
      const info = await b.headObject('bkt', 'dir/new');
      assert.equal(info.etag, md5Hex('new bytes'));
      assert.equal(info.headers.contentType, 'text/new');
      assert.deepEqual(info.metadata, { written: 'by the crashed put' });
      assert.equal(await read(b, 'dir/new'), 'new bytes');
    });
    assert.equal(journalLeft(), 0);
  });

  test('PUT over a key, killed before the rename: the old object stays, even with the same size and mtime', async () => {
    await withStore((b) => put(b, 'k', 'old!'));
    const tmp = join(data, '.s3local', 'tmp', 'crashed-upload');
    const { ino, row } = await staged(tmp, 'new!');
    // Same size, and the same mtime as the old file (a coarse file system clock): only the inode differs.
    const t = Math.floor(Date.now() / 1000) - 10;
    await utimes(join(data, 'bkt', 'k'), t, t);
    await utimes(tmp, t, t);
    const again = await stat(tmp, { bigint: true });
    assert.equal((await stat(join(data, 'bkt', 'k'), { bigint: true })).mtimeNs, again.mtimeNs);
    journal((j) => j.beginPut('bkt', 'k', ino, { ...row, key: 'k', mtimeNs: again.mtimeNs }));
    await withStore(async (b) => {
      assert.equal(await read(b, 'k'), 'old!');
      const info = await b.headObject('bkt', 'k');
      assert.equal(info.etag, md5Hex('old!'));
      assert.equal(info.headers.contentType, 'text/old');
    });
    assert.deepEqual(await readdir(join(data, '.s3local', 'tmp')), []);
    assert.equal(journalLeft(), 0);
  });

  test('PUT over a key, killed after the rename: the new object, with its metadata', async () => {
    await withStore((b) => put(b, 'k', 'old'));
    const tmp = join(data, '.s3local', 'tmp', 'crashed-upload');
    const { ino, row } = await staged(tmp, 'the new version');
    journal((j) => j.beginPut('bkt', 'k', ino, { ...row, key: 'k' }));
    await rename(tmp, join(data, 'bkt', 'k'));
    await withStore(async (b) => {
      assert.equal(await read(b, 'k'), 'the new version');
      const info = await b.headObject('bkt', 'k');
      assert.equal(info.etag, md5Hex('the new version'));
      assert.equal(info.headers.contentType, 'text/new');
      const page = await b.listObjects('bkt', { prefix: '', delimiter: '', after: '', maxKeys: 10 });
      assert.deepEqual(
        page.objects.map((o) => [o.key, o.etag]),
        [['k', md5Hex('the new version')]],
      );
    });
  });

  test('DELETE killed after the unlink: the row goes', async () => {
    await withStore((b) => put(b, 'gone', 'x'));
    journal((j) => j.beginDelete('bkt', 'gone'));
    await unlink(join(data, 'bkt', 'gone'));
    await withStore(async (b) => {
      await assert.rejects(b.headObject('bkt', 'gone'), isCode('NoSuchKey'));
      const page = await b.listObjects('bkt', { prefix: '', delimiter: '', after: '', maxKeys: 10 });
      assert.deepEqual(page.objects, []);
    });
    assert.equal(journalLeft(), 0);
  });

  test('DELETE killed before the unlink: the object stays whole', async () => {
    await withStore((b) => put(b, 'stays', 'still here'));
    journal((j) => j.beginDelete('bkt', 'stays'));
    await withStore(async (b) => {
      assert.equal(await read(b, 'stays'), 'still here');
    });
    assert.equal(journalLeft(), 0);
  });

  for (const step of ['after step 1 (in .s3local-moving)', 'after step 2 (directory created)'] as const) {
    test(`a move aside killed ${step}: the object is found and put in place`, async () => {
      await withStore((b) => put(b, 'a', 'object a'));
      // PUT a/b had begun: it moves `a` aside to make the directory `a`.
      const tmp = join(data, '.s3local', 'tmp', 'crashed-upload');
      const { ino, row } = await staged(tmp, 'object a/b');
      journal((j) => j.beginPut('bkt', 'a/b', ino, { ...row, key: 'a/b' }));
      await mkdir(join(data, 'bkt', '.s3local-moving'));
      await rename(join(data, 'bkt', 'a'), join(data, 'bkt', '.s3local-moving', 'a'));
      if (step.startsWith('after step 2')) await mkdir(join(data, 'bkt', 'a'));
      await withStore(async (b) => {
        assert.equal(await read(b, 'a'), 'object a');
        await assert.rejects(b.headObject('bkt', 'a/b'), isCode('NoSuchKey'));
      });
      // The move was finished or undone, and the moving directory removed.
      const names = await readdir(join(data, 'bkt'));
      assert.ok(!names.includes('.s3local-moving'), names.join(','));
      const where = step.startsWith('after step 2') ? join('a', '.s3local-self') : 'a';
      assert.equal(await readFile(join(data, 'bkt', where), 'utf8'), 'object a');
      await withStore(async (b) => {
        // And the key's place is right for later writes: a/b can now be written.
        await put(b, 'a/b', 'object a/b');
        assert.equal(await read(b, 'a'), 'object a');
        assert.equal(await read(b, 'a/b'), 'object a/b');
      });
    });
  }

  test('a PUT whose bucket vanished meanwhile leaves no orphan', async () => {
    await withStore((b) => b.createBucket('doomed'));
    const { ino, row } = await staged(join(data, 'doomed', 'k'), 'orphan?');
    journal((j) => j.beginPut('doomed', 'k', ino, { ...row, bucket: 'doomed', key: 'k' }));
    await rm(join(data, 'doomed'), { recursive: true });
    await withStore(async (b) => {
      await assert.rejects(b.headBucket('doomed'), isCode('NoSuchBucket'));
    });
    assert.equal(await lstat(join(data, 'doomed')).catch(() => undefined), undefined);
    assert.equal(journalLeft(), 0);
  });

  test('writes that completed leave no intent behind', async () => {
    await withStore(async (b) => {
      await put(b, 'x', '1');
      await put(b, 'x', '22');
      await put(b, 'x/y', '3'); // moves x aside
      await b.copyObject({ bucket: 'bkt', key: 'x/y' }, { bucket: 'bkt', key: 'z' }, {});
      await b.deleteObject('bkt', 'x');
      await b.deleteObject('bkt', 'never-there');
    });
    assert.equal(journalLeft(), 0);
  });
});
