/**
 * GetObject and HeadObject of the local backend: the objects row checked against its file before
 * it answers (reconciled on access when they disagree), and reads of one version named by id.
 *
 * A read never takes the key's lock for the current version: the row is read, the file opened and
 * checked against it (size and mtime), and on a mismatch the read waits for the write in flight or
 * reconciles the key. A read naming a version id does take it, briefly (see {@link readVersion}).
 */
import type { BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { addAbortSignal, Readable } from 'node:stream';
import { S3Error } from '../../s3/errors.js';
import type { ObjectIndex, ObjectRow } from '../../index/object-index.js';
import type { VersionIndex } from '../../index/version-index.js';
import type { ByteRange, ObjectInfo, VersionSelector } from '../backend.js';
import type { BucketConfigs } from './bucket-config.js';
import { errnoOf } from './fs-ops.js';
import type { KeyedMutex } from './keyed-mutex.js';
import { reconcileKey, sameFile, type ReconcileContext } from './reconcile.js';
import type { LocalVersioning } from './versioning.js';

/** Errors meaning "there is no regular file at this path". */
export const MISSING: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** What reads need of the local backend. */
export interface ReadContext {
  index: ObjectIndex;
  versions: VersionIndex;
  configs: BucketConfigs;
  versioning: LocalVersioning;
  locks: KeyedMutex;
  lockName(bucket: string, key: string): string;
  /** Absolute path of `rel`, a path relative to the bucket directory. */
  abs(bucket: string, rel: string): string;
  /** On-access reconciliation of an unversioned key (reconcile.ts). */
  reconcile: ReconcileContext;
}

/** Options of {@link getObject}. */
export type GetOptions = { range?: ByteRange; signal?: AbortSignal } & VersionSelector;

/** What versioning.ts `findVersion` answers: the current row, or a noncurrent version's record. */
export type FoundVersion = ReturnType<LocalVersioning['findVersion']>;

/**
 * In a bucket ever versioned, or with a version id: the version asked for (versioning.ts
 * findVersion: NoSuchKey with delete marker headers, NoSuchVersion, MethodNotAllowed); else
 * undefined (the plain path answers).
 */
export function findVersion(
  ctx: ReadContext,
  bucket: string,
  key: string,
  opts: VersionSelector,
): FoundVersion | undefined {
  if (opts.versionId === undefined && !ctx.configs.isVersioned(bucket)) return undefined;
  return ctx.versioning.findVersion(bucket, key, opts);
}

/** HeadObject; the bucket was checked by the caller. */
export async function headObject(
  ctx: ReadContext,
  bucket: string,
  key: string,
  opts: VersionSelector,
): Promise<ObjectInfo> {
  if (opts.versionId !== undefined) return (await readVersion(ctx, bucket, key, opts.versionId)).info;
  // Without a version id, findVersion answers the current row or throws (NoSuchKey, with the
  // delete marker's headers when the latest version is one).
  findVersion(ctx, bucket, key, opts);
  const { row } = await locate(ctx, bucket, key, false);
  return ctx.versioning.infoOfRow(row);
}

/** GetObject; the bucket was checked by the caller. */
export async function getObject(
  ctx: ReadContext,
  bucket: string,
  key: string,
  opts: GetOptions,
): Promise<{ info: ObjectInfo; body: Readable }> {
  let result: { info: ObjectInfo; body: Readable };
  if (opts.versionId !== undefined) {
    const read = await readVersion(ctx, bucket, key, opts.versionId, { range: opts.range });
    result = { info: read.info, body: read.body ?? Readable.from([]) };
  } else {
    findVersion(ctx, bucket, key, opts); // as in headObject
    const { row, fh } = await locate(ctx, bucket, key, true);
    const info = ctx.versioning.infoOfRow(row);
    result = { info, body: await streamFile(fh, opts.range, info.size) };
  }
  if (opts.signal) addAbortSignal(opts.signal, result.body);
  return result;
}

/**
 * The object's row, checked against its file (exists, same size and mtime as committed); with
 * `openFile`, the file opened (the check is then on the open handle, so the bytes read are the
 * bytes the row describes). A mismatch first waits for a write in flight on the key, then
 * reconciles the row with the disk: file moved, changed or gone behind the server's back.
 */
export async function locate(
  ctx: ReadContext,
  bucket: string,
  key: string,
  openFile: boolean,
): Promise<{ row: ObjectRow; fh?: FileHandle }> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const row = ctx.index.getObject(bucket, key);
    if (row === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
    const checked = await openChecked(ctx, bucket, row, openFile);
    if (checked !== undefined) return { row, ...checked };
    const lockName = ctx.lockName(bucket, key);
    if (attempt === 0 && ctx.locks.isLocked(lockName)) {
      await ctx.locks.run(lockName, () => undefined); // a commit or move is in flight
    } else {
      await ctx.locks.run(lockName, () => reconcileLocked(ctx, bucket, key));
    }
  }
  throw new S3Error('InternalError', 'the object keeps changing on disk');
}

