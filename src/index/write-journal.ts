/**
 * The journal of in-flight writes of a local store (table `write_journal`, migration 2), so that a
 * store killed in the middle of a PUT, copy, CompleteMultipartUpload or DELETE is made consistent
 * when it opens again, at a cost proportional to the writes that were in flight — never a walk of
 * the store.
 *
 * A write records its intent (the key, and for a put the inode of the file about to be renamed
 * into place plus the complete row it is going to commit) before it touches the key's path, and
 * removes it in the same transaction that commits the row. Recovery (LocalBackend.open) then finds
 * either the new file in place (roll forward: commit the recorded row) or not (the row and the
 * disk are reconciled as they are).
 *
 * Intents are committed with `synchronous=NORMAL`: written to the WAL (they survive a killed
 * process) without an fsync of their own, so they cost no extra disk flush on the write path; the
 * row commit that follows is `synchronous=FULL` and flushes them with it. After a power loss (not a
 * process crash) between the rename and the row commit, a file may be left without its row;
 * `s3local cache rebuild` indexes it.
 */
import type Database from 'better-sqlite3';
import type { ObjectRow } from './object-index.js';

/** One recorded intent. */
export type JournalEntry =
  | { id: number; op: 'put'; bucket: string; key: string; ino: bigint; row: ObjectRow; startedAt: number }
  | { id: number; op: 'delete'; bucket: string; key: string; startedAt: number }
  /** A versioned write: the key's version chain is settled again from its records. */
  | { id: number; op: 'versions'; bucket: string; key: string; startedAt: number };

interface RawEntry {
  id: number;
  op: string;
  bucket: string;
  key: string;
  ino: string | null;
  row: string | null;
  startedAt: number;
}

/** The journal of one store's index database. */
export class WriteJournal {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[string, string, string, string | null, string | null, number]>;
  readonly #delete: Database.Statement<[number]>;
  readonly #all: Database.Statement<[], RawEntry>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#insert = db.prepare(
      'INSERT INTO write_journal (op, bucket, key, ino, row, started_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#delete = db.prepare('DELETE FROM write_journal WHERE id = ?');
    this.#all = db.prepare(
      'SELECT id, op, bucket, key, ino, row, started_at AS startedAt FROM write_journal ORDER BY id',
    );
  }

  /** Records that `key` is about to get the file of inode `ino` and then `row` (path not yet known). */
  beginPut(bucket: string, key: string, ino: bigint, row: ObjectRow): JournalEntry {
    const json = JSON.stringify({ ...row, mtimeNs: String(row.mtimeNs) });
    const startedAt = Date.now();
    const id = this.#record('put', bucket, key, String(ino), json, startedAt);
    return { id, op: 'put', bucket, key, ino, row, startedAt };
  }

  /** Records that `key`'s file is about to be removed. */
  beginDelete(bucket: string, key: string): JournalEntry {
    const startedAt = Date.now();
    const id = this.#record('delete', bucket, key, null, null, startedAt);
    return { id, op: 'delete', bucket, key, startedAt };
  }

  /** Records that `key`'s version chain (storage/local/versioning.ts) is about to change. */
  beginVersions(bucket: string, key: string): JournalEntry {
    const startedAt = Date.now();
    const id = this.#record('versions', bucket, key, null, null, startedAt);
    return { id, op: 'versions', bucket, key, startedAt };
  }

  #record(
    op: string,
    bucket: string,
    key: string,
    ino: string | null,
    row: string | null,
    at: number,
  ): number {
    const previous = this.#db.pragma('synchronous', { simple: true }) as number;
    this.#db.pragma('synchronous = NORMAL');
    try {
      return Number(this.#insert.run(op, bucket, key, ino, row, at).lastInsertRowid);
    } finally {
      this.#db.pragma(`synchronous = ${previous}`);
    }
  }

  /** Removes the intent (call inside the transaction that commits the row, when there is one). */
  end(entry: JournalEntry): void {
    this.#delete.run(entry.id);
  }

  /** Every intent left, oldest first (after a crash: the writes that were in flight). */
  entries(): JournalEntry[] {
    return this.#all.all().flatMap((r): JournalEntry[] => {
      if (r.op === 'delete' || r.op === 'versions') {
        return [{ id: r.id, op: r.op, bucket: r.bucket, key: r.key, startedAt: r.startedAt }];
      }
      if (r.op !== 'put' || r.ino === null || r.row === null) return [];
      const parsed = JSON.parse(r.row) as ObjectRow & { mtimeNs: string };
      return [
        {
          id: r.id,
          op: 'put',
          bucket: r.bucket,
          key: r.key,
          ino: BigInt(r.ino),
          row: { ...parsed, mtimeNs: BigInt(parsed.mtimeNs) },
          startedAt: r.startedAt,
        },
      ];
    });
  }

  /** Removes every intent (entries that could not be parsed included). */
  clear(): void {
    this.#db.exec('DELETE FROM write_journal');
  }
}
