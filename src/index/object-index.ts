/**
 * Prepared statements over the index tables (buckets, objects) of one local store, and the
 * row <-> ObjectInfo conversion. Synchronous (better-sqlite3): a check followed by a write in the
 * same call cannot interleave with other JavaScript code of this process.
 */
import type Database from 'better-sqlite3';
import type { Checksums } from '../s3/body.js';
import type {
  BucketInfo,
  ObjectHeaders,
  ObjectInfo,
  ObjectLockState,
  ObjectTag,
  PartLayout,
  RetentionMode,
} from '../storage/backend.js';
import type { SeekBound } from '../storage/listing.js';

/** One row of `objects`, JSON columns still encoded. */
export interface ObjectRow {
  bucket: string;
  key: string;
  /** File path relative to the bucket directory, '/'-separated. */
  path: string;
  size: number;
  etag: string;
  /**
   * File mtime in ns at commit. Written exactly (bigint); read back as a number, which rounds to
   * the nearest double exactly as `Number(stat.mtimeNs)` does, so equality checks still hold.
   */
  mtimeNs: number | bigint;
  /** ms since the epoch. */
  lastModified: number;
  headers: string;
  metadata: string;
  checksums: string;
  checksumType: string | null;
  parts: string | null;
  /**
   * JSON {@link CurrentVersion} of a versioned object; null/absent for an object never versioned
   * (the null version without lock).
   */
  version?: string | null;
  /** JSON tag set ({@link encodeTags}); null/absent when the version has no tags. */
  tags?: string | null | undefined;
}

/** The stored form of a tag set: JSON `[[key, value], ...]` in order; null when empty. */
export function encodeTags(tags: readonly ObjectTag[] | undefined): string | null {
  return tags === undefined || tags.length === 0 ? null : JSON.stringify(tags.map((t) => [t.key, t.value]));
}

/** The tags of a stored tag set (undefined when none). */
export function decodeTags(text: string | null | undefined): ObjectTag[] | undefined {
  if (!text) return undefined;
  const pairs = JSON.parse(text) as [string, string][];
  return pairs.length === 0 ? undefined : pairs.map(([key, value]) => ({ key, value }));
}

/** What `objects.version` holds: the current version's id, its order among versions, its lock. */
export interface CurrentVersion {
  id: string;
  seq: number;
  lock?: StoredLock;
}

/** An object lock as stored (JSON): dates as ms since the epoch. */
export interface StoredLock {
  mode?: RetentionMode;
  retainUntil?: number;
  legalHold?: boolean;
}

