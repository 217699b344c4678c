/**
 * Settling a versioned key: from its version records, its `.data` files and the plain file at its
 * path, work out (and make true on disk) which version is current and which are noncurrent. Every
 * versioned write ends with it, and crash recovery and `cache rebuild` run the same code, so there
 * is one definition of a consistent version chain:
 *
 * 1. A record counts only when it is a delete marker or its bytes exist (its `.data`, or the plain
 *    file matches its size and mtime); others are writes that never placed their bytes: removed.
 * 2. Only the newest record with version id `null` survives (a new null version replaces the old,
 *    as AWS documents for suspended buckets); older null records and their data are removed.
 * 3. A plain file holding the bytes of a replaced null version is removed; one that matches no
 *    record (written behind the server's back) becomes the newest version, under a fresh id.
 * 4. The newest record decides: a delete marker -> no current version (a plain file left by an
 *    interrupted delete is archived as its version's data if that is missing, then removed); an
 *    object version -> current, its bytes at the plain path (placed from its `.data` if needed).
 * 5. `.data` files without a record are removed.
 *
 * Writes are ordered so that every crash point settles to either the state before or the state
 * after the write (see versioning.ts). The caller holds the key's lock.
 */
import type { BigIntStats } from 'node:fs';
import { link, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoOf, fsyncDir, hashFile, pruneEmptyDirs, unlinkQuiet } from './fs-ops.js';
import { candidatePaths, keyToPath } from './key-path.js';
import { placeFile, type PlacementContext } from './placement.js';
import {
  dataPath,
  readKeyVersions,
  removeKeyDirIfEmpty,
  removeVersionFiles,
  writeRecord,
  type VersionRecord,
} from './version-records.js';

/** What settling needs of the store. */
export interface SettleContext {
  placement: PlacementContext;
  bucketDir(bucket: string): string;
  /** The key's version directory. */
  versionDir(bucket: string, key: string): string;
  /** A fresh temp file path in `.s3local/tmp/`. */
  tempPath(): string;
  /** A new version id for a version with sequence number `seq`. */
  newVersionId(seq: number): string;
  /** A sequence number greater than `floor` (and than any given before). */
  nextSeq(floor: number): number;
}

/** The settled version chain of a key. */
export interface SettledKey {
  /** The current version and the path (relative to the bucket) of its plain file. */
  current?: { record: VersionRecord; path: string };
  /** Noncurrent versions and delete markers, newest first. */
  noncurrent: VersionRecord[];
}

/** True when `st` has the size and mtime of the object version `rec`. */
function sameSizeAndTime(rec: VersionRecord, st: BigIntStats): boolean {
  return !rec.deleteMarker && Number(st.size) === rec.size && Number(st.mtimeNs) === Number(rec.mtimeNs);
}

/**
 * The record whose bytes the plain file `st` holds: the one with its inode (and size and mtime),
 * else — the store was copied and inodes changed — the newest with its size and mtime. Inodes
 * tell apart versions written within one tick of a coarse file-system clock.
 */
export function ownerOf(records: readonly VersionRecord[], st: BigIntStats): VersionRecord | undefined {
  const ino = String(st.ino);
  const candidates = records.filter((r) => sameSizeAndTime(r, st));
  const byIno = candidates.find((r) => r.ino === ino);
  if (byIno !== undefined) return byIno;
  // A record with this inode but other size or mtime: the file was changed in place.
  if (records.some((r) => r.ino === ino)) return undefined;
  return candidates[0];
}

/** The regular file at one of the key's places (row path first), if any. */
async function findPlain(
  root: string,
  key: string,
  preferred: string | undefined,
): Promise<{ path: string; st: BigIntStats } | undefined> {
  let places: string[];
  try {
    places = candidatePaths(key);
  } catch {
    return undefined;
  }
  if (preferred !== undefined) places = [preferred, ...places.filter((p) => p !== preferred)];
  for (const path of places) {
    const st = await lstat(join(root, path), { bigint: true }).catch(() => undefined);
    if (st?.isFile()) return { path, st };
  }
  return undefined;
}

/**
 * Settles the key (see the module comment) and returns its chain; undefined when the key has no
 * version records (an unversioned key: its plain file, if any, is left to the objects index).
 * `preferredPath` is the current row's path, tried first for the plain file.
 */
