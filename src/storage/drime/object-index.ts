/**
 * The Drime backend's local index (better-sqlite3): the MD5 ETag, content type, user metadata and
 * checksums of objects written through s3local, keyed by workspace + entry id and valid only while
 * the entry's `file_name` (the storage UUID, new on every upload) and size still match. Schema
 * versioned with PRAGMA user_version.
 */
import Database from 'better-sqlite3';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Checksums } from '../../s3/body.js';
import type { ObjectHeaders } from '../backend.js';

export const INDEX_SCHEMA_VERSION = 1;

/** What s3local knows about a file entry it wrote. */
export interface StoredObject {
  entryId: number;
  /** The entry's `file_name` when recorded: the record is stale once it differs. */
  fileName: string;
  size: number;
  /** Unquoted ETag (hex MD5, or `md5-N`). */
  etag: string;
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  checksums: Checksums;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  parts?: number[];
  storedAt: number;
}

interface ObjectRow {
  entry_id: number;
  file_name: string;
  size: number;
  etag: string;
  headers: string;
  metadata: string;
  checksums: string;
  checksum_type: string | null;
  parts: string | null;
  stored_at: number;
}

const MIGRATIONS: string[] = [
  `CREATE TABLE drime_objects (
     workspace_id INTEGER NOT NULL,
     entry_id INTEGER NOT NULL,
     file_name TEXT NOT NULL,
     size INTEGER NOT NULL,
     etag TEXT NOT NULL,
     headers TEXT NOT NULL,
     metadata TEXT NOT NULL,
     checksums TEXT NOT NULL,
     checksum_type TEXT,
     parts TEXT,
     stored_at INTEGER NOT NULL,
     PRIMARY KEY (workspace_id, entry_id)
   ) WITHOUT ROWID;
   CREATE TABLE drime_meta (
     workspace_id INTEGER NOT NULL,
     name TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (workspace_id, name)
   ) WITHOUT ROWID;`,
];

function toObject(r: ObjectRow): StoredObject {
  const o: StoredObject = {
    entryId: r.entry_id,
    fileName: r.file_name,
    size: r.size,
    etag: r.etag,
    headers: JSON.parse(r.headers) as ObjectHeaders,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
    checksums: JSON.parse(r.checksums) as Checksums,
    storedAt: r.stored_at,
  };
  if (r.checksum_type === 'FULL_OBJECT' || r.checksum_type === 'COMPOSITE') o.checksumType = r.checksum_type;
  if (r.parts) o.parts = JSON.parse(r.parts) as number[];
  return o;
}

export class DrimeIndex {
  private constructor(private readonly db: Database.Database) {}

  /** Opens (creating and migrating) the index file. */
  static open(path: string): DrimeIndex {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new Database(path);
    try {
      chmodSync(path, 0o600);
    } catch {
      // not ours to change (e.g. a shared file): leave it
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      db.close();
      throw new Error(
        `${path}: Drime index schema ${version} is newer than this s3local (${MIGRATIONS.length})`,
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return new DrimeIndex(db);
  }

  get(ws: number, entryId: number): StoredObject | undefined {
    const r = this.db
      .prepare('SELECT * FROM drime_objects WHERE workspace_id = ? AND entry_id = ?')
      .get(ws, entryId) as ObjectRow | undefined;
    return r ? toObject(r) : undefined;
  }

  /** Records for many entries at once (one listing page). */
  getMany(ws: number, entryIds: readonly number[]): Map<number, StoredObject> {
    const out = new Map<number, StoredObject>();
    const stmt = this.db.prepare('SELECT * FROM drime_objects WHERE workspace_id = ? AND entry_id = ?');
    for (const id of entryIds) {
      const r = stmt.get(ws, id) as ObjectRow | undefined;
      if (r) out.set(id, toObject(r));
    }
    return out;
  }

  put(ws: number, o: StoredObject): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO drime_objects
           (workspace_id, entry_id, file_name, size, etag, headers, metadata, checksums, checksum_type, parts, stored_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        ws,
        o.entryId,
        o.fileName,
        o.size,
        o.etag,
        JSON.stringify(o.headers),
        JSON.stringify(o.metadata),
        JSON.stringify(o.checksums),
        o.checksumType ?? null,
        o.parts ? JSON.stringify(o.parts) : null,
        o.storedAt,
      );
  }

  delete(ws: number, entryIds: readonly number[]): void {
    const stmt = this.db.prepare('DELETE FROM drime_objects WHERE workspace_id = ? AND entry_id = ?');
    this.db.transaction(() => {
      for (const id of entryIds) stmt.run(ws, id);
    })();
  }

  getMeta(ws: number, name: string): string | undefined {
    const r = this.db
      .prepare('SELECT value FROM drime_meta WHERE workspace_id = ? AND name = ?')
      .get(ws, name) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(ws: number, name: string, value: string): void {
    this.db
      .prepare('INSERT OR REPLACE INTO drime_meta (workspace_id, name, value) VALUES (?, ?, ?)')
      .run(ws, name, value);
  }

  /** For `cache stats --workspace`: records and the bytes they describe. */
  stats(ws: number): { objects: number; bytes: number } {
    const o = this.db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM drime_objects WHERE workspace_id = ?')
      .get(ws) as { n: number; b: number };
    return { objects: o.n, bytes: o.b };
  }

  /** Every entry id with a record (for `cache cleanup`). */
  entryIds(ws: number): number[] {
    return (
      this.db.prepare('SELECT entry_id FROM drime_objects WHERE workspace_id = ?').all(ws) as Array<{
        entry_id: number;
      }>
    ).map((r) => r.entry_id);
  }

  /** Workspaces with any record. */
  workspaces(): number[] {
    return (
      this.db.prepare('SELECT DISTINCT workspace_id FROM drime_objects ORDER BY 1').all() as Array<{
        workspace_id: number;
      }>
    ).map((r) => r.workspace_id);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
