/**
 * An in-process shared/exclusive (readers/writer) lock per string key. Any number of shared
 * holders run together; an exclusive holder runs alone. Waiters are served in arrival order, so an
 * exclusive waiter is never starved by a stream of shared ones: a shared request arriving after it
 * waits too. Entries are dropped once nobody holds or waits for the key.
 *
 * The staging multipart store uses it per bucket: CreateMultipartUpload holds its bucket shared
 * from the bucket check to the row insert, DeleteBucket exclusively (multipart-staging.ts).
 */

interface Waiter {
  exclusive: boolean;
  wake: () => void;
}

interface Entry {
  /** Shared holders running (> 0), an exclusive holder running (-1), or nobody (0). */
  active: number;
  waiting: Waiter[];
}

export class KeyedSharedLock {
  readonly #entries = new Map<string, Entry>();

  /** Runs `fn` while holding `key` shared (alongside other shared holders). */
  shared<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    return this.#run(key, false, fn);
  }

  /** Runs `fn` while holding `key` alone: after every earlier holder, before every later one. */
  exclusive<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    return this.#run(key, true, fn);
  }

  /** True while someone holds or waits for `key`. */
  isHeld(key: string): boolean {
    return this.#entries.has(key);
  }

  async #run<T>(key: string, exclusive: boolean, fn: () => Promise<T> | T): Promise<T> {
    await this.#acquire(key, exclusive);
    try {
      return await fn();
    } finally {
      this.#release(key);
    }
  }

  #acquire(key: string, exclusive: boolean): Promise<void> {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { active: 0, waiting: [] };
      this.#entries.set(key, entry);
    }
    if (entry.waiting.length === 0 && (exclusive ? entry.active === 0 : entry.active >= 0)) {
      entry.active = exclusive ? -1 : entry.active + 1;
      return Promise.resolve();
    }
    const waiting = entry.waiting;
    return new Promise<void>((wake) => waiting.push({ exclusive, wake }));
  }

  #release(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    entry.active = entry.active === -1 ? 0 : entry.active - 1;
    // Hand the key to the waiters at the head of the queue: one exclusive, or a run of shared.
    for (;;) {
      const next = entry.waiting[0];
      if (next === undefined) break;
      if (next.exclusive) {
        if (entry.active !== 0) break;
        entry.active = -1;
      } else {
        if (entry.active < 0) break;
        entry.active++;
      }
      entry.waiting.shift();
      next.wake();
      if (next.exclusive) break;
    }
    if (entry.active === 0 && entry.waiting.length === 0) this.#entries.delete(key);
  }
}