export async function settleKeyVersions(
  ctx: SettleContext,
  bucket: string,
  key: string,
  preferredPath?: string,
): Promise<SettledKey | undefined> {
  const dir = ctx.versionDir(bucket, key);
  const files = await readKeyVersions(dir, key);
  const root = ctx.bucketDir(bucket);
  if (files.records.length === 0) {
    for (const seq of files.data) await unlinkQuiet(dataPath(dir, seq));
    await removeKeyDirIfEmpty(dir);
    return undefined;
  }

  // 1. Valid records only: a delete marker, or a version whose bytes exist (its data, or the plain
  //    file). A record without bytes is a write that never placed them (or files removed by hand).
  let plain = await findPlain(root, key, preferredPath);
  let owner = plain && ownerOf(files.records, plain.st);
  const valid: VersionRecord[] = [];
  for (const rec of files.records) {
    if (rec.deleteMarker || files.data.has(rec.seq) || rec === owner) valid.push(rec);
    else await removeVersionFiles(dir, rec.seq);
  }

  // 2. One null version: older null records were replaced by the newest one.
  const records: VersionRecord[] = [];
  let replacedOwner = false;
  for (const rec of valid) {
    if (rec.versionId === 'null' && records.some((r) => r.versionId === 'null')) {
      await removeVersionFiles(dir, rec.seq);
      files.data.delete(rec.seq);
      if (rec === owner) replacedOwner = true;
    } else {
      records.push(rec);
    }
  }

  // 3. A plain file: the bytes of a replaced null version go; bytes nobody recorded are adopted.
  if (plain !== undefined && replacedOwner) {
    await removePlain(root, plain.path);
    plain = owner = undefined;
  } else if (plain !== undefined && owner === undefined) {
    owner = await adoptPlainFile(ctx, dir, key, join(root, plain.path), plain.st, records[0]?.seq ?? 0);
    records.unshift(owner);
  }

  // 4. The newest record decides what is current.
  let current: SettledKey['current'];
  const top = records[0];
  if (top?.deleteMarker) {
    if (plain !== undefined) {
      await archivePlain(dir, owner, files.data, join(root, plain.path));
      await removePlain(root, plain.path);
    }
  } else if (top !== undefined && plain !== undefined && top === owner) {
    current = { record: top, path: plain.path };
    if (files.data.delete(top.seq)) await unlinkQuiet(dataPath(dir, top.seq));
  } else if (top !== undefined) {
    // Its bytes are in its data file (valid): put them back at the key's path.
    if (plain !== undefined) await archivePlain(dir, owner, files.data, join(root, plain.path));
    const tmp = ctx.tempPath();
    await link(dataPath(dir, top.seq), tmp);
    const path = await placeFile(ctx.placement, bucket, keyToPath(key), tmp, plain?.path);
    await fsyncDir(dirname(join(root, path)));
    await unlinkQuiet(dataPath(dir, top.seq));
    files.data.delete(top.seq);
    current = { record: top, path };
  }

  // 5. Noncurrent versions need their data; data needs a record.
  const noncurrent: VersionRecord[] = [];
  for (const rec of records) {
    if (rec === current?.record) continue;
    if (!rec.deleteMarker && !files.data.has(rec.seq)) {
      await removeVersionFiles(dir, rec.seq);
      continue;
    }
    noncurrent.push(rec);
  }
  const kept = new Set(noncurrent.map((r) => r.seq));
  for (const seq of files.data) if (!kept.has(seq)) await unlinkQuiet(dataPath(dir, seq));
  if (current === undefined && noncurrent.length === 0) await removeKeyDirIfEmpty(dir);
  const settled: SettledKey = { noncurrent };
  if (current !== undefined) settled.current = current;
  return settled;
}

/** Links the plain file as the data of the record it holds, when that data is missing. */
async function archivePlain(
  dir: string,
  owner: VersionRecord | undefined,
  data: Set<number>,
  abs: string,
): Promise<void> {
  if (owner === undefined || data.has(owner.seq)) return;
  try {
    await link(abs, dataPath(dir, owner.seq));
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
  await fsyncDir(dir);
  data.add(owner.seq);
}

/** A record for a plain file found without one: a new version with a fresh id, no metadata. */
async function adoptPlainFile(
  ctx: SettleContext,
  dir: string,
  key: string,
  abs: string,
  st: BigIntStats,
  floor: number,
): Promise<VersionRecord> {
  const { md5 } = await hashFile(abs);
  const seq = ctx.nextSeq(floor);
  const rec: VersionRecord = {
    key,
    versionId: ctx.newVersionId(seq),
    seq,
    deleteMarker: false,
    lastModified: Math.floor(Number(st.mtimeNs / 1_000_000n)),
    size: Number(st.size),
    mtimeNs: String(st.mtimeNs),
    ino: String(st.ino),
    etag: md5,
    headers: '{}',
    metadata: '{}',
    checksums: '{}',
    checksumType: null,
    parts: null,
  };
  await writeRecord(dir, rec);
  return rec;
}

/** Removes the plain file (its bytes are kept elsewhere, or were replaced) and empty parents. */
export async function removePlain(root: string, path: string): Promise<void> {
  await unlinkQuiet(join(root, path));
  await fsyncDir(dirname(join(root, path)));
  await pruneEmptyDirs(root, dirname(path));
}
