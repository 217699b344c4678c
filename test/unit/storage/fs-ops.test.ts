/**
 * fs-ops write path: writeDurableFile gathers a body's pieces into large writes and still writes
 * every byte in order; a failing or aborted source leaves no file; concurrent fsyncDir calls on one
 * directory share fsyncs, each resolving only after an fsync that started after the call.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fsyncDir, syncFile, writeDurableFile } from '../../../src/storage/local/fs-ops.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3local-fsops-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function pieces(data: Buffer, sizes: readonly number[]): Readable {
  const out: Buffer[] = [];
  for (let pos = 0, i = 0; pos < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return Readable.from(out);
}

describe('writeDurableFile', () => {
  it('writes every byte in order, from pieces of any size, and reports size, mtime and inode', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 12_345);
    const path = join(dir, 'a');
    const written = await writeDurableFile(path, pieces(data, [65_536, 1, 700_001, 333, 16_384]));
    const st = await stat(path, { bigint: true });
    assert.equal(written.size, data.length);
    assert.equal(written.mtimeNs, st.mtimeNs);
    assert.equal(written.ino, st.ino);
    assert.equal(sha(await readFile(path)), sha(data));
  });

  it('writes an empty body and small bodies in one or several pieces', async () => {
    assert.equal((await writeDurableFile(join(dir, 'empty'), Readable.from([]))).size, 0);
    assert.equal((await readFile(join(dir, 'empty'))).length, 0);
    const small = randomBytes(4096);
    await writeDurableFile(join(dir, 'small'), Readable.from([small]));
    assert.deepEqual(await readFile(join(dir, 'small')), small);
    const pieced = randomBytes(60_000);
    await writeDurableFile(join(dir, 'pieced'), pieces(pieced, [1000, 7, 30_000]));
    assert.deepEqual(await readFile(join(dir, 'pieced')), pieced);
    // Just over the small-body size: the pieces kept so far move into a batch.
    const over = randomBytes(64 * 1024 + 1);
    await writeDurableFile(join(dir, 'over'), pieces(over, [40_000]));
    assert.deepEqual(await readFile(join(dir, 'over')), over);
  });

  it('refuses to overwrite an existing file (exclusive create)', async () => {
    await writeDurableFile(join(dir, 'once'), Readable.from([Buffer.from('x')]));
    await assert.rejects(writeDurableFile(join(dir, 'once'), Readable.from([Buffer.from('y')])), {
      code: 'EEXIST',
    });
    assert.equal((await readFile(join(dir, 'once'))).toString(), 'x');
  });

  it('a source that fails after large writes leaves no file and rejects with its error', async () => {
    const source = new PassThrough();
    source.on('error', () => {}); // as the backend does: the error is seen through the write
    const path = join(dir, 'failing');
    const done = writeDurableFile(path, source);
    source.write(randomBytes(2 * 1024 * 1024 + 5));
    setImmediate(() => source.destroy(new Error('digest mismatch at the end')));
    await assert.rejects(done, /digest mismatch at the end/);
    await assert.rejects(stat(path), { code: 'ENOENT' });
  });

  it('a source closed before its end leaves no file', async () => {
    const source = new PassThrough();
    const path = join(dir, 'cut');
    const done = writeDurableFile(path, source);
    source.write(Buffer.alloc(1000));
    setImmediate(() => source.destroy());
    await assert.rejects(done, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    await assert.rejects(stat(path), { code: 'ENOENT' });
  });

  it('an abort signal stops the write, leaves no file and rejects with an AbortError', async () => {
    const source = new PassThrough();
    const controller = new AbortController();
    const path = join(dir, 'aborted');
    const done = writeDurableFile(path, source, controller.signal);
    source.write(Buffer.alloc(300_000));
    setImmediate(() => controller.abort());
    await assert.rejects(done, { name: 'AbortError' });
    assert.equal(source.destroyed, true);
    await assert.rejects(stat(path), { code: 'ENOENT' });
    const already = new AbortController();
    already.abort();
    await assert.rejects(writeDurableFile(join(dir, 'never'), Readable.from([]), already.signal), {
      name: 'AbortError',
    });
    await assert.rejects(stat(join(dir, 'never')), { code: 'ENOENT' });
  });

  it('syncFile reports the size, mtime and inode of an existing file', async () => {
    const path = join(dir, 'small');
    const st = await stat(path, { bigint: true });
    assert.deepEqual(await syncFile(path), { size: 4096, mtimeNs: st.mtimeNs, ino: st.ino });
  });
});

describe('fsyncDir', () => {
  it('resolves for a directory, and tolerates one that is gone', async () => {
    await fsyncDir(dir);
    await fsyncDir(join(dir, 'no-such-directory'));
  });

  it('concurrent calls share fsyncs: the first starts one, the rest join one follow-up', async () => {
    const calls = Array.from({ length: 20 }, () => fsyncDir(dir));
    // Every promise but the first is the same follow-up fsync.
    assert.equal(new Set(calls.slice(1)).size, 1);
    assert.notEqual(calls[0], calls[1]);
    await Promise.all(calls);
    // Once both finished, a new call starts afresh.
    const later = fsyncDir(dir);
    assert.notEqual(later, calls[1]);
    await later;
    assert.deepEqual(await readdir(join(dir)).then((names) => names.includes('a')), true);
  });
});
