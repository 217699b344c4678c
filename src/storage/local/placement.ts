/**
 * Putting a finished temp file at its key's path, including the object/directory collisions S3
 * allows (key `a` and key `a/b` both existing). See docs/on-disk-format.md.
 *
 * Locking: the caller holds the lock of the key being placed. Moving an object that is in the way
 * takes that object's lock too; the object in the way is always at an ancestor path of the key
 * being placed, so locks are only ever nested from deeper to shallower paths and cannot deadlock.
 */
import { lstat, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { S3Error } from '../../s3/errors.js';
import type { ObjectIndex } from '../../index/object-index.js';
import {
  errnoOf,
  firstNonDirectory,
  fsyncDir,
  mapStorageError,
  mkdirUnder,
  PathConflictError,
  pruneEmptyDirs,
} from './fs-ops.js';
import { movingPath, pathToKey, selfPath } from './key-path.js';
import type { KeyedMutex } from './keyed-mutex.js';

/** What placement needs from the backend. */
export interface PlacementContext {
  readonly index: ObjectIndex;
  readonly locks: KeyedMutex;
  bucketDir(bucket: string): string;
  lockName(bucket: string, key: string): string;
}

const MAX_ATTEMPTS = 16;

function raced(what: string): S3Error {
  return new S3Error('InternalError', `could not ${what}: the directory tree kept changing`);
}

/**
 * Renames `tmpAbs` to the object's place and returns the relative path used: `preferred` (the
 * current row's path) when given and still valid, else the natural path, else
 * `<natural>/.s3local-self` when the natural path is a directory. Creates missing parent
 * directories (never the bucket directory: NoSuchBucket when it is gone), moves objects that are
 * in the way to their `.s3local-self` place, and retries when a concurrent delete removed a
 * parent directory. Does not fsync the directory.
 */
export async function placeFile(
  ctx: PlacementContext,
  bucket: string,
  natural: string,
  tmpAbs: string,
  preferred?: string,
): Promise<string> {
  const root = ctx.bucketDir(bucket);
  let target = preferred ?? natural;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      await rename(tmpAbs, join(root, target));
      return target;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
        // The target is a directory: key `a` while keys `a/...` exist.
        if (target === natural) {
          target = selfPath(natural);
          continue;
        }
        throw err;
      }
      if (code === 'ENOENT') {
        if (target !== natural) {
          target = natural; // the directory of the preferred path went away
          continue;
        }
        const parent = dirname(natural);
        if (parent === '.') {
          await lstat(root).catch(() => {
            throw new S3Error('NoSuchBucket');
          });
          throw err; // the temp file itself is gone
        }
        await ensureDir(ctx, bucket, parent);
        continue;
      }
      if (code === 'ENOTDIR') {
        if (target !== natural) {
          target = natural; // the preferred path's directory is a file now (changed outside s3local)
          continue;
        }
        const blocker = await firstNonDirectory(root, dirname(target));
        if (blocker !== undefined) await moveAside(ctx, bucket, blocker);
        continue;
      }
      throw mapStorageError(err);
    }
  }
  throw raced('store the object');
}

/** Creates directory `relDir` in the bucket, moving objects in the way to their self path. */
export async function ensureDir(ctx: PlacementContext, bucket: string, relDir: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      await mkdirUnder(ctx.bucketDir(bucket), relDir);
      return;
    } catch (err) {
      if (!(err instanceof PathConflictError)) throw mapStorageError(err);
      await moveAside(ctx, bucket, err.relPath);
    }
  }
  throw raced('create a directory');
}

/**
 * Moves the object stored as the plain file `fileRel` to `fileRel/.s3local-self`, so `fileRel`
 * can become a directory. Crash-safe: the bytes are at every instant at `fileRel`,
 * `<dir>/.s3local-moving/<name>` or `fileRel/.s3local-self`, all of which {@link pathToKey}
 * decodes to the same key. Runs under that key's lock; updates the index row's path.
 */
export async function moveAside(ctx: PlacementContext, bucket: string, fileRel: string): Promise<void> {
  const key = pathToKey(fileRel);
  if (key === undefined) {
    throw new S3Error('InternalError', 'a file that is not an object blocks the key path');
  }
  const root = ctx.bucketDir(bucket);
  await ctx.locks.run(ctx.lockName(bucket, key), async () => {
    const st = await lstat(join(root, fileRel)).catch(() => undefined);
    if (st === undefined || st.isDirectory()) return; // someone else resolved it
    const moving = movingPath(fileRel);
    const self = selfPath(fileRel);

    await renameCreatingDir(root, fileRel, moving, dirname(moving));
    await renameCreatingDir(root, moving, self, fileRel);
    const row = ctx.index.getObject(bucket, key);
    if (row !== undefined && row.path !== self) ctx.index.setPath(bucket, key, self);

    await fsyncDir(join(root, dirname(fileRel)));
    await fsyncDir(join(root, fileRel));
    await pruneEmptyDirs(root, dirname(moving));
  });
}

/** rename(from, to) after creating directory `dir`, again if a concurrent prune removed it. */
async function renameCreatingDir(root: string, from: string, to: string, dir: string): Promise<void> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await mkdirUnder(root, dir);
    try {
      await rename(join(root, from), join(root, to));
      return;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw mapStorageError(err);
      // Either `dir` was pruned meanwhile (retry) or `from` is gone (give up).
      if ((await lstat(join(root, from)).catch(() => undefined)) === undefined) throw err;
    }
  }
  throw raced('move an object aside');
}
