/**
 * File system primitives of the local backend: durable temp-file writes, directory fsync,
 * creating and pruning directories inside a bucket directory, error-code helpers.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  createReadStream,
  fdatasync,
  fstatSync,
  fsync,
  open as openCb,
  openSync,
  write,
} from 'node:fs';
import { mkdir, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { S3Error } from '../../s3/errors.js';
import type { ChecksumAlgorithm } from '../../s3/body.js';
import { createChecksum } from '../../s3/checksums.js';

/** Directory mode for everything s3local creates. */
export const DIR_MODE = 0o700;
/** File mode for everything s3local creates. */
export const FILE_MODE = 0o600;

/** The `code` of a Node system error (ENOENT, ...), or undefined. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

/** Turns "disk full" errors into InsufficientStorage; rethrows the rest unchanged. */
export function mapStorageError(err: unknown): unknown {
  const code = errnoOf(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new S3Error('InsufficientStorage');
  if (code === 'ENAMETOOLONG')
    return new S3Error('KeyTooLongError', 'Your key is too long for the file system.');
  return err;
}

/** Removes a file, ignoring "not there". */
export async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
}

// The write path makes one thread-pool round trip per asynchronous fs call, and on a busy machine
// each one costs the event loop far more than the call itself (a wake-up of a pool thread, a
// context switch, a promise). Calls that can wait for the disk (open with O_CREAT, write,
// fsync) stay asynchronous; calls on a descriptor already open that never wait for the disk
// (fstat, close of a file already synced or of a directory) are made synchronously.
const openFd = promisify(openCb);
const fdatasyncFd = promisify(fdatasync);
const fsyncFd = promisify(fsync);

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing left to release
  }
}

/** Errors of fsync on a directory that file systems which cannot do it answer with. */
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'EISDIR', 'EPERM', 'EBADF', 'ENOENT']);

async function fsyncDirNow(path: string): Promise<void> {
  let fd: number | undefined;
  try {
    // Opening a directory read-only is a name lookup (the directory was just written to).
    fd = openSync(path, fsConstants.O_RDONLY);
    await fsyncFd(fd);
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has(errnoOf(err) ?? '')) throw err;
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

/** Directory fsyncs in progress (`running`) and the one queued behind it (`next`), per path. */
const dirSyncs = new Map<string, { running: Promise<void>; next: Promise<void> | undefined }>();

/**
 * fsyncs a directory so the names created, renamed or removed in it are durable. File systems
 * that cannot fsync a directory (EINVAL, EISDIR, EPERM, EBADF on some platforms) are tolerated.
 *
 * Concurrent calls for the same path share fsyncs: a call resolves after an fsync that *started
 * after the call was made* completed (so it covers every change the caller made before calling).
 * While one fsync runs, every caller that arrives joins a single follow-up fsync.
 */
export function fsyncDir(path: string): Promise<void> {
  const state = dirSyncs.get(path);
  if (state === undefined) {
    const entry = { running: fsyncDirNow(path), next: undefined as Promise<void> | undefined };
    dirSyncs.set(path, entry);
    const settle = () => {
      if (dirSyncs.get(path) === entry && entry.next === undefined) dirSyncs.delete(path);
    };
    entry.running.then(settle, settle);
    return entry.running;
  }
  if (state.next !== undefined) return state.next;
  const next = state.running
    .catch(() => undefined)
    .then(() => {
      state.next = undefined;
      state.running = fsyncDirNow(path);
      const settle = () => {
        if (dirSyncs.get(path) === state && state.next === undefined) dirSyncs.delete(path);
      };
      state.running.then(settle, settle);
      return state.running;
    });
  state.next = next;
  return next;
}

/** Writes every byte of `data` to `fd` at its current position, looping over short writes. */
function writeAll(fd: number, data: Uint8Array, cb: (err?: Error | null) => void): void {
  write(fd, data, 0, data.length, null, (err, written) => {
    if (err) return cb(err);
    if (written === data.length) return cb();
    if (written === 0) return cb(new Error('write made no progress'));
    writeAll(fd, data.subarray(written), cb);
  });
}

/** Bytes gathered before a write to disk is issued (the last write of a file may be smaller). */
export const WRITE_BATCH_BYTES = 1 << 20;

/** A body that fits in this many bytes is written in one piece without being copied. */
const SMALL_BODY_BYTES = 64 * 1024;

/** Batch buffers kept for reuse between writes (and bodies). */
const spareBatches: Buffer[] = [];
const SPARE_BATCHES = 8;

function takeBatch(): Buffer {
  return spareBatches.pop() ?? Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES);
}

