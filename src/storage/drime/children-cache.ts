/**
 * A short-lived cache of folder listings, kept current by s3local's own writes (write-through),
 * so a PUT does not re-list a large folder to find the entry it replaces. Changes made by others
 * become visible after the TTL. A listing fetched while a write lands has that write applied to
 * it, so a write is never lost from the cache by a concurrent fetch.
 *
 * The cache mirrors what is on Drime: an entry leaves it only once Drime deleted it. (It once also
 * hid overwritten entries still waiting for their deferred deletion; a DeleteObject served by such
 * a listing left them on Drime, and the next refresh listed the deleted key again: issue 7.)
 * Deletions go through {@link ChildrenCache.removing}, which keeps listings of several pages
 * consistent with them (removal-gate.ts).
 */
import type { DrimeClient } from './client.js';
import { RemovalGate } from './removal-gate.js';
import type { TargetFolder } from './transfer.js';
import type { DrimeEntry } from './types.js';

type Op = { add: DrimeEntry } | { remove: number };

interface Cached {
  entries: Map<number, DrimeEntry>;
  at: number;
}

interface Inflight {
  ops: Op[];
  promise: Promise<Map<number, DrimeEntry>>;
}

function apply(map: Map<number, DrimeEntry>, op: Op): void {
  if ('add' in op) map.set(op.add.id, op.add);
  else map.delete(op.remove);
}

export class ChildrenCache {
  private readonly folders = new Map<string, Cached>();
  private readonly inflight = new Map<string, Inflight>();
  private readonly gate = new RemovalGate();
  private total = 0;

  constructor(
    private readonly client: DrimeClient,
    /** 0 disables caching. */
    private readonly ttlMs = 10_000,
    /** Entries kept at most, over all folders (oldest folders are dropped first). */
    private readonly maxEntries = 200_000,
  ) {}

  private static key(id: number | null): string {
    return id === null ? 'root' : String(id);
  }

  /** Live children of one folder (null: the workspace root). */
  async get(id: number | null, signal?: AbortSignal): Promise<DrimeEntry[]> {
    const k = ChildrenCache.key(id);
    const hit = this.folders.get(k);
    if (hit && Date.now() - hit.at < this.ttlMs) return [...hit.entries.values()];
    if (this.ttlMs <= 0) return this.fetch(k, id, signal);
    let f = this.inflight.get(k);
    if (!f) {
      const ops: Op[] = [];
      // Shared by every waiter, so no single caller's signal may cancel it.
      const promise = this.fetch(k, id).then(
        (list) => {
          const map = new Map(list.map((e) => [e.id, e]));
          for (const op of ops) apply(map, op);
          // Not when invalidate() dropped this fetch meanwhile: a newer one owns the folder now.
          if (this.inflight.get(k) === f) {
            this.inflight.delete(k);
            this.store(k, map);
          }
          return map;
        },
        (err: unknown) => {
          if (this.inflight.get(k) === f) this.inflight.delete(k);
          throw err;
        },
      );
      f = { ops, promise };
      this.inflight.set(k, f);
    }
    return [...(await f.promise).values()];
  }

  /**
   * One listing of a folder from Drime without holes. When it took several pages while one of our
   * deletions ran in the folder (or Drime's count of entries dropped), an entry may have slid from
   * a page not yet read onto one already read (removal-gate.ts): it is taken again with our
   * deletions there held back.
   */
  private async fetch(k: string, id: number | null, signal?: AbortSignal): Promise<DrimeEntry[]> {
    const overlapped = this.gate.watch(k);
    let first: { entries: DrimeEntry[]; pages: number; complete: boolean };
    try {
      first = await this.client.listChildrenPaged(id, signal, 1);
    } catch (err) {
      overlapped();
      throw err;
    }
    const raced = overlapped();
    if (first.pages <= 1 || (!raced && first.complete)) return first.entries;
    return this.gate.exclusive(k, async () => (await this.client.listChildrenPaged(id, signal)).entries);
  }

  /**
   * Folder `id` as a write looking for what a request whose answer was lost made: listings from
   * Drime without holes and never cached (what the lost request made is not ours yet: a
   * `<name> - Copy` must not show up as a key), and deletions that keep concurrent listings
   * without holes. A raw listing could miss the entry, which then stayed on Drime for good.
   */
  folder(id: number | null): TargetFolder {
    return {
      list: (signal) => this.fetch(ChildrenCache.key(id), id, signal),
      discard: (entries) =>
        this.removing(entries, () =>
          this.client.deleteEach(
            entries.map((e) => e.id),
            true,
          ),
        ).catch(() => undefined),
    };
  }

  /**
   * Runs `fn`, our deletion of `entries` on Drime, and then forgets them. Listings of their
   * folders of more than one page do not run at the same time (see {@link ChildrenCache.fetch}).
   * When `fn` fails, what it deleted is unknown: the folders are listed again next time.
   */
  async removing<T>(entries: readonly DrimeEntry[], fn: () => Promise<T>): Promise<T> {
    const folders = entries.map((e) => ChildrenCache.key(e.parentId));
    let result: T;
    try {
      result = await this.gate.removing(folders, fn);
    } catch (err) {
      for (const e of entries) this.invalidate(e.parentId);
      throw err;
    }
    this.removed(entries);
    return result;
  }

  private store(k: string, entries: Map<number, DrimeEntry>): void {
    const old = this.folders.get(k);
    if (old) {
      this.total -= old.entries.size;
      this.folders.delete(k);
    }
    this.folders.set(k, { entries, at: Date.now() });
    this.total += entries.size;
    for (const [key, c] of this.folders) {
      if (this.total <= this.maxEntries || key === k) break;
      this.folders.delete(key);
      this.total -= c.entries.size;
    }
  }

  private record(parentId: number | null, op: Op): void {
    const k = ChildrenCache.key(parentId);
    const c = this.folders.get(k);
    if (c) {
      const before = c.entries.size;
      apply(c.entries, op);
      this.total += c.entries.size - before;
    }
    this.inflight.get(k)?.ops.push(op);
  }

  /** Our write created (or replaced) `entry`. */
  added(entry: DrimeEntry): void {
    this.record(entry.parentId, { add: entry });
  }

  /** These entries are gone from Drime (prefer {@link ChildrenCache.removing} to delete them). */
  removed(entries: readonly DrimeEntry[]): void {
    for (const e of entries) this.record(e.parentId, { remove: e.id });
  }

  /**
   * Forgets one folder's listing, or everything. A listing being fetched is dropped too: it may
   * have been read before the change that made the caller invalidate, so the next get() starts
   * a fresh one (callers already waiting for it still get its result).
   */
  invalidate(id?: number | null): void {
    if (id === undefined) {
      this.folders.clear();
      this.inflight.clear();
      this.total = 0;
      return;
    }
    const k = ChildrenCache.key(id);
    this.inflight.delete(k);
    const c = this.folders.get(k);
    if (c) {
      this.total -= c.entries.size;
      this.folders.delete(k);
    }
  }
}
