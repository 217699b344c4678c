/**
 * Rebuilding the index of a local store from its files (`s3local cache rebuild`), and the other
 * maintenance of the index (`cache stats|cleanup|vacuum`).
 *
 * The rebuild walks every bucket directory, maps each file back to its key (`pathToKey`; names
 * s3local never writes are ignored), and brings the rows in line: files added behind the server's
 * back are indexed (MD5 computed while streaming the file), changed ones (size or mtime) re-hashed,
 * moved ones get their path fixed, and rows whose file is gone are dropped. Rows are written in
 * batched transactions; the keys seen are collected in a temporary table (on disk, not in memory),
 * so memory stays bounded whatever the store size. It runs with the store lock held (no server).
 */
import { readdir, open, stat } from 'node:fs/promises';
import type { BigIntStats, Dirent } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ObjectIndex, ObjectRow } from '../../index/object-index.js';
import { errnoOf } from './fs-ops.js';
import { pathToKey } from './key-path.js';
import { sameFile } from './reconcile.js';

/** What the rebuild needs of an open store. */
export interface RebuildContext {
  db: Database.Database;
  index: ObjectIndex;
  bucketDir(bucket: string): string;
}

/** Options of {@link rebuildIndex}. */
export interface RebuildOptions {
  /** Only this bucket (it must exist). */
  bucket?: string;
  /** Count the files first (a quick walk without stat), so progress reports carry a total. */
  countFirst?: boolean;
  /** Files per transaction (default 1000). */
  batchSize?: number;
  /** Files read at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called after every file (throttle in the caller). */
  onProgress?: (p: RebuildProgress) => void;
}

/** Progress of a rebuild. */
export interface RebuildProgress {
  phase: 'counting' | 'scanning' | 'pruning';
  /** Files looked at so far. */
  files: number;
  /** Bytes of those files. */
  bytes: number;
  /** Files to look at in all (when counted first). */
  totalFiles?: number;
}

/** What a rebuild found and did. */
export interface RebuildResult {
  buckets: string[];
  /** Object files looked at, and their bytes. */
  files: number;
  bytes: number;
  /** Rows added for files that had none. */
  added: number;
  /** Rows re-hashed because the file's size or mtime changed. */
  updated: number;
  /** Rows whose path was fixed (the file had moved). */
  moved: number;
  unchanged: number;
  /** Rows dropped because their file is gone. */
  removed: number;
  /** Files that are not objects (names s3local never writes, e.g. `.s3local-foo`). */
  ignored: number;
  /** A second file for a key that already has one (kept on disk, not indexed). */
  duplicates: number;
  /** Files that kept changing while read, or vanished, or could not be read (left as they were). */
  skipped: number;
  /** Bytes read to compute MD5s. */
  hashedBytes: number;
  /** Keys with versions or delete markers whose chain was settled from the version store. */
  versionedKeys?: number;
  seconds: number;
}

const HASH_BUFFER = 1 << 20;

/** A file found by the walk. */
interface Found {
  rel: string;
  key: string;
  st: BigIntStats;
}

/** MD5, size and mtime of a file, read through one handle; undefined when it changed meanwhile. */
async function hashStable(
  abs: string,
  buffer: Buffer,
): Promise<{ md5: string; size: number; st: BigIntStats } | undefined> {
  const fh = await open(abs, 'r');
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile()) return undefined;
    const hash = createHash('md5');
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    const after = await fh.stat({ bigint: true });
    if (after.size !== before.size || after.mtimeNs !== before.mtimeNs || BigInt(size) !== after.size) {
      return undefined;
    }
    return { md5: hash.digest('hex'), size, st: after };
  } finally {
    await fh.close();
  }
}

/** Every file below `dir` (relative paths, '/'-separated), depth first; directories by readdir. */
async function* walkFiles(dir: string, rel = ''): AsyncGenerator<{ rel: string; entry: Dirent }> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // removed while we walk
    throw err;
  }
  for (const entry of entries) {
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) yield* walkFiles(join(dir, entry.name), childRel);
    else yield { rel: childRel, entry };
  }
}

/**
 * Writes rows in batched transactions: the fast path of the rebuild (also used by the benchmark
 * to create a large bucket). Rows whose bucket does not exist are skipped.
 */
export class RowWriter {
  readonly #index: ObjectIndex;
  readonly #batchSize: number;
  #ops: Array<() => void> = [];
  readonly #flushOps: (ops: Array<() => void>) => void;

