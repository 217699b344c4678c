/**
 * An in-process async mutex per string key (FIFO). Entries are dropped when their queue empties,
 * so memory follows the number of keys currently locked, not the number ever locked.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Waits for `key` and returns its release function (calling it twice is harmless). */
  async acquire(key: string): Promise<() => void> {
    const previous = this.#tails.get(key);
    let open!: () => void;
    const mine = new Promise<void>((resolve) => (open = resolve));
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    if (previous) await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      open();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
  }

  /** Runs `fn` while holding `key`. */
  async run<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** True while someone holds or waits for `key`. */
  isLocked(key: string): boolean {
    return this.#tails.has(key);
  }
}