function giveBackBatch(buffer: Buffer): void {
  if (spareBatches.length < SPARE_BATCHES) spareBatches.push(buffer);
}

/**
 * A Writable over an open descriptor that never closes it (the owner syncs and closes, after
 * {@link FdWriter.settled}). Pieces are copied into batch buffers of {@link WRITE_BATCH_BYTES}
 * and each full batch is written at once: one thread-pool round trip per MiB instead of one per
 * 16–64 KiB piece, and the pieces themselves die young. (Holding on to them until a batch is
 * written gets them promoted out of V8's young generation; their memory lives outside the heap
 * and is then only freed by full collections, which dominated a large upload's CPU time.) One
 * batch is written while the next gathers; a second full batch waits (back-pressure).
 */
class FdWriter extends Writable {
  readonly #fd: number;
  /** The first pieces, kept as they are while they total at most SMALL_BODY_BYTES. */
  #small: Buffer[] = [];
  #smallBytes = 0;
  /** The batch being gathered, and how much of it is filled. */
  #batch: Buffer | undefined;
  #used = 0;
  /** The write in flight; it never rejects (a failure is kept in #failed). */
  #inflight: Promise<void> | undefined;
  #failed: Error | undefined;

  constructor(fd: number) {
    // Small: the batches are the buffer; past them, pieces wait in the socket, not the heap.
    super({ highWaterMark: 64 * 1024 });
    this.#fd = fd;
  }

  /** Resolves once no write is in flight (the descriptor may then be closed). */
  settled(): Promise<void> {
    return this.#inflight ?? Promise.resolve();
  }

