/**
 * Group commit for the one writer connection of a store: row commits requested during one turn of
 * the event loop share one transaction, hence one fsync (`synchronous=FULL`), and each caller
 * resolves only once that transaction is on disk. Acknowledged writes stay exactly as durable;
 * concurrent writes share the cost of the flush (better-sqlite3 is synchronous, so every fsync
 * otherwise blocks the event loop once per write).
 */
import type Database from 'better-sqlite3';

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Batches the index writes of concurrent requests into shared transactions. */
export class GroupCommit {
  readonly #db: Database.Database;
  #batch: Pending[] = [];

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /**
   * Runs `fn` (synchronous index writes) in the next group transaction and resolves with its
   * result once that transaction committed. `fn` runs in a savepoint of its own: when it throws,
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
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
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
    }
    batch.forEach((item, i) => {
      const o = outcomes[i];
      if (o?.ok === true) item.resolve(o.value);
      else item.reject(o?.error);
    });
  }
}
