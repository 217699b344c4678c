/**
 * Schema of the local index (`<data>/.s3local/index.sqlite`) as an ordered list of migrations.
 * `PRAGMA user_version` records how many have been applied; each runs in its own transaction
 * together with the version bump, so a crash never leaves a half-migrated index.
 *
 * Keys are TEXT with the BINARY collation: SQLite compares TEXT in a UTF-8 database with memcmp,
 * which is the UTF-8 byte order S3 lists in.
 *
 * Versioning (migration 4): the current version stays in `objects` (its version id and lock in
 * `objects.version`); noncurrent versions and delete markers are rows of `object_versions`, whose
 * bytes and records live under `.s3local/versions/` (storage/local/version-records.ts).
 *
 * Tags (migration 5): `objects.tags` and `multipart_uploads.tags`; a noncurrent version's tags are
 * in its record.
 *
 * Completed uploads (migration 6): `multipart_completions` remembers each successful
 * CompleteMultipartUpload for a while, so that a repeat of it answers 200 again
 * (storage/multipart-completions.ts).
 */
import type Database from 'better-sqlite3';

/** One schema step. Versions are 1, 2, 3 ... in order. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Every migration, oldest first. Append only; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'buckets and current objects',
    sql: `
      CREATE TABLE buckets (
        name        TEXT NOT NULL COLLATE BINARY PRIMARY KEY,
        created_at  INTEGER NOT NULL              -- ms since the epoch
      ) WITHOUT ROWID;

      CREATE TABLE objects (
        bucket        TEXT NOT NULL COLLATE BINARY,
        key           TEXT NOT NULL COLLATE BINARY,
        path          TEXT NOT NULL,              -- file path relative to the bucket directory
        size          INTEGER NOT NULL,
        etag          TEXT NOT NULL,              -- unquoted
        mtime_ns      INTEGER NOT NULL,           -- file mtime at commit, to detect outside changes
        last_modified INTEGER NOT NULL,           -- ms since the epoch
        headers       TEXT NOT NULL DEFAULT '{}', -- JSON ObjectHeaders
        metadata      TEXT NOT NULL DEFAULT '{}', -- JSON user metadata
        checksums     TEXT NOT NULL DEFAULT '{}', -- JSON Checksums
        checksum_type TEXT,                       -- FULL_OBJECT | COMPOSITE | NULL
        parts         TEXT,                       -- JSON PartLayout for multipart objects
        PRIMARY KEY (bucket, key)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'journal of in-flight writes (crash recovery at open)',
    sql: `
      -- One row per write between "file about to be placed / removed" and "row committed";
      -- what a crash left here is settled when the store opens (storage/local/reconcile.ts).
      CREATE TABLE write_journal (
        id          INTEGER PRIMARY KEY,
        op          TEXT NOT NULL,                -- 'put' | 'delete'
        bucket      TEXT NOT NULL COLLATE BINARY,
        key         TEXT NOT NULL COLLATE BINARY,
        ino         TEXT,                         -- put: inode of the file being placed
        row         TEXT,                         -- put: JSON of the objects row to commit
        started_at  INTEGER NOT NULL              -- ms since the epoch
      );
    `,
  },
  {
    version: 3,
    description: 'multipart uploads and their parts',
    sql: `
      -- Open multipart uploads; the part bytes live in .s3local/uploads/<upload_id>/.
      CREATE TABLE multipart_uploads (
        upload_id          TEXT NOT NULL PRIMARY KEY,    -- opaque; sorts by initiation time
        bucket             TEXT NOT NULL COLLATE BINARY,
        key                TEXT NOT NULL COLLATE BINARY,
        initiated          INTEGER NOT NULL,             -- ms since the epoch
        headers            TEXT NOT NULL DEFAULT '{}',   -- JSON ObjectHeaders given on Create
        metadata           TEXT NOT NULL DEFAULT '{}',   -- JSON user metadata given on Create
        checksum_algorithm TEXT,                         -- CRC32 | CRC32C | CRC64NVME | SHA1 | SHA256
        checksum_type      TEXT                          -- COMPOSITE | FULL_OBJECT
      ) WITHOUT ROWID;
      CREATE INDEX multipart_uploads_by_key ON multipart_uploads (bucket, key, upload_id);
      CREATE INDEX multipart_uploads_by_age ON multipart_uploads (initiated);

      CREATE TABLE multipart_parts (
        upload_id     TEXT NOT NULL,
        part_number   INTEGER NOT NULL,                  -- 1..10000
        file          TEXT NOT NULL,                     -- file name in uploads/<upload_id>/
        size          INTEGER NOT NULL,
        etag          TEXT NOT NULL,                     -- unquoted MD5 hex
        checksums     TEXT NOT NULL DEFAULT '{}',        -- JSON Checksums of the part
        last_modified INTEGER NOT NULL,                  -- ms since the epoch
        PRIMARY KEY (upload_id, part_number)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    description: 'object versions and delete markers (versioning, object lock)',
    sql: `
      -- The current version's id, sequence number and object lock, as JSON {id, seq, lock};
      -- NULL for an object never versioned (the null version, no lock).
      ALTER TABLE objects ADD COLUMN version TEXT;

      -- Noncurrent versions and delete markers, newest first within a key. The version record on
      -- disk (.s3local/versions/...) is the truth; this row mirrors it (JSON VersionRecord).
      CREATE TABLE object_versions (
        bucket      TEXT NOT NULL COLLATE BINARY,
        key         TEXT NOT NULL COLLATE BINARY,
        seq         INTEGER NOT NULL,             -- orders the versions of a key (larger = newer)
        version_id  TEXT NOT NULL,                -- 'null' for the null version
        record      TEXT NOT NULL,                -- JSON VersionRecord
        PRIMARY KEY (bucket, key, seq DESC)
      ) WITHOUT ROWID;
      CREATE INDEX object_versions_by_id ON object_versions (bucket, key, version_id);

      -- The object lock the completed object will get (JSON StoredLock), given on Create.
      ALTER TABLE multipart_uploads ADD COLUMN lock TEXT;
    `,
  },
  {
    version: 5,
    description: 'object tags',
    sql: `
      -- The current version's tags as JSON [[key, value], ...] in the order given; NULL: none.
      -- A noncurrent version's tags are in its record (object_versions.record, field "tags").
      ALTER TABLE objects ADD COLUMN tags TEXT;

      -- The tags the completed object will get (x-amz-tagging of Create), same JSON.
      ALTER TABLE multipart_uploads ADD COLUMN tags TEXT;
    `,
  },
  {
    version: 6,
    description: 'completed multipart uploads (a repeated Complete answers 200)',
    sql: `
      -- One row per successful CompleteMultipartUpload, written in the transaction that deletes the
      -- upload's rows, and reaped after a while (storage/multipart-staging.ts).
      CREATE TABLE multipart_completions (
        upload_id     TEXT NOT NULL PRIMARY KEY,
        bucket        TEXT NOT NULL COLLATE BINARY,
        key           TEXT NOT NULL COLLATE BINARY,
        completed_at  INTEGER NOT NULL,             -- ms since the epoch
        parts         TEXT NOT NULL,                -- JSON [[number, etag, size, checksum|null], ...]
        result        TEXT NOT NULL                 -- JSON CompletionResult (ETag, checksums, version ...)
      ) WITHOUT ROWID;
      CREATE INDEX multipart_completions_by_age ON multipart_completions (completed_at);
    `,
  },
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Applies the pending migrations. Throws when the index was written by a newer s3local (a higher
 * user_version), rather than guessing at a schema it does not know.
 */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `the index ${db.name} has schema version ${current}, newer than this s3local supports (${SCHEMA_VERSION})`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}
