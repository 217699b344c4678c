/**
 * Bringing index rows in line with the files, one key at a time: on access (a row whose file is
 * missing or changed), and when a store opens after a crash (the intents left in the write
 * journal, see src/index/write-journal.ts). Both cost O(keys concerned), never a walk of the store;
 * the walk is `s3local cache rebuild` (rebuild.ts).
 *
 * The caller holds the key's lock, or has the store to itself (open).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ObjectIndex, ObjectRow } from '../../index/object-index.js';
import type { JournalEntry, WriteJournal } from '../../index/write-journal.js';
import { errnoOf, fsyncDir, hashFile, pruneEmptyDirs, unlinkQuiet } from './fs-ops.js';
import { candidatePaths, MOVING_DIR, pathToKey } from './key-path.js';

/** What reconciliation needs of a store. */
export interface ReconcileContext {
  index: ObjectIndex;
  journal: WriteJournal;
  bucketDir(bucket: string): string;
  /** Settles a versioned key from its version records and updates its rows (versioning.ts). */
  settleVersions(bucket: string, key: string): Promise<void>;
}

/** True when `st` is the regular file `row` describes (same size and mtime as committed). */
export function sameFile(row: Pick<ObjectRow, 'size' | 'mtimeNs'>, st: BigIntStats): boolean {
  return st.isFile() && Number(st.size) === row.size && Number(st.mtimeNs) === Number(row.mtimeNs);
}

/** What {@link reconcileKey} did. */
export type ReconcileOutcome = 'absent' | 'unchanged' | 'moved' | 'rehashed' | 'dropped' | 'changing';

/** natural, self and moving paths of `key`; none for a key that cannot be stored. */
function storedPlaces(key: string): string[] {
  try {
    return candidatePaths(key);
  } catch {
    return [];
  }
}

function places(key: string, preferred: string): string[] {
  return [preferred, ...storedPlaces(key).filter((p) => p !== preferred)];
}

/**
 * Makes the key's row describe what is on disk: the file found at the row's path or at the key's
 * other places (natural, `.s3local-self`, `.s3local-moving`): same size and mtime -> the row's path
 * is fixed if it moved; different -> the file is re-hashed and the row gets its size, MD5 ETag and
 * mtime as LastModified (stored checksums and part layout dropped, headers and metadata kept);
 * no file -> the row is dropped.
 */
export async function reconcileKey(
  ctx: ReconcileContext,
  bucket: string,
  key: string,
): Promise<ReconcileOutcome> {
  const row = ctx.index.getObject(bucket, key);
  if (row === undefined) return 'absent';
  const root = ctx.bucketDir(bucket);
  for (const place of places(key, row.path)) {
    const abs = join(root, place);
    const st = await stat(abs, { bigint: true }).catch(() => undefined);
    if (!st?.isFile()) continue;
    if (sameFile(row, st)) {
      if (place === row.path) return 'unchanged';
      ctx.index.setPath(bucket, key, place); // moved (e.g. an interrupted move aside)
      return 'moved';
    }
    // Changed behind the server's back: describe the bytes that are there now.
    const { md5, size } = await hashFile(abs);
    const after = await stat(abs, { bigint: true });
    if (!sameFile({ size, mtimeNs: st.mtimeNs }, after)) return 'changing';
    ctx.index.putObject({
      ...row,
      path: place,
      size,
      etag: md5,
      mtimeNs: st.mtimeNs,
      lastModified: Math.floor(Number(st.mtimeNs / 1_000_000n)),
      checksums: '{}',
      checksumType: null,
      parts: null,
    });
    return 'rehashed';
  }
  ctx.index.deleteObject(bucket, key); // the file is gone
  return 'dropped';
}

/** The keys of the objects whose files may have been moved aside to make room for `key`'s path. */
export function ancestorKeys(key: string): string[] {
  const natural = storedPlaces(key)[0];
  if (natural === undefined) return [];
  const names = natural.split('/');
  const out: string[] = [];
  for (let i = 1; i < names.length; i++) {
    const k = pathToKey(names.slice(0, i).join('/'));
    if (k !== undefined) out.push(k);
  }
  return out;
}