  constructor(db: Database.Database, index: ObjectIndex, batchSize = 1000) {
    this.#index = index;
    this.#batchSize = batchSize;
    this.#flushOps = db.transaction((ops: Array<() => void>) => {
      for (const op of ops) op();
    });
  }

  /** Queues an upsert. */
  put(row: ObjectRow): void {
    this.#queue(() => void this.#index.putObject(row));
  }

  /** Queues any other statement to run in the same batch. */
  run(op: () => void): void {
    this.#queue(op);
  }

  #queue(op: () => void): void {
    this.#ops.push(op);
    if (this.#ops.length >= this.#batchSize) this.flush();
  }

  /** Commits what is queued. */
  flush(): void {
    if (this.#ops.length === 0) return;
    const ops = this.#ops;
    this.#ops = [];
    this.#flushOps(ops);
  }
}

/** Counts the files below the bucket directories (readdir only, no stat). */
async function countFiles(ctx: RebuildContext, buckets: string[], signal?: AbortSignal): Promise<number> {
  let n = 0;
  for (const bucket of buckets) {
    for await (const _ of walkFiles(ctx.bucketDir(bucket))) {
      n++;
      if ((n & 1023) === 0) signal?.throwIfAborted();
    }
  }
  return n;
}

/**
 * Rebuilds the rows of every bucket (or of `opts.bucket`) from the files; see the module comment.
 * Throws NoSuchBucket-style Error when `opts.bucket` is not a bucket of the store.
 */
