/**
 * DeleteObject of the local backend: the plain path (the file unlinked, its directory fsynced and
 * the row dropped, under the key's lock and a `delete` intent in the write journal), and the
 * hand-off to versioning.ts for buckets ever versioned and deletes naming a version id.
 */
import { stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GroupCommit } from '../../index/group-commit.js';
import type { ObjectIndex } from '../../index/object-index.js';
import type { JournalEntry, WriteJournal } from '../../index/write-journal.js';
import type { DeleteOptions, DeleteResult } from '../backend.js';
import { errnoOf, fsyncDir, mapStorageError, pruneEmptyDirs } from './fs-ops.js';
import { candidatePaths, keyToPath, selfPath } from './key-path.js';
import type { KeyedMutex } from './keyed-mutex.js';
import { MISSING } from './object-read.js';
import { assertVersionIdFormat } from './version-format.js';
import type { LocalVersioning } from './versioning.js';

/** What deletes need of the local backend. */
export interface DeleteContext {
  index: ObjectIndex;
  journal: WriteJournal;
  commits: GroupCommit;
  versioning: LocalVersioning;
  locks: KeyedMutex;
  lockName(bucket: string, key: string): string;
  bucketDir(bucket: string): string;
  /**
   * Settles a write intent after a failure, as the next open would; never throws (should settling
   * fail, the intent stays in the journal for the next open).
   */
  settle(intent: JournalEntry): Promise<void>;
}

/**
 * DeleteObject; the bucket was checked by the caller. Unlinks the file and drops the row; a key
 * that cannot be stored (see key-path) is absent. In a bucket ever versioned: a delete marker, or
 * the version given removed (versioning.ts).
 */
export async function deleteObject(
  ctx: DeleteContext,
  bucket: string,
  key: string,
  opts: DeleteOptions,
): Promise<DeleteResult> {
  try {
    keyToPath(key);
  } catch {
    opts.precondition?.(undefined); // cannot exist
    return opts.versionId === undefined ? {} : { versionId: opts.versionId };
  }
  const lockName = ctx.lockName(bucket, key);
  if (opts.versionId !== undefined) {
    const { versionId } = opts;
    const bypass = opts.bypassGovernance ?? false;
    const done = await ctx.locks.run(lockName, () => {
      assertVersionIdFormat(versionId); // a malformed id is refused before any condition
      checkCurrent(ctx, bucket, key, opts);
      return ctx.versioning.deleteVersion(bucket, key, versionId, bypass);
    });
    // The null version of a key never versioned: the plain delete below, which checks again.
    if (done !== undefined) return done;
  } else if (ctx.versioning.deleteIsVersioned(bucket)) {
    return ctx.locks.run(lockName, () => {
      checkCurrent(ctx, bucket, key, opts);
      return ctx.versioning.commitDelete(bucket, key);
    });
  }
  await deleteUnversioned(ctx, bucket, key, opts);
  return opts.versionId === undefined ? {} : { versionId: opts.versionId };
}

/**
 * Runs the delete's precondition against the current object: its row, none when the key is
 * absent or its latest version is a delete marker (no row then). The caller holds the key's lock.
 */
function checkCurrent(ctx: DeleteContext, bucket: string, key: string, opts: DeleteOptions): void {
  if (opts.precondition === undefined) return;
  const row = ctx.index.getObject(bucket, key);
  opts.precondition(row && ctx.versioning.infoOfRow(row));
}

/** Deletes the row and ends `intent` in one (group) commit. */
function dropRow(ctx: DeleteContext, bucket: string, key: string, intent: JournalEntry): Promise<void> {
  return ctx.commits.run(() => {
    ctx.index.deleteObject(bucket, key);
    ctx.journal.end(intent);
  });
}

/** The plain delete: the key's file (wherever it was placed) unlinked, then its row dropped. */
async function deleteUnversioned(
  ctx: DeleteContext,
  bucket: string,
  key: string,
  opts: DeleteOptions,
): Promise<void> {
  const natural = keyToPath(key);
  const root = ctx.bucketDir(bucket);
  const removed = await ctx.locks.run(ctx.lockName(bucket, key), async () => {
    const row = ctx.index.getObject(bucket, key);
    opts.precondition?.(row && ctx.versioning.infoOfRow(row));
    const places = row
      ? [row.path, ...candidatePaths(key).filter((p) => p !== row.path)]
      : [natural, selfPath(natural)];
    // A row whose file is about to go: a crash before the row is dropped is settled at open.
    const intent = row ? ctx.journal.beginDelete(bucket, key) : undefined;
    let pending = intent !== undefined;
    try {
      let removedFrom: string | undefined;
      for (const place of places) {
        try {
          await unlink(join(root, place));
          removedFrom = place;
          break;
        } catch (err) {
          const code = errnoOf(err) ?? '';
          // EISDIR (Linux) / EPERM (macOS): the natural path is a directory; try the self path.
          const isDir =
            code === 'EPERM' && (await stat(join(root, place)).catch(() => undefined))?.isDirectory();
          if (!MISSING.has(code) && !isDir) throw mapStorageError(err);
        }
      }
      if (removedFrom !== undefined) await fsyncDir(dirname(join(root, removedFrom)));
      if (intent !== undefined) await dropRow(ctx, bucket, key, intent);
      pending = false;
      return removedFrom;
    } finally {
      if (pending && intent !== undefined) await ctx.settle(intent);
    }
  });
  if (removed !== undefined) await pruneEmptyDirs(root, dirname(removed));
}