/** The ObjectLockState of a stored lock (undefined when it holds nothing). */
export function lockFromStored(lock: StoredLock | undefined): ObjectLockState | undefined {
  if (lock === undefined) return undefined;
  const out: ObjectLockState = {};
  if (lock.mode !== undefined && lock.retainUntil !== undefined) {
    out.mode = lock.mode;
    out.retainUntil = new Date(lock.retainUntil);
  }
  if (lock.legalHold !== undefined) out.legalHold = lock.legalHold;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The stored form of a lock state (undefined when it holds nothing). */
export function lockToStored(lock: ObjectLockState | undefined): StoredLock | undefined {
  if (lock === undefined) return undefined;
  const out: StoredLock = {};
  if (lock.mode !== undefined && lock.retainUntil !== undefined) {
    out.mode = lock.mode;
    out.retainUntil = lock.retainUntil.getTime();
  }
  if (lock.legalHold !== undefined) out.legalHold = lock.legalHold;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The row's current-version JSON, parsed (undefined for an object never versioned). */
export function currentVersionOf(row: Pick<ObjectRow, 'version'>): CurrentVersion | undefined {
  return row.version ? (JSON.parse(row.version) as CurrentVersion) : undefined;
}

const OBJECT_COLUMNS = `bucket, key, path, size, etag, mtime_ns AS mtimeNs, last_modified AS lastModified,
  headers, metadata, checksums, checksum_type AS checksumType, parts, version, tags`;

function parseJson<T>(text: string | null, empty: T): T {
  if (text === null || text === '{}') return empty;
  return JSON.parse(text) as T;
}

/** The ObjectInfo a row describes. */
export function rowToInfo(row: ObjectRow): ObjectInfo {
  const info: ObjectInfo = {
    key: row.key,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.lastModified),
    headers: parseJson<ObjectHeaders>(row.headers, {}),
    metadata: parseJson<Record<string, string>>(row.metadata, {}),
    checksums: parseJson<Checksums>(row.checksums, {}),
    storageClass: 'STANDARD',
  };
  if (row.checksumType === 'FULL_OBJECT' || row.checksumType === 'COMPOSITE')
    info.checksumType = row.checksumType;
  if (row.parts !== null) info.parts = JSON.parse(row.parts) as PartLayout;
  const tags = decodeTags(row.tags);
  if (tags !== undefined) info.tags = tags;
  const version = currentVersionOf(row);
  if (version !== undefined) {
    info.versionId = version.id;
    const lock = lockFromStored(version.lock);
    if (lock !== undefined) info.lock = lock;
  }
  return info;
}

/** Encodes the JSON columns of a row from an info's parts. */
export function encodeJsonColumns(
  headers: ObjectHeaders,
  metadata: Record<string, string>,
  checksums: Checksums,
  parts?: PartLayout,
): Pick<ObjectRow, 'headers' | 'metadata' | 'checksums' | 'parts'> {
  return {
    headers: JSON.stringify(headers),
    metadata: JSON.stringify(metadata),
    checksums: JSON.stringify(checksums),
    parts: parts === undefined ? null : JSON.stringify(parts),
  };
}

type Stmt<P extends unknown[] | object, R = unknown> = Database.Statement<P extends unknown[] ? P : [P], R>;

/** The index of one store. Construct once per open database. */
export class ObjectIndex {
  readonly #getBucket: Stmt<[string], { name: string; createdAt: number }>;
  readonly #insertBucket: Stmt<[string, number]>;
  readonly #deleteBucket: Stmt<[string]>;
  readonly #listBuckets: Stmt<[], { name: string; createdAt: number }>;
  readonly #anyObject: Stmt<[string], number>;
  readonly #deleteBucketObjects: Stmt<[string]>;
  readonly #getObject: Stmt<[string, string], ObjectRow>;
  readonly #upsertObject: Stmt<ObjectRow & { version: string | null; tags: string | null }>;
  readonly #setTags: Stmt<[string | null, string, string]>;
  readonly #deleteObject: Stmt<[string, string]>;
  readonly #setPath: Stmt<[string, string, string]>;
  readonly #seek: Record<'gt' | 'ge' | 'gtLt' | 'geLt', Stmt<unknown[], ObjectRow>>;

  constructor(readonly db: Database.Database) {
    this.#getBucket = db.prepare('SELECT name, created_at AS createdAt FROM buckets WHERE name = ?');
    this.#insertBucket = db.prepare('INSERT OR IGNORE INTO buckets (name, created_at) VALUES (?, ?)');
    this.#deleteBucket = db.prepare('DELETE FROM buckets WHERE name = ?');
    this.#listBuckets = db.prepare('SELECT name, created_at AS createdAt FROM buckets ORDER BY name');
    this.#anyObject = db.prepare<[string], number>('SELECT 1 FROM objects WHERE bucket = ? LIMIT 1').pluck();
    this.#deleteBucketObjects = db.prepare('DELETE FROM objects WHERE bucket = ?');
    this.#getObject = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key = ?`);
    this.#upsertObject = db.prepare(
      `INSERT OR REPLACE INTO objects (bucket, key, path, size, etag, mtime_ns, last_modified, headers,
         metadata, checksums, checksum_type, parts, version, tags)
       VALUES (@bucket, @key, @path, @size, @etag, @mtimeNs, @lastModified, @headers, @metadata, @checksums,
         @checksumType, @parts, @version, @tags)`,
    );
    this.#setTags = db.prepare('UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?');
    this.#deleteObject = db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ?');
    this.#setPath = db.prepare('UPDATE objects SET path = ? WHERE bucket = ? AND key = ?');
    const seek = (op: '>' | '>=', upper: boolean): Stmt<unknown[], ObjectRow> =>
      db.prepare(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE bucket = ? AND key ${op} ?` +
          (upper ? ' AND key < ?' : '') +
          ' ORDER BY key LIMIT ?',
      );
    this.#seek = {
      gt: seek('>', false),
      ge: seek('>=', false),
      gtLt: seek('>', true),
      geLt: seek('>=', true),
    };
  }

  /** The bucket, or undefined. */
  getBucket(name: string): BucketInfo | undefined {
    const row = this.#getBucket.get(name);
    return row && { name: row.name, creationDate: new Date(row.createdAt) };
  }

  /** Inserts the bucket row; false when it already existed. */
  insertBucket(name: string, createdAt: number): boolean {
    return this.#insertBucket.run(name, createdAt).changes === 1;
  }

  /** Deletes the bucket row unless an object row remains; returns whether it was deleted. */
  deleteBucketIfEmpty(name: string): boolean {
    if (this.#anyObject.get(name) !== undefined) return false;
    return this.#deleteBucket.run(name).changes === 1;
  }

  /** Removes a bucket and every object row in it (its directory vanished). */
  forgetBucket(name: string): void {
    this.db.transaction(() => {
      this.#deleteBucketObjects.run(name);
      this.#deleteBucket.run(name);
    })();
  }

  /** True when any object row exists in the bucket. */
  hasObjects(bucket: string): boolean {
    return this.#anyObject.get(bucket) !== undefined;
  }

  /** Every bucket, by name in byte order. */
  listBuckets(): BucketInfo[] {
    return this.#listBuckets.all().map((r) => ({ name: r.name, creationDate: new Date(r.createdAt) }));
  }

  /** The object row, or undefined. */
  getObject(bucket: string, key: string): ObjectRow | undefined {
    return this.#getObject.get(bucket, key);
  }

  /** Inserts or replaces the row if its bucket exists; returns false (writing nothing) otherwise. */
  putObject(row: ObjectRow): boolean {
    if (this.#getBucket.get(row.bucket) === undefined) return false;
    this.#upsertObject.run({ ...row, version: row.version ?? null, tags: row.tags ?? null });
    return true;
  }

  /** Replaces the tags (encoded, {@link encodeTags}) of the row; true when there was one. */
  setTags(bucket: string, key: string, tags: string | null): boolean {
    return this.#setTags.run(tags, bucket, key).changes === 1;
  }

  /** Deletes the row; true when there was one. */
  deleteObject(bucket: string, key: string): boolean {
    return this.#deleteObject.run(bucket, key).changes === 1;
  }

  /** Records that the object's file moved. */
  setPath(bucket: string, key: string, path: string): void {
    this.#setPath.run(path, bucket, key);
  }

  /**
   * Object count and total size of the first `limit` objects of `bucket` with keys strictly after
   * `after`, and the last key of that page (null when empty): a bounded aggregate, so a caller can
   * sum a large bucket page by page and let other work run in between (metrics).
   */
  sumObjects(
    bucket: string,
    after: string,
    limit: number,
  ): { count: number; bytes: number; last: string | null } {
    this.#sumPage ??= this.db.prepare(
      `SELECT count(*) AS count, coalesce(sum(size), 0) AS bytes, max(key) AS last
         FROM (SELECT key, size FROM objects WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?)`,
    );
    return this.#sumPage.get(bucket, after, limit) as { count: number; bytes: number; last: string | null };
  }

  #sumPage: Database.Statement<[string, string, number]> | undefined;

  /**
   * Rows of `bucket` from `from` upward and strictly below `before` (unbounded when undefined), in
   * key byte order, at most `limit`. Lazy: stop iterating to stop reading.
   */
  seekObjects(
    bucket: string,
    from: SeekBound,
    before: string | undefined,
    limit: number,
  ): IterableIterator<ObjectRow> {
    if (before === undefined) {
      return (from.inclusive ? this.#seek.ge : this.#seek.gt).iterate(bucket, from.key, limit);
    }
    return (from.inclusive ? this.#seek.geLt : this.#seek.gtLt).iterate(bucket, from.key, before, limit);
  }
}