  /** Writes the gathered batch (none may be in flight). */
  #start(): void {
    const batch = this.#batch;
    const used = this.#used;
    this.#batch = undefined;
    this.#used = 0;
    if (batch === undefined) return;
    this.#inflight = new Promise<void>((resolve) => {
      writeAll(this.#fd, batch.subarray(0, used), (err) => {
        if (err) this.#failed ??= err;
        giveBackBatch(batch);
        this.#inflight = undefined;
        resolve();
      });
    });
  }

  #copy(chunk: Buffer, offset: number, cb: (err?: Error | null) => void): void {
    if (this.#batch === undefined && this.#inflight === undefined && offset === 0) {
      // A small body (most PUTs) is written from its own pieces: no batch, no copy.
      if (this.#smallBytes + chunk.length <= SMALL_BODY_BYTES) {
        this.#small.push(chunk);
        this.#smallBytes += chunk.length;
        return cb();
      }
      if (this.#smallBytes > 0) {
        const batch = (this.#batch = takeBatch());
        for (const piece of this.#small) this.#used += piece.copy(batch, this.#used);
        this.#small = [];
        this.#smallBytes = 0;
      }
    }
    let at = offset;
    while (at < chunk.length) {
      if (this.#failed) return cb(this.#failed);
      const batch = (this.#batch ??= takeBatch());
      const n = chunk.copy(batch, this.#used, at);
      this.#used += n;
      at += n;
      if (this.#used < batch.length) continue;
      if (this.#inflight !== undefined) {
        const from = at;
        void this.#inflight.then(() => {
          if (this.#failed) return cb(this.#failed);
          // Destroyed meanwhile: start nothing more (the owner closes the descriptor).
          if (this.destroyed) return cb();
          this.#start();
          this.#copy(chunk, from, cb);
        });
        return;
      }
      this.#start();
    }
    cb();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#copy(chunk, 0, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#smallBytes > 0) {
      const data = this.#small.length === 1 ? this.#small[0]! : Buffer.concat(this.#small);
      this.#small = [];
      this.#smallBytes = 0;
      this.#inflight = new Promise<void>((resolve) => {
        writeAll(this.#fd, data, (err) => {
          this.#inflight = undefined;
          resolve();
          cb(err ?? null);
        });
      });
      return;
    }
    void this.settled().then(async () => {
      if (!this.#failed && !this.destroyed && this.#used > 0) {
        this.#start();
        await this.settled();
      }
      cb(this.#failed ?? null);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // The batch being gathered is in no write: it can serve another body.
    if (this.#batch !== undefined) giveBackBatch(this.#batch);
    this.#batch = undefined;
    this.#used = 0;
    cb(err);
  }
}

/**
 * Pipes `source` into `sink` and resolves once `sink` finished; rejects (destroying `sink`, and
 * leaving `source` to the caller) when either fails, `source` closes before its end, or `signal`
 * aborts. A lighter `stream.pipeline` for the one-source/one-sink case of every PUT: pipeline
 * creates an AbortController per call and a DOMException (with its stack) when it finishes.
 */
function pump(source: Readable, sink: Writable, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const cleanup = (): void => {
      source.off('error', fail);
      source.off('close', onSourceClose);
      sink.off('error', fail);
      sink.off('finish', onFinish);
      signal?.removeEventListener('abort', onAbort);
    };
    function fail(err: unknown): void {
      if (settled) return;
      settled = true;
      cleanup();
      source.unpipe(sink);
      sink.destroy();
      reject(err instanceof Error ? err : new Error(String(err)));
    }
    function onSourceClose(): void {
      if (!source.readableEnded) {
        fail(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      }
    }
    function onFinish(): void {
      if (settled) return;
      settled = true;
      cleanup();
      resolve();
    }
    function onAbort(): void {
      const reason: unknown = signal?.reason;
      fail(
        Object.assign(new Error('The operation was aborted', { cause: reason }), {
          name: 'AbortError',
          code: 'ABORT_ERR',
        }),
      );
    }
    source.on('error', fail);
    source.on('close', onSourceClose);
    sink.on('error', fail);
    sink.on('finish', onFinish);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) {
      onAbort();
      return;
    }
    if (source.errored) {
      fail(source.errored);
      return;
    }
    if (source.destroyed && !source.readableEnded) {
      onSourceClose();
      return;
    }
    source.pipe(sink);
  });
}

/** What {@link writeDurableFile} wrote. */
export interface WrittenFile {
  size: number;
  mtimeNs: bigint;
  /** The file's inode number (what the write journal records for the rename that follows). */
  ino: bigint;
}

/**
 * Streams `source` into a new file `path` (created exclusively, mode 0600) with back-pressure,
 * then fdatasyncs it. On any error — the source failing (even at its very end), `signal`
 * aborting, a write failing — the file is removed and the error rethrown.
 */
export async function writeDurableFile(
  path: string,
  source: Readable,
  signal?: AbortSignal,
): Promise<WrittenFile> {
  signal?.throwIfAborted();
  const fd = await openFd(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, FILE_MODE);
  const writer = new FdWriter(fd);
  let open = true;
  try {
    await pump(source, writer, signal);
    await fdatasyncFd(fd);
    const st = fstatSync(fd, { bigint: true });
    open = false; // released even when close reports an error
    closeSync(fd);
    return { size: Number(st.size), mtimeNs: st.mtimeNs, ino: st.ino };
  } catch (err) {
    if (!source.destroyed) source.destroy();
    // A write may still be in flight on the thread pool: closing now could let it land in
    // whatever file reuses the descriptor number.
    await writer.settled();
    if (open) closeQuietly(fd);
    await unlinkQuiet(path).catch(() => undefined);
    throw err;
  }
}

/** fsyncs an existing file and returns its size, mtime and inode. */
export async function syncFile(path: string): Promise<WrittenFile> {
  const fd = await openFd(path, fsConstants.O_RDWR);
  try {
    await fdatasyncFd(fd);
    const st = fstatSync(fd, { bigint: true });
    return { size: Number(st.size), mtimeNs: st.mtimeNs, ino: st.ino };
  } finally {
    closeQuietly(fd);
  }
}

/** Thrown by {@link mkdirUnder} when a non-directory blocks the way. */
export class PathConflictError extends Error {
  /** Path (relative to the root) of the file that is in the way. */
  readonly relPath: string;

  constructor(relPath: string) {
    super(`a file is in the way at ${relPath}`);
    this.name = 'PathConflictError';
    this.relPath = relPath;
  }
}

/**
 * Creates directory `rel` under `root` (mode 0700) and any missing ancestors below `root`, but
 * never `root` itself: when `root` is gone, throws NoSuchBucket (the bucket was deleted). When a
 * component exists and is not a directory, throws {@link PathConflictError} naming it. Each
 * directory created is made durable (its parent is fsynced).
 */
export async function mkdirUnder(root: string, rel: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(join(root, rel), DIR_MODE);
      // The new directory's name must be durable before anything placed in it is acknowledged.
      await fsyncDir(dirname(join(root, rel)));
      return;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'EEXIST') {
        const st = await stat(join(root, rel)).catch(() => undefined);
        if (st?.isDirectory()) return;
        if (st === undefined && attempt < 8) continue; // removed meanwhile
        throw new PathConflictError(rel);
      }
      if (code === 'ENOENT' && attempt < 8) {
        const parent = dirname(rel);
        if (parent === '.' || parent === '/' || parent === rel) throw new S3Error('NoSuchBucket');
        await mkdirUnder(root, parent);
        continue;
      }
      if (code === 'ENOTDIR') {
        const blocker = await firstNonDirectory(root, rel);
        if (blocker !== undefined) throw new PathConflictError(blocker);
        if (attempt < 8) continue; // resolved meanwhile
      }
      throw err;
    }
  }
}

