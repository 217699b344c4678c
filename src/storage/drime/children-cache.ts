/**
 * A short-lived cache of folder listings, kept current by s3local's own writes (write-through),
 * so a PUT does not re-list a large folder to find the entry it replaces. Changes made by others
 * become visible after the TTL. A listing fetched while a write lands has that write applied to
 * it, so a write is never lost from the cache by a concurrent fetch.
 */
import type { DrimeClient } from './client.js';
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
    if (this.ttlMs <= 0) return this.client.listChildren(id, signal);
    let f = this.inflight.get(k);
    if (!f) {
      const ops: Op[] = [];
      // Shared by every waiter, so no single caller's signal may cancel it.
      const promise = this.client.listChildren(id).then(
        (list) => {
          const map = new Map(list.map((e) => [e.id, e]));
          for (const op of ops) apply(map, op);
          this.inflight.delete(k);
          this.store(k, map);
          return map;
        },
        (err: unknown) => {
          this.inflight.delete(k);
          throw err;
        },
      );
      f = { ops, promise };
      this.inflight.set(k, f);
    }
    return [...(await f.promise).values()];
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

  /** Our write deleted these entries. */
  removed(entries: readonly DrimeEntry[]): void {
    for (const e of entries) this.record(e.parentId, { remove: e.id });
  }

  /** Forgets one folder's listing, or everything. */
  invalidate(id?: number | null): void {
    if (id === undefined) {
      this.folders.clear();
      this.total = 0;
      return;
    }
    const c = this.folders.get(ChildrenCache.key(id));
    if (c) {
      this.total -= c.entries.size;
      this.folders.delete(ChildrenCache.key(id));
    }
  }
}
