/**
 * Deferred deletion of superseded entries. After an overwrite the new entry is the newest and
 * wins every lookup at once; the previous one is deleted after a grace period, so a download that
 * started on it and must resume after a broken connection can still reach it. Pending deletions
 * run on close() (or when the same key is overwritten or deleted again, which deletes them too).
 */
import type { DrimeClient } from './client.js';
import type { ChildrenCache } from './children-cache.js';
import type { DrimeEntry } from './types.js';

export class Retirer {
  private readonly queue: Array<{ entries: DrimeEntry[]; due: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: DrimeClient,
    private readonly listings: ChildrenCache,
    private readonly permanent: boolean,
    private readonly graceMs: number,
    private readonly onDeleted: (ids: number[]) => void,
  ) {}

  /** Deletes `entries` after the grace period (at once when it is 0). */
  async retire(entries: DrimeEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // Invisible to lookups from now on (the newer entry wins anyway).
    this.listings.removed(entries);
    this.onDeleted(entries.map((e) => e.id));
    if (this.graceMs <= 0) {
      await this.delete(entries);
      return;
    }
    this.queue.push({ entries, due: Date.now() + this.graceMs });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.due - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running.then(() => this.drain(false));
    }, wait);
    this.timer.unref();
  }

  private async drain(all: boolean): Promise<void> {
    while (this.queue.length > 0 && (all || this.queue[0]!.due <= Date.now())) {
      await this.delete(this.queue.shift()!.entries);
    }
    this.schedule();
  }

  private async delete(entries: DrimeEntry[]): Promise<void> {
    try {
      await this.client.deleteEntries(
        entries.map((e) => e.id),
        this.permanent,
      );
    } catch {
      // Already gone (422) or Drime unavailable: a leftover old version is only clutter, never
      // visible through S3 (the newest entry of a name wins).
    }
  }

  /** Runs every pending deletion now. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.running.then(() => this.drain(true));
    await this.running;
  }
}
