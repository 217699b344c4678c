/**
 * The store lock: `<data>/.s3local/lock`, held by the one process that writes a store (a running
 * `s3local serve`, or a `cache rebuild|cleanup|vacuum`) for as long as it has the store open.
 *
 * The lock is an operating-system lock, not a pid file: the file is a tiny SQLite database opened
 * in `locking_mode=EXCLUSIVE` with a write transaction committed, so SQLite keeps its exclusive
 * file lock (fcntl on Unix, LockFileEx on Windows) until the connection closes — or the process
 * dies, however it dies (kill -9 included). There is no stale lock to clean up and no pid reuse to
 * fool a liveness check. SQLite also tracks the locks of every connection of this process, so a
 * second open of the same store in one process is refused as well.
 *
 * The holder writes its pid into the database header (`PRAGMA user_version`, bytes 60-63), which
 * another process reads with a plain file read to name the holder in its error message. A process
 * never reads the file of a lock it holds itself: closing any descriptor of a file drops that
 * process's POSIX locks on it, so this module keeps a registry of the locks held here.
 */
import { chmodSync, closeSync, openSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Name of the lock file inside `<data>/.s3local/`. */
export const LOCK_FILE = 'lock';

/** Thrown by {@link StoreLock.acquire} when another process (or connection) holds the store. */
export class StoreLockedError extends Error {
  /** Absolute path of the data directory. */
  readonly root: string;
  /** Pid of the holder, when it could be read (and is a running process). */
  readonly pid: number | undefined;

  constructor(root: string, pid: number | undefined) {
    super(
      pid === undefined
        ? `the store at ${root} is in use by another s3local process`
        : `the store at ${root} is in use by s3local (pid ${pid})`,
    );
    this.name = 'StoreLockedError';
    this.root = root;
    this.pid = pid;
  }
}

/** Locks held by this process: real path of the lock file -> holder description. */
const held = new Map<string, { pid: number }>();

function sqliteCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : '';
}

function isBusy(err: unknown): boolean {
  const code = sqliteCode(err);
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

function isCorrupt(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

/** True when `pid` names a running process (EPERM: running, owned by another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return sqliteCode(err) === 'EPERM';
  }
}

/** The holder's pid from the database header, or undefined. */
function readHolderPid(file: string): number | undefined {
  try {
    const header = readFileSync(file).subarray(0, 100);
    if (header.length < 64) return undefined;
    const pid = header.readUInt32BE(60);
    return pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** An acquired store lock. */
export class StoreLock {
  readonly #db: Database.Database;
  readonly #key: string;

  private constructor(db: Database.Database, key: string) {
    this.#db = db;
    this.#key = key;
  }

  /**
   * Takes the lock of the store whose data directory is `root` (`<root>/.s3local` must exist).
   * Never waits: throws {@link StoreLockedError} at once when another process or another open
   * of this process holds it.
   */
  static acquire(root: string): StoreLock {
    const file = join(root, '.s3local', LOCK_FILE);
    for (let attempt = 0; ; attempt++) {
      const mine = held.get(realPath(file));
      if (mine !== undefined) throw new StoreLockedError(root, mine.pid);
      // A 0-byte file is an empty database; create it private (SQLite would use the umask).
      closeSync(openSync(file, 'a', 0o600));
      chmodSync(file, 0o600);
      const db = new Database(file, { timeout: 0 });
      const key = realpathSync(file);
      try {
        db.pragma('locking_mode = EXCLUSIVE');
        // No journal file beside the lock: the only write is page 1, which a crash cannot tear.
        db.pragma('journal_mode = MEMORY');
        db.exec('BEGIN EXCLUSIVE');
        db.pragma(`user_version = ${process.pid}`);
        db.exec('COMMIT');
        held.set(key, { pid: process.pid });
        return new StoreLock(db, key);
      } catch (err) {
        db.close();
        if (isBusy(err)) throw new StoreLockedError(root, readHolderPid(file));
        if (isCorrupt(err) && attempt === 0) {
          // Not a database (e.g. replaced by hand): nobody can hold a lock through it. Set it aside.
          renameSync(file, `${file}.corrupt-${Date.now()}`);
          continue;
        }
        throw err;
      }
    }
  }

  /** Releases the lock (idempotent). */
  release(): void {
    if (!this.#db.open) return;
    this.#db.close();
    held.delete(this.#key);
  }
}