/**
 * Settles one journal entry (a write that did not finish) and removes it:
 * - put: when the file it was placing (same inode, size and mtime) is at one of the key's places,
 *   the recorded row is committed with that path (roll forward; the previous file, if it lived at
 *   another place, is removed); otherwise the write never reached the key and the row is
 *   reconciled with what is there;
 * - delete: the row is reconciled (kept when the file is still there, dropped when it is gone).
 * With `ancestors`, objects that a put may have been moving aside (keys at parent paths) are
 * reconciled too — only safe when no other write runs (at open).
 */
export async function settleEntry(
  ctx: ReconcileContext,
  entry: JournalEntry,
  opts: { ancestors: boolean },
): Promise<void> {
  const { bucket, key } = entry;
  const root = ctx.bucketDir(bucket);
  let settled = false;
  if (entry.op === 'versions') {
    await ctx.settleVersions(bucket, key);
    settled = true;
  } else if (entry.op === 'put') {
    for (const place of places(key, entry.row.path)) {
      if (place === '') continue;
      const st = await lstat(join(root, place), { bigint: true }).catch(() => undefined);
      if (st === undefined || st.ino !== entry.ino || !sameFile(entry.row, st)) continue;
      const current = ctx.index.getObject(bucket, key);
      if (!ctx.index.putObject({ ...entry.row, path: place })) {
        await unlinkQuiet(join(root, place)); // the bucket is gone: no orphan
        await pruneEmptyDirs(root, dirname(place));
      } else if (current !== undefined && current.path !== place && pathToKey(current.path) === key) {
        await unlinkQuiet(join(root, current.path)).catch(ignoreNotDir);
      }
      settled = true;
      break;
    }
  }
  if (!settled) await reconcileKey(ctx, bucket, key);
  if (opts.ancestors) {
    for (const k of ancestorKeys(key)) await reconcileKey(ctx, bucket, k);
    for (const k of [key, ...ancestorKeys(key)]) await finishMove(ctx, bucket, k);
  }
  ctx.journal.end(entry);
}

/**
 * An object left at `<dir>/.s3local-moving/<name>` by an interrupted move aside is put where it
 * belongs: its natural path when that is free, else (a directory is there) its `.s3local-self`
 * path; its row follows, and the empty `.s3local-moving` directory is removed.
 */
async function finishMove(ctx: ReconcileContext, bucket: string, key: string): Promise<void> {
  const row = ctx.index.getObject(bucket, key);
  if (row === undefined) return;
  const [natural, self, moving] = storedPlaces(key);
  if (natural === undefined || self === undefined || row.path !== moving) return;
  const root = ctx.bucketDir(bucket);
  const there = await lstat(join(root, natural)).catch(() => undefined);
  const target = there === undefined ? natural : there.isDirectory() ? self : undefined;
  if (target === undefined) return; // another file is at the natural path: leave both as they are
  await rename(join(root, moving), join(root, target));
  ctx.index.setPath(bucket, key, target);
  await fsyncDir(dirname(join(root, target)));
  await pruneEmptyDirs(root, dirname(moving));
}

function ignoreNotDir(err: unknown): void {
  const code = errnoOf(err);
  if (code !== 'ENOTDIR' && code !== 'EISDIR' && code !== 'EPERM') throw err;
}

/**
 * Settles every write a crash left in the journal (see {@link settleEntry}) and removes the empty
 * `.s3local-moving` directories an interrupted move aside may have left. O(entries).
 */
export async function recoverJournal(ctx: ReconcileContext): Promise<number> {
  const entries = ctx.journal.entries();
  for (const entry of entries) {
    await settleEntry(ctx, entry, { ancestors: true });
    for (const k of [entry.key, ...ancestorKeys(entry.key)]) {
      const moving = storedPlaces(k)[2];
      if (moving !== undefined && dirname(moving).endsWith(MOVING_DIR)) {
        await pruneEmptyDirs(ctx.bucketDir(entry.bucket), dirname(moving));
      }
    }
  }
  ctx.journal.clear(); // entries that could not even be parsed
  return entries.length;
}
