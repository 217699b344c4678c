/**
 * File system primitives of the local backend: durable temp-file writes, directory fsync,
 * creating and pruning directories inside a bucket directory, error-code helpers.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Error } from '../../s3/errors.js';

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

/**
 * fsyncs a directory so the names created, renamed or removed in it are durable. File systems
 * that cannot fsync a directory (EINVAL, EISDIR, EPERM, EBADF on some platforms) are tolerated.
 */
export async function fsyncDir(path: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } catch (err) {
    const code = errnoOf(err);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF' && code !== 'ENOENT')
      throw err;
  } finally {
    await fh?.close();
  }
}

/** Writes every byte of `buffers` at the current position, looping over short writes. */
async function writeAll(fh: FileHandle, buffers: Uint8Array[]): Promise<void> {
  let list = buffers;
  while (list.length > 0) {
    const { bytesWritten } = list.length === 1 ? await fh.write(list[0]!) : await fh.writev(list);
    if (bytesWritten === 0) throw new Error('write made no progress');
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of list) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    list = rest;
  }
}

/** A Writable over an open FileHandle that never closes it (the owner syncs and closes). */
class FileHandleWriter extends Writable {
  readonly #fh: FileHandle;

  constructor(fh: FileHandle) {
    // Bounded buffering: with writev, chunks arriving during a write are batched into the next.
    super({ highWaterMark: 512 * 1024 });
    this.#fh = fh;
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    writeAll(this.#fh, [chunk]).then(() => cb(), cb);
  }

  override _writev(chunks: { chunk: Uint8Array }[], cb: (err?: Error | null) => void): void {
    writeAll(
      this.#fh,
      chunks.map((c) => c.chunk),
    ).then(() => cb(), cb);
  }
}

/** What {@link writeDurableFile} wrote. */
export interface WrittenFile {
  size: number;
  mtimeNs: bigint;
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
  const fh = await open(path, 'wx', FILE_MODE);
  try {
    await pipeline(source, new FileHandleWriter(fh), signal ? { signal } : {});
    await fh.datasync();
    const st = await fh.stat({ bigint: true });
    await fh.close();
    return { size: Number(st.size), mtimeNs: st.mtimeNs };
  } catch (err) {
    if (!source.destroyed) source.destroy();
    await fh.close().catch(() => undefined);
    await unlinkQuiet(path).catch(() => undefined);
    throw err;
  }
}

/** fsyncs an existing file and returns its size and mtime. */
export async function syncFile(path: string): Promise<WrittenFile> {
  const fh = await open(path, 'r+');
  try {
    await fh.datasync();
    const st = await fh.stat({ bigint: true });
    return { size: Number(st.size), mtimeNs: st.mtimeNs };
  } finally {
    await fh.close();
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

/** MD5 (hex) and size of a file's bytes, streamed. */
export async function hashFile(path: string): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  await pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
      }
    },
  );
  return { md5: hash.digest('hex'), size };
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
