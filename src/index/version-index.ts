/**
 * Prepared statements over `object_versions` (migration 4): the noncurrent versions and delete
 * markers of a local store, each row mirroring a version record on disk
 * (storage/local/version-records.ts). The current version lives in `objects`.
 */
import type Database from 'better-sqlite3';
import type { SeekBound } from '../storage/listing.js';
import type { VersionRecord } from '../storage/local/version-records.js';

/** The object_versions statements of one store. */
export class VersionIndex {
  readonly #deleteKey: Database.Statement<[string, string]>;
  readonly #insert: Database.Statement<[string, string, number, string, string]>;
  readonly #byId: Database.Statement<[string, string, string], string>;
  readonly #newest: Database.Statement<[string, string], string>;
  readonly #anyInBucket: Database.Statement<[string], number>;
  readonly #anyForKey: Database.Statement<[string, string], number>;
  readonly #deleteBucket: Database.Statement<[string]>;
  readonly #olderThan: Database.Statement<[string, string, number], string>;
  readonly #seek: Record<'gt' | 'ge' | 'gtLt' | 'geLt', Database.Statement<unknown[], string>>;
  readonly #keys: Database.Statement<[string, string, number], string>;

  constructor(readonly db: Database.Database) {
    this.#deleteKey = db.prepare('DELETE FROM object_versions WHERE bucket = ? AND key = ?');
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO object_versions (bucket, key, seq, version_id, record) VALUES (?, ?, ?, ?, ?)',
    );
    this.#byId = db
      .prepare<[string, string, string], string>(
        'SELECT record FROM object_versions WHERE bucket = ? AND key = ? AND version_id = ?',
      )
      .pluck();
    this.#newest = db
      .prepare<[string, string], string>(
        'SELECT record FROM object_versions WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1',
      )
      .pluck();
    this.#anyInBucket = db
      .prepare<[string], number>('SELECT 1 FROM object_versions WHERE bucket = ? LIMIT 1')
      .pluck();
    this.#anyForKey = db
      .prepare<[string, string], number>('SELECT 1 FROM object_versions WHERE bucket = ? AND key = ? LIMIT 1')
      .pluck();
    this.#deleteBucket = db.prepare('DELETE FROM object_versions WHERE bucket = ?');
    this.#olderThan = db
      .prepare<[string, string, number], string>(
        'SELECT record FROM object_versions WHERE bucket = ? AND key = ? AND seq < ? ORDER BY seq DESC',
      )
      .pluck();
    const seek = (op: '>' | '>=', upper: boolean): Database.Statement<unknown[], string> =>
      db
        .prepare<unknown[], string>(
          `SELECT record FROM object_versions WHERE bucket = ? AND key ${op} ?` +
            (upper ? ' AND key < ?' : '') +
            ' ORDER BY key, seq DESC LIMIT ?',
        )
        .pluck();
    this.#seek = {
      gt: seek('>', false),
      ge: seek('>=', false),
      gtLt: seek('>', true),
      geLt: seek('>=', true),
    };
    this.#keys = db
      .prepare<[string, string, number], string>(
        'SELECT DISTINCT key FROM object_versions WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?',
      )
      .pluck();
  }

  /** Replaces every row of the key by `records` (call inside a transaction). */
  replaceKey(bucket: string, key: string, records: readonly VersionRecord[]): void {
    this.#deleteKey.run(bucket, key);
    for (const r of records) this.#insert.run(bucket, key, r.seq, r.versionId, JSON.stringify(r));
  }

  /** The noncurrent version or delete marker with this id. */
  byId(bucket: string, key: string, versionId: string): VersionRecord | undefined {
    const json = this.#byId.get(bucket, key, versionId);
    return json === undefined ? undefined : (JSON.parse(json) as VersionRecord);
  }

  /** The newest noncurrent version or delete marker of the key. */
  newest(bucket: string, key: string): VersionRecord | undefined {
    const json = this.#newest.get(bucket, key);
    return json === undefined ? undefined : (JSON.parse(json) as VersionRecord);
  }

  /** The key's rows older than `seq`, newest first. */
  olderThan(bucket: string, key: string, seq: number): VersionRecord[] {
    return this.#olderThan.all(bucket, key, seq).map((j) => JSON.parse(j) as VersionRecord);
  }

  /** True when the bucket holds any noncurrent version or delete marker. */
  hasAny(bucket: string): boolean {
    return this.#anyInBucket.get(bucket) !== undefined;
  }

  /** True when the key has any noncurrent version or delete marker. */
  hasKey(bucket: string, key: string): boolean {
    return this.#anyForKey.get(bucket, key) !== undefined;
  }

  /** Forgets every row of the bucket. */
  forgetBucket(bucket: string): void {
    this.#deleteBucket.run(bucket);
  }

  /** Up to `limit` distinct keys with rows, after `after` (for `cache rebuild`, page by page). */
  keysAfter(bucket: string, after: string, limit: number): string[] {
    return this.#keys.all(bucket, after, limit);
  }

  /** Rows from `from` upward and below `before`, by key then newest first; lazy. */
  *seek(
    bucket: string,
    from: SeekBound,
    before: string | undefined,
    limit: number,
  ): Generator<VersionRecord> {
    const rows =
      before === undefined
        ? (from.inclusive ? this.#seek.ge : this.#seek.gt).iterate(bucket, from.key, limit)
        : (from.inclusive ? this.#seek.geLt : this.#seek.gtLt).iterate(bucket, from.key, before, limit);
    for (const json of rows) yield JSON.parse(json) as VersionRecord;
  }
}
