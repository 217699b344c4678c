/**
 * Opening the SQLite index of a local store: file permissions, pragmas, migrations.
 */
import { closeSync, chmodSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

/**
 * Opens (creating when absent, mode 0600) the index database at `file`, in WAL mode with
 * `synchronous=FULL`: a commit is on disk when it returns, so an acknowledged write is durable
 * (SQLite gives the -wal and -shm files the mode of the database file). Runs the migrations.
 * One connection per store; never share it between stores.
 */
export function openIndexDatabase(file: string): Database.Database {
  // better-sqlite3 would create the file with umask permissions; create it private first.
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    // Another process (e.g. `s3local cache rebuild`) may hold the write lock briefly.
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
