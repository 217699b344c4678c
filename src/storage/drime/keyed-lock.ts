/**
 * In-process mutual exclusion per key: writers of one S3 key (and of names Drime would confuse
 * with it) run one after another, so a precondition and the commit it guards see the same state.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier holder of `key` finished. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Whether a holder of `key` is running or waiting. */
  isHeld(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once every current holder of `key` finished. */
  async settled(key: string): Promise<void> {
    await this.tails.get(key);
  }

  /** Keys held or awaited right now (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