export async function rebuildIndex(ctx: RebuildContext, opts: RebuildOptions = {}): Promise<RebuildResult> {
  const t0 = performance.now();
  const known = ctx.index.listBuckets().map((b) => b.name);
  if (opts.bucket !== undefined && !known.includes(opts.bucket)) {
    throw new Error(`no bucket '${opts.bucket}' in this store`);
  }
  const buckets = opts.bucket === undefined ? known : [opts.bucket];
  const r: RebuildResult = {
    buckets,
    files: 0,
    bytes: 0,
    added: 0,
    updated: 0,
    moved: 0,
    unchanged: 0,
    removed: 0,
    ignored: 0,
    duplicates: 0,
    skipped: 0,
    hashedBytes: 0,
    seconds: 0,
  };
  const progress = (phase: RebuildProgress['phase'], totalFiles?: number) =>
    opts.onProgress?.({
      phase,
      files: r.files,
      bytes: r.bytes,
      ...(totalFiles === undefined ? {} : { totalFiles }),
    });
  let total: number | undefined;
  if (opts.countFirst) {
    progress('counting');
    total = await countFiles(ctx, buckets, opts.signal);
  }

  const { db } = ctx;
  db.exec(
    'CREATE TEMP TABLE IF NOT EXISTS rebuild_seen (bucket TEXT NOT NULL, key TEXT NOT NULL, ' +
      'PRIMARY KEY (bucket, key)) WITHOUT ROWID',
  );
  db.exec('DELETE FROM temp.rebuild_seen');
  const markSeen = db.prepare<[string, string]>('INSERT OR IGNORE INTO temp.rebuild_seen VALUES (?, ?)');
  const isSeen = db
    .prepare<[string, string], number>('SELECT 1 FROM temp.rebuild_seen WHERE bucket = ? AND key = ?')
    .pluck();
  const prune = db.prepare<{ bucket: string }>(
    `DELETE FROM objects WHERE bucket = @bucket AND NOT EXISTS
       (SELECT 1 FROM temp.rebuild_seen s WHERE s.bucket = @bucket AND s.key = objects.key)`,
  );
  const writer = new RowWriter(db, ctx.index, opts.batchSize ?? 1000);
  const concurrency = Math.max(1, opts.concurrency ?? 4);

  try {
    for (const bucket of buckets) {
      const root = ctx.bucketDir(bucket);
      // Keys claimed in this batch but not yet committed (a duplicate must see them).
      const pending = new Map<string, string>();
      const claim = (f: Found): boolean => {
        if (pending.has(f.key) || isSeen.get(bucket, f.key) !== undefined) return false;
        pending.set(f.key, f.rel);
        return true;
      };
      const commitBatch = () => {
        writer.flush();
        pending.clear();
      };

      const handle = async (f: Found, buffer: Buffer): Promise<void> => {
        r.files++;
        r.bytes += Number(f.st.size);
        const row = ctx.index.getObject(bucket, f.key);
        if (row !== undefined && row.path !== f.rel) {
          // Is the row's own file still there? Then this one is a second copy.
          const other = await stat(join(root, row.path), { bigint: true }).catch(() => undefined);
          if (other !== undefined && sameFile(row, other)) {
            r.duplicates++;
            return;
          }
        }
        if (!claim(f)) {
          r.duplicates++;
          return;
        }
        writer.run(() => markSeen.run(bucket, f.key));
        if (row !== undefined && sameFile(row, f.st)) {
          if (row.path === f.rel) {
            r.unchanged++;
          } else {
            r.moved++;
            writer.run(() => ctx.index.setPath(bucket, f.key, f.rel));
          }
          return;
        }
        let hashed;
        try {
          hashed =
            (await hashStable(join(root, f.rel), buffer)) ?? (await hashStable(join(root, f.rel), buffer));
        } catch (err) {
          if (errnoOf(err) === undefined) throw err;
          hashed = undefined; // vanished or unreadable
        }
        if (hashed === undefined) {
          r.skipped++;
          // Keep whatever row there is (the file is still being written, or unreadable).
          return;
        }
        r.hashedBytes += hashed.size;
        const mtimeNs = hashed.st.mtimeNs;
        const fresh: ObjectRow =
          row === undefined
            ? {
                bucket,
                key: f.key,
                path: f.rel,
                size: hashed.size,
                etag: hashed.md5,
                mtimeNs,
                lastModified: Math.floor(Number(mtimeNs / 1_000_000n)),
                headers: '{}',
                metadata: '{}',
                checksums: '{}',
                checksumType: null,
                parts: null,
              }
            : {
                // Changed behind the server's back: new bytes, same headers and metadata.
                ...row,
                path: f.rel,
                size: hashed.size,
                etag: hashed.md5,
                mtimeNs,
                lastModified: Math.floor(Number(mtimeNs / 1_000_000n)),
                checksums: '{}',
                checksumType: null,
                parts: null,
              };
        if (row === undefined) r.added++;
        else r.updated++;
        writer.put(fresh);
      };

      // A small pool: `concurrency` files in flight, fed by the walk.
      const walk = walkFiles(root);
      let sinceCommit = 0;
      const next = async (): Promise<Found | undefined> => {
        for (;;) {
          const item = await walk.next();
          if (item.done) return undefined;
          const { rel } = item.value;
          const key = pathToKey(rel);
          if (key === undefined) {
            r.ignored++;
            continue;
          }
          // Symbolic links to files are followed; to directories they are not (no cycles).
          const st = await stat(join(root, rel), { bigint: true }).catch(() => undefined);
          if (st === undefined) {
            r.skipped++; // vanished meanwhile (or a dangling link)
            continue;
          }
          if (!st.isFile()) {
            r.ignored++; // a socket, a FIFO, a link to a directory
            continue;
          }
          return { rel, key, st };
        }
      };
      let walking: Promise<Found | undefined> = Promise.resolve(undefined);
      const pull = (): Promise<Found | undefined> => {
        // Serialise walk.next(): an async generator may not be advanced concurrently.
        walking = walking.then(() => next());
        return walking;
      };
      const worker = async () => {
        const buffer = Buffer.allocUnsafe(HASH_BUFFER);
        for (;;) {
          opts.signal?.throwIfAborted();
          const f = await pull();
          if (f === undefined) return;
          await handle(f, buffer);
          progress('scanning', total);
          if (++sinceCommit >= (opts.batchSize ?? 1000)) {
            sinceCommit = 0;
            commitBatch();
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      commitBatch();
      progress('pruning', total);
      r.removed += prune.run({ bucket }).changes;
    }
  } finally {
    writer.flush();
    db.exec('DELETE FROM temp.rebuild_seen');
  }
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}

// ---- stats, cleanup, vacuum ------------------------------------------------------------------

/** Objects and bytes of one bucket. */
export interface BucketStats {
  name: string;
  objects: number;
  bytes: number;
}

/**
 * Objects and bytes per bucket, read from the index file without opening the store (no lock, no
 * migration: a running server's index can be read), every bucket included. Throws ENOENT-coded
 * errors when there is no index.
 */
export function readIndexStats(indexFile: string): BucketStats[] {
  const db = new Database(indexFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[], BucketStats>(
        `SELECT b.name AS name,
                (SELECT COUNT(*) FROM objects o WHERE o.bucket = b.name) AS objects,
                (SELECT COALESCE(SUM(size), 0) FROM objects o WHERE o.bucket = b.name) AS bytes
           FROM buckets b ORDER BY b.name`,
      )
      .all();
  } finally {
    db.close();
  }
}

/** Deletes the rows of `bucket` (every bucket when undefined); returns how many. Never touches files. */
export function dropRows(db: Database.Database, bucket?: string): number {
  const run = db.transaction(() => {
    if (bucket === undefined) {
      db.prepare('DELETE FROM object_versions').run();
      return db.prepare('DELETE FROM objects').run().changes;
    }
    db.prepare('DELETE FROM object_versions WHERE bucket = ?').run(bucket);
    return db.prepare('DELETE FROM objects WHERE bucket = ?').run(bucket).changes;
  });
  return run();
}

/**
 * VACUUM, then a truncating checkpoint so the space comes back to the file system. Returns the
 * size of the index file plus its WAL before and after.
 */
export async function vacuumIndex(db: Database.Database): Promise<{ before: number; after: number }> {
  const size = async () => {
    let total = 0;
    for (const f of [db.name, `${db.name}-wal`]) {
      total += await stat(f).then(
        (s) => s.size,
        () => 0,
      );
    }
    return total;
  };
  const before = await size();
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { before, after: await size() };
}
