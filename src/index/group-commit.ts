/**
 * Group commit for the one writer connection of a store: row commits requested during one turn of
 * the event loop share one transaction, hence one flush to disk, and each caller resolves only
 * once that transaction is on disk. Acknowledged writes stay exactly as durable; concurrent writes
 * share the cost of the flush.
 *
 * The flush is taken off the event loop: better-sqlite3 is synchronous, so with
 * `synchronous=FULL` every commit would block the whole server for one fsync of the WAL. In WAL
 * mode the group transaction is instead committed with `synchronous=NORMAL` (its frames are
 * written to the WAL, not yet flushed) and the WAL file is then fdatasynced on the thread pool
 * before the callers resolve: the same guarantee FULL gives (in WAL mode FULL is exactly "sync the
 * WAL after each commit", https://www.sqlite.org/pragma.html#pragma_synchronous), while the event
 * loop serves other requests. Flushes of consecutive groups coalesce: one fsync that started after
 * a group committed covers it. A database that is not in WAL mode (or in memory) keeps the
 * synchronous commit.
 */
import { closeSync, constants as fsConstants, fdatasync, fstatSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';

const fdatasyncFd = promisify(fdatasync);
/** The WAL descriptor is closed after this long without a flush. */
const WAL_FD_IDLE_MS = 1000;

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already released
  }
}

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Batches the index writes of concurrent requests into shared transactions. */
export class GroupCommit {
  readonly #db: Database.Database;
  /** The WAL file to fdatasync after a group, or undefined to commit synchronously (FULL). */
  readonly #wal: string | undefined;
  #batch: Pending[] = [];
  /** The WAL fsync in progress, and the one queued behind it. */
  #syncing: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  /** Descriptor of the WAL file while flushes keep coming, and the timer that releases it. */
  #fd: number | undefined;
  #idle: NodeJS.Timeout | undefined;

  constructor(db: Database.Database) {
    this.#db = db;
    const mode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
    if (mode === 'wal' && !db.memory) {
      this.#wal = `${db.name}-wal`;
    }
  }

  /**
   * Runs `fn` (synchronous index writes) in the next group transaction and resolves with its
   * result once that transaction is on disk. `fn` runs in a savepoint of its own: when it throws,
   * only its changes are rolled back and only its caller sees the error.
   */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#batch.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.#batch.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#batch;
    this.#batch = [];
    const outcomes: Outcome[] = [];
    let restore: number | undefined;
    if (this.#wal !== undefined) {
      // Never a prepared statement: SQLite applies `PRAGMA synchronous = x` when it compiles it.
      const level = this.#db.pragma('synchronous', { simple: true }) as number;
      // FULL (2) or EXTRA (3): commit without the fsync, and do it below off the event loop.
      // NORMAL or OFF: the connection does not flush commits, and neither does this.
      if (level > 1) {
        restore = level;
        this.#db.pragma('synchronous = NORMAL');
      }
    }
    try {
      this.#db.transaction(() => {
        for (const item of batch) {
          try {
            // A transaction function called inside a transaction runs as a savepoint.
            outcomes.push({ ok: true, value: this.#db.transaction(item.fn)() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      })();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    } finally {
      if (restore !== undefined) this.#db.pragma(`synchronous = ${restore}`);
    }
    const settle = (): void => {
      batch.forEach((item, i) => {
        const o = outcomes[i];
        if (o?.ok === true) item.resolve(o.value);
        else item.reject(o?.error);
      });
    };
    if (restore === undefined) {
      settle();
      return;
    }
    this.#syncWal().then(settle, (error: unknown) => {
      for (const item of batch) item.reject(error);
    });
  }

  /** Resolves after an fdatasync of the WAL that started after this call. */
  #syncWal(): Promise<void> {
    if (this.#queued !== undefined) return this.#queued;
    if (this.#syncing === undefined) return this.#startSync();
    const queued = this.#syncing
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#startSync();
      });
    this.#queued = queued;
    return queued;
  }

  #startSync(): Promise<void> {
    clearTimeout(this.#idle);
    const run = (async () => {
      const fd = this.#walFd();
      if (fd !== undefined) await fdatasyncFd(fd);
    })().finally(() => {
      // Kept open while flushes follow each other; released once they stop.
      this.#idle = setTimeout(() => this.close(), WAL_FD_IDLE_MS).unref();
    });
    this.#syncing = run;
    const clear = (): void => {
      if (this.#syncing === run) this.#syncing = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  /**
   * A descriptor of the WAL file, kept between flushes. SQLite removes the WAL when the last
   * connection to the database closes and creates a new one later: a descriptor whose file lost
   * its last name (nlink 0) is replaced. Undefined when there is no WAL file: then everything it
   * held was checkpointed into the (synced) database file.
   */
  #walFd(): number | undefined {
    if (this.#fd !== undefined) {
      try {
        if (fstatSync(this.#fd).nlink > 0) return this.#fd;
      } catch {
        // fall through: reopen
      }
      closeQuietly(this.#fd);
      this.#fd = undefined;
    }
    try {
      this.#fd = openSync(this.#wal as string, fsConstants.O_RDONLY);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return this.#fd;
  }

  /** Releases the WAL descriptor now (it is also released after WAL_FD_IDLE_MS without flushes). */
  close(): void {
    clearTimeout(this.#idle);
    if (this.#syncing !== undefined) return; // in use: the idle timer of that flush closes it
    if (this.#fd !== undefined) closeQuietly(this.#fd);
    this.#fd = undefined;
  }
}
