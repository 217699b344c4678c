/**
 * The version store of the local backend, on disk: one directory per versioned key,
 * `<data>/.s3local/versions/<bucket>/<h[0..2]>/<h[2..]>/` with h = SHA-256 of the key (hex), so any
 * key (up to 1,024 bytes, any characters) maps to a short, safe path. In it, per version:
 *
 *   <seq>.json   the version record (VersionRecord): the truth for versions and delete markers,
 *                their metadata and object lock, read back by `cache rebuild` and crash recovery;
 *   <seq>.data   the bytes of a noncurrent version (a hard link of the file it was, made when it
 *                stopped being current — no copy).
 *
 * The current version's bytes stay the plain file at the key's path; its record has no `.data`.
 * `seq` orders the versions of a key (larger = newer). See docs/on-disk-format.md.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredLock } from '../../index/object-index.js';
import { DIR_MODE, errnoOf, FILE_MODE, fsyncDir, unlinkQuiet } from './fs-ops.js';

/** Name of the version store directory inside `.s3local/`. */
export const VERSIONS_DIR = 'versions';

/** One version of a key (object or delete marker), as stored in `<seq>.json`. */
export interface VersionRecord {
  key: string;
  /** `null` for the null version. */
  versionId: string;
  seq: number;
  deleteMarker: boolean;
  /** ms since the epoch. */
  lastModified: number;
  /** Object versions: bytes, and the size and mtime (ns, decimal) of their file. */
  size: number;
  mtimeNs: string;
  /** Inode (decimal) of the file, to tell versions with equal size and mtime apart. */
  ino?: string;
  etag: string;
  /** JSON columns as in the objects row (ObjectRow). */
  headers: string;
  metadata: string;
  checksums: string;
  checksumType: string | null;
  parts: string | null;
  lock?: StoredLock;
  /** The version's tags, JSON as in `objects.tags` (encodeTags); absent when it has none. */
  tags?: string;
}

/** The records and data files found in one key's version directory. */
export interface KeyVersionFiles {
  dir: string;
  /** Newest first. */
  records: VersionRecord[];
  /** seqs that have a `.data` file. */
  data: Set<number>;
}

/** The version directory of `key` in `bucket`. */
export function versionDir(metaDir: string, bucket: string, key: string): string {
  const h = createHash('sha256').update(key, 'utf8').digest('hex');
  return join(metaDir, VERSIONS_DIR, bucket, h.slice(0, 2), h.slice(2));
}

/** `<dir>/<seq>.data`. */
export function dataPath(dir: string, seq: number): string {
  return join(dir, `${seq}.data`);
}

function recordPath(dir: string, seq: number): string {
  return join(dir, `${seq}.json`);
}

const NAME = /^(\d{1,16})\.(json|data)$/;

/**
 * Reads the key's version directory (empty when it does not exist). Leftover `*.tmp` files of an
 * interrupted record write are removed; records of another key (a hash collision, never expected)
 * or that cannot be parsed are ignored.
 */
export async function readKeyVersions(dir: string, key: string): Promise<KeyVersionFiles> {
  const out: KeyVersionFiles = { dir, records: [], data: new Set() };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return out;
    throw err;
  }
  for (const name of names) {
    if (name.endsWith('.tmp')) {
      await unlinkQuiet(join(dir, name));
      continue;
    }
    const m = NAME.exec(name);
    if (!m) continue;
    const seq = Number(m[1]);
    if (m[2] === 'data') {
      out.data.add(seq);
      continue;
    }
    try {
      const rec = JSON.parse(await readFile(join(dir, name), 'utf8')) as VersionRecord;
      if (rec.key === key && rec.seq === seq) out.records.push(rec);
    } catch {
      // a record that cannot be read describes nothing
    }
  }
  out.records.sort((a, b) => b.seq - a.seq);
  return out;
}

/** The key a version directory belongs to (read from one of its records), if any record is readable. */
export async function keyOfVersionDir(dir: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!NAME.test(name) || !name.endsWith('.json')) continue;
    try {
      const rec = JSON.parse(await readFile(join(dir, name), 'utf8')) as Partial<VersionRecord>;
      if (typeof rec.key === 'string') return rec.key;
    } catch {
      // try the next record
    }
  }
  return undefined;
}

/** Writes `<seq>.json` durably (temp file, fsync, rename, fsync of the directory). */
export async function writeRecord(dir: string, rec: VersionRecord): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  const tmp = `${recordPath(dir, rec.seq)}.tmp`;
  const fh = await open(tmp, 'w', FILE_MODE);
  try {
    await fh.writeFile(JSON.stringify(rec));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, recordPath(dir, rec.seq));
  await fsyncDir(dir);
}

/** Removes a version: its data first, then its record (a record without data is dropped by settling). */
export async function removeVersionFiles(dir: string, seq: number): Promise<void> {
  await unlinkQuiet(dataPath(dir, seq));
  await unlinkQuiet(recordPath(dir, seq));
}

/**
 * A version directory with no readable record (`cache rebuild` finds it with no key to settle):
 * the temp files of record writes a crash cut short (`*.tmp`, e.g. the first versioned write of a
 * key, killed before its record's rename, with the journal gone) are removed, then the directory
 * when nothing else is left. Anything else is kept.
 */
export async function clearRecordlessDir(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith('.tmp')) await unlinkQuiet(join(dir, name));
  }
  await removeKeyDirIfEmpty(dir);
}

/** Removes the key's version directory when nothing is left in it. */
export async function removeKeyDirIfEmpty(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length === 0) await rmdir(dir);
  } catch {
    // not there, or not empty after all
  }
}