/**
 * The first ancestor of `rel` (inclusive) under `root` that exists and is not a directory, or
 * undefined when there is none (every existing component is a directory).
 */
export async function firstNonDirectory(root: string, rel: string): Promise<string | undefined> {
  const names = rel.split('/');
  for (let i = 1; i <= names.length; i++) {
    const prefix = names.slice(0, i).join('/');
    let st;
    try {
      st = await stat(join(root, prefix));
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') break;
      if (code === 'ENOTDIR') return names.slice(0, i - 1).join('/');
      throw err;
    }
    if (!st.isDirectory()) return prefix;
  }
  return undefined;
}

/**
 * Removes `relDir` under `root` and then its ancestors while they are empty, stopping below
 * `root`. Best effort: stops at the first directory that is not empty or cannot be removed.
 */
export async function pruneEmptyDirs(root: string, relDir: string): Promise<void> {
  let rel = relDir;
  while (rel !== '.' && rel !== '' && rel !== '/') {
    try {
      await rmdir(join(root, rel));
    } catch {
      return;
    }
    rel = dirname(rel);
  }
}

/**
 * MD5 (hex) and size of a file's bytes, streamed; with `algorithm`, its flexible checksum (base64)
 * too, in the same pass.
 */
export async function hashFile(
  path: string,
  algorithm?: ChecksumAlgorithm,
): Promise<{ md5: string; size: number; checksum?: string }> {
  const hash = createHash('md5');
  const extra = algorithm === undefined ? undefined : createChecksum(algorithm);
  let size = 0;
  await pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        hash.update(chunk);
        extra?.update(chunk);
        size += chunk.length;
      }
    },
  );
  const result: { md5: string; size: number; checksum?: string } = { md5: hash.digest('hex'), size };
  if (extra !== undefined) result.checksum = extra.digest();
  return result;
}

/** True when the directory tree under `dir` holds anything but directories. */
export async function containsFile(dir: string): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false;
    throw err;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) return true;
    if (await containsFile(join(dir, entry.name))) return true;
  }
  return false;
}

/** Removes `dir` and its subdirectories bottom-up, never a file (stops where one appeared). */
export async function removeEmptyTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await removeEmptyTree(join(dir, entry.name));
  }
  await rmdir(dir).catch(() => undefined);
}
