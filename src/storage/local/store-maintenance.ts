/**
 * Operations on a whole local store rather than one object: the health probe and the statistics
 * (`/health`, `/metrics`), and `s3local cache rebuild` — the index rebuilt from the files
 * (rebuild.ts), then every versioned key settled from its version records (version-settle.ts).
 */
import { readdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { ObjectIndex } from '../../index/object-index.js';
import type { VersionIndex } from '../../index/version-index.js';
import type { BackendStats } from '../backend.js';
import { errnoOf, FILE_MODE, unlinkQuiet } from './fs-ops.js';
import type { KeyedMutex } from './keyed-mutex.js';
import { rebuildIndex, type RebuildOptions, type RebuildResult } from './rebuild.js';
import { clearRecordlessDir, keyOfVersionDir } from './version-records.js';
import type { LocalVersioning } from './versioning.js';

/** What store-wide operations need of the local backend. */
export interface MaintenanceContext {
  db: Database.Database;
  index: ObjectIndex;
  versions: VersionIndex;
  versioning: LocalVersioning;
  locks: KeyedMutex;
  lockName(bucket: string, key: string): string;
  bucketDir(bucket: string): string;
  /** `<data>/.s3local/versions`, the version store. */
  versionsDir: string;
  /** A fresh path in `.s3local/tmp/` for the health probe file. */
  probePath(): string;
}

function ignore(): void {}

/**
 * Health probe: a probe file written, fsynced and removed in `.s3local/tmp` (the file system
 * takes writes: not full, not read-only, the directory still there), then the index's write lock
 * taken and released (not locked by another process, not read-only). Messages name the error
 * code, never a path.
 */
export async function checkHealth(ctx: MaintenanceContext): Promise<void> {
  const probe = ctx.probePath();
  try {
    const fh = await open(probe, 'wx', FILE_MODE);
    try {
      await fh.writeFile('s3local health probe\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
  } catch (err) {
    await unlinkQuiet(probe).catch(ignore);
    throw new Error(`the data directory does not take writes (${errnoOf(err) ?? 'error'})`);
  }
  const db = ctx.db;
  if (!db.open) throw new Error('the index is closed');
  if (db.inTransaction) return; // a write is committing right now: the index is alive
  const previous = db.pragma('busy_timeout', { simple: true }) as number;
  try {
    // Short wait: better-sqlite3 blocks the event loop while it waits for the lock.
    db.pragma('busy_timeout = 100');
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
  } catch (err) {
    throw new Error(`the index cannot be written (${errnoOf(err) ?? 'error'})`);
  } finally {
    db.pragma(`busy_timeout = ${previous}`);
  }
}

/**
 * Objects and bytes per bucket from the index, summed page by page (`pageSize` rows per query)
 * with the event loop free between pages, so a large store never stalls requests.
 */
export async function collectStats(ctx: MaintenanceContext, pageSize: number): Promise<BackendStats> {
  const buckets: BackendStats['buckets'] = [];
  for (const bucket of ctx.index.listBuckets()) {
    let objects = 0;
    let bytes = 0;
    let after = '';
    for (;;) {
      if (!ctx.db.open) throw new Error('the index is closed');
      const page = ctx.index.sumObjects(bucket.name, after, pageSize);
      objects += page.count;
      bytes += page.bytes;
      if (page.count < pageSize || page.last === null) break;
      after = page.last;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    buckets.push({ name: bucket.name, objects, bytes });
  }
  const stats: BackendStats = { buckets };
  const uploads = ctx.db
    .prepare<[], number>(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'multipart_uploads'",
    )
    .pluck()
    .get();
  if (uploads === 1) {
    stats.multipartUploads =
      ctx.db.prepare<[], number>('SELECT count(*) FROM multipart_uploads').pluck().get() ?? 0;
  }
  return stats;
}

/**
 * Rebuilds the index from the files (rebuild.ts): adds files written behind the server's back,
 * re-hashes changed ones, fixes moved ones, drops rows whose file is gone; then settles every
 * versioned key ({@link settleAllVersions}).
 */
export async function rebuildStore(ctx: MaintenanceContext, opts: RebuildOptions): Promise<RebuildResult> {
  const result = await rebuildIndex(
    { db: ctx.db, index: ctx.index, bucketDir: (bucket) => ctx.bucketDir(bucket) },
    opts,
  );
  result.versionedKeys = await settleAllVersions(ctx, result.buckets);
  return result;
}

/**
 * `cache rebuild`, second part: every key of the version store is settled and its rows rewritten
 * from its records (versions, delete markers, object lock), and keys with version rows but no
 * records left lose them; a directory without any record loses its leftover temp files (and goes
 * when empty). Returns how many keys were settled.
 */
export async function settleAllVersions(
  ctx: MaintenanceContext,
  buckets: readonly string[],
): Promise<number> {
  let settled = 0;
  const settleKey = (bucket: string, key: string) =>
    ctx.locks.run(ctx.lockName(bucket, key), () => ctx.versioning.settle(bucket, key));
  for (const bucket of buckets) {
    const root = join(ctx.versionsDir, bucket);
    for (const shard of await readdir(root).catch(() => [] as string[])) {
      for (const name of await readdir(join(root, shard)).catch(() => [] as string[])) {
        const dir = join(root, shard, name);
        const key = await keyOfVersionDir(dir);
        if (key === undefined) {
          await clearRecordlessDir(dir);
          continue;
        }
        await settleKey(bucket, key);
        settled++;
      }
    }
    let after = '';
    for (let keys = ctx.versions.keysAfter(bucket, after, 500); keys.length > 0;) {
      for (const key of keys) await settleKey(bucket, key);
      after = keys.at(-1)!;
      keys = ctx.versions.keysAfter(bucket, after, 500);
    }
  }
  return settled;
}