/**
 * GET/HEAD naming a version id: exactly that version, or NoSuchVersion (MethodNotAllowed for a
 * delete marker, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html) — never
 * another version. The lookup and the open (HEAD: the stat) run under the key's lock, because a
 * versioned write changes the files before its rows commit: a PUT renames the new current file
 * into place while the row still names the version it replaces (whose bytes are by then also its
 * `<seq>.data` hard link), and making a noncurrent version current again removes its `.data`
 * while the index still lists it as noncurrent. Under the lock the rows and the files agree; the
 * open handle keeps the bytes once the lock is released, so the lock is held for a lookup and an
 * open only, never while the body streams. With `read` (GET), the body of `read.range` is opened.
 */
async function readVersion(
  ctx: ReadContext,
  bucket: string,
  key: string,
  versionId: string,
  read?: { range: ByteRange | undefined },
): Promise<{ info: ObjectInfo; body?: Readable }> {
  return ctx.locks.run(ctx.lockName(bucket, key), async () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      const found = ctx.versioning.findVersion(bucket, key, { versionId });
      if (found.record !== undefined) {
        if (read === undefined) return { info: found.info };
        return { info: found.info, body: await ctx.versioning.openVersion(bucket, found.record, read.range) };
      }
      const checked = found.row && (await openChecked(ctx, bucket, found.row, read !== undefined));
      if (checked !== undefined) {
        if (read === undefined) return { info: found.info };
        return { info: found.info, body: await streamFile(checked.fh, read.range, found.info.size) };
      }
      // No write is in flight (we hold the lock): the file changed behind the server's back.
      await reconcileLocked(ctx, bucket, key);
    }
    throw new S3Error('InternalError', 'the object keeps changing on disk');
  });
}

/**
 * The row's file stat'ed (or opened and fstat'ed) and checked against the row: `{ fh? }` when it
 * is the file the row describes, undefined when it is missing or differs.
 */
async function openChecked(
  ctx: ReadContext,
  bucket: string,
  row: ObjectRow,
  openFile: boolean,
): Promise<{ fh?: FileHandle } | undefined> {
  const abs = ctx.abs(bucket, row.path);
  let fh: FileHandle | undefined;
  try {
    let st: BigIntStats;
    if (openFile) {
      fh = await open(abs, 'r');
      st = await fh.stat({ bigint: true });
    } else {
      st = await stat(abs, { bigint: true });
    }
    if (sameFile(row, st)) return fh ? { fh } : {};
  } catch (err) {
    if (!MISSING.has(errnoOf(err) ?? '')) {
      await fh?.close();
      throw err;
    }
  }
  await fh?.close();
  return undefined;
}

/** A read stream over `range` (inclusive) of the open file; the handle is closed when empty. */
async function streamFile(
  fh: FileHandle | undefined,
  range: ByteRange | undefined,
  size: number,
): Promise<Readable> {
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (end < start || fh === undefined) {
    await fh?.close();
    return Readable.from([]);
  }
  const highWaterMark = end - start >= 1 << 20 ? 1 << 20 : 64 * 1024;
  return fh.createReadStream({ start, end, highWaterMark });
}

/**
 * Brings the key's row in line with the disk (reconcile.ts; a versioned key is settled from its
 * version records instead). The caller holds the key's lock.
 */
async function reconcileLocked(ctx: ReadContext, bucket: string, key: string): Promise<void> {
  if (ctx.index.getObject(bucket, key)?.version || ctx.versions.hasKey(bucket, key)) {
    await ctx.versioning.settle(bucket, key);
  } else {
    await reconcileKey(ctx.reconcile, bucket, key);
  }
}
