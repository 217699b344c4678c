/**
 * Deferred deletion of superseded entries. After an overwrite the new entry is the newest and
 * wins every lookup at once; the previous one is deleted after a grace period, so a download that
 * started on it and must resume after a broken connection can still reach it. Pending deletions
 * run on close(), or sooner when the key is deleted (DeleteObject deletes every entry of the key
 * it finds, these included, and tells the retirer to {@link Retirer.forget} them).
 *
 * Until Drime deleted them, superseded entries stay in the listing cache like any entry on Drime
 * (older than the one that replaced them, so never the one a lookup picks). Hiding them from the
 * cache at once, as this class once did, made a DeleteObject served by that cache delete only the
 * newest entry and answer 204, and the superseded one was listed again as soon as the folder was
 * listed afresh, until its grace period ended (issue 7: a key still listed after `rclone purge`).
 */
import type { DrimeClient } from './client.js';
import type { ChildrenCache } from './children-cache.js';
import type { DrimeEntry } from './types.js';

export class Retirer {
  private readonly queue: Array<{ entries: DrimeEntry[]; due: number }> = [];
  /** Ids queued, not yet deleted. */
  private readonly pending = new Set<number>();
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
    // An entry superseded twice (overwritten again within its grace period) is queued once.
    const fresh = entries.filter((e) => !this.pending.has(e.id));
    if (fresh.length === 0) return;
    // Their ETag records go now: the newer entry wins every lookup from here on.
    this.onDeleted(fresh.map((e) => e.id));
    if (this.graceMs <= 0) {
      await this.delete(fresh);
      return;
    }
    for (const e of fresh) this.pending.add(e.id);
    this.queue.push({ entries: fresh, due: Date.now() + this.graceMs });
    this.schedule();
  }

  /** These entries were deleted by someone else (DeleteObject): nothing left to do for them. */
  forget(ids: readonly number[]): void {
    for (const id of ids) this.pending.delete(id);
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
      const { entries } = this.queue.shift()!;
      const left = entries.filter((e) => this.pending.has(e.id));
      for (const e of entries) this.pending.delete(e.id);
      await this.delete(left);
    }
    this.schedule();
  }

  private async delete(entries: DrimeEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      // Through the cache, which forgets them once Drime deleted them (ids already gone: fine).
      await this.listings.removing(entries, () =>
        this.client.deleteEach(
          entries.map((e) => e.id),
          this.permanent,
        ),
      );
    } catch {
      // Drime unavailable: a leftover old version is only clutter. It stays listed as the older
      // entry of its key, so a later overwrite retires it again and a DeleteObject deletes it.
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
