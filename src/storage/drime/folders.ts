/**
 * Folder paths -> Drime folder ids, with a cache (a TTL for changes made elsewhere, explicit
 * invalidation for ours) and race-safe creation (drime-api.md §3.3, §4.1). Paths are in decoded
 * S3 segments (names.ts). A path may resolve to several same-named folders (Drime allows them,
 * §9.3): reads merge them, writes use the oldest.
 */
import { S3Error } from '../../s3/errors.js';
import { ChildrenCache } from './children-cache.js';
import type { DrimeClient } from './client.js';
import { DrimeError, isDuplicateFolderError } from './errors.js';
import { checkStoredLength, decodeName, foldName, storedNameFor } from './names.js';
import { isFolder, type DrimeEntry } from './types.js';

/** A resolved folder path: every same-named folder id (ascending; `null` is the workspace root). */
export type FolderIds = Array<number | null>;

interface CacheEntry {
  ids: FolderIds;
  at: number;
}

const CREATE_RECHECK_DELAYS = [100, 200, 400];

export class FolderTree {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly creating = new Map<string, Promise<number>>();
  /** Folder listings, kept current by our own writes. */
  readonly listings: ChildrenCache;

  constructor(
    private readonly client: DrimeClient,
    private readonly ttlMs = 30_000,
    listingTtlMs = 10_000,
  ) {
    this.listings = new ChildrenCache(client, listingTtlMs);
  }

  private static cacheKey(base: FolderIds, dirs: readonly string[]): string {
    return JSON.stringify([base, ...dirs]);
  }

  /** Live children of every folder in `ids`, merged (from the listing cache). */
  async children(ids: FolderIds, signal?: AbortSignal): Promise<DrimeEntry[]> {
    const lists = await Promise.all(ids.map((id) => this.listings.get(id, signal)));
    return lists.flat();
  }

  /** Folder ids for `dirs` under `base`, or undefined when some folder does not exist. */
  async resolve(
    base: FolderIds,
    dirs: readonly string[],
    signal?: AbortSignal,
  ): Promise<FolderIds | undefined> {
    let ids = base;
    for (let i = 0; i < dirs.length; i++) {
      const key = FolderTree.cacheKey(base, dirs.slice(0, i + 1));
      const hit = this.cache.get(key);
      if (hit && Date.now() - hit.at < this.ttlMs) {
        ids = hit.ids;
        continue;
      }
      const name = dirs[i]!;
      const found = (await this.children(ids, signal))
        .filter((e) => isFolder(e) && decodeName(e.name) === name)
        .map((e) => e.id)
        .sort((a, b) => a - b);
      if (found.length === 0) return undefined;
      this.cache.set(key, { ids: found, at: Date.now() });
      ids = found;
    }
    return ids;
  }

  /**
   * The id of the folder at `dirs` under `base` (the oldest of same-named ones), creating missing
   * folders one level at a time (`key` is for messages).
   */
  async ensure(
    base: FolderIds,
    dirs: readonly string[],
    key: string,
    signal?: AbortSignal,
  ): Promise<number | null> {
    let parent: number | null = base[0] ?? null;
    for (let i = 0; i < dirs.length; i++) {
      const path = dirs.slice(0, i + 1);
      const cacheKey = FolderTree.cacheKey(base, path);
      const hit = this.cache.get(cacheKey);
      if (hit && Date.now() - hit.at < this.ttlMs) {
        parent = hit.ids[0] ?? null;
        continue;
      }
      const name = dirs[i]!;
      // One creation at a time per parent and folded name: `Photos` and `photos` must not race.
      const lockKey = `${parent}\u0000${foldName(name)}`;
      let p: Promise<number> | undefined;
      while ((p = this.creating.get(lockKey))) await p.catch(() => undefined);
      p = this.findOrCreate(parent, name, key, signal);
      this.creating.set(lockKey, p);
      try {
        const id = await p;
        this.cache.set(cacheKey, { ids: [id], at: Date.now() });
        parent = id;
      } finally {
        if (this.creating.get(lockKey) === p) this.creating.delete(lockKey);
      }
    }
    return parent;
  }

  private async findOrCreate(
    parent: number | null,
    name: string,
    key: string,
    signal?: AbortSignal,
  ): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      // Fresh from the server: the folder may have been created elsewhere since we last looked.
      this.listings.invalidate(parent);
      const folders = (await this.listings.get(parent, signal)).filter(isFolder);
      const mine = folders.filter((e) => decodeName(e.name) === name).sort((a, b) => a.id - b.id)[0];
      if (mine) return mine.id;
      const stored = storedNameFor(
        name,
        folders.map((f) => f.name),
      );
      checkStoredLength(stored, key);
      try {
        const created = await this.client.createFolder(stored, parent);
        if (created.name !== stored) {
          await this.listings.folder(parent).discard([created]);
          throw new S3Error('InternalError', `Drime stored the folder name "${stored}" as "${created.name}"`);
        }
        this.listings.added(created);
        return created.id;
      } catch (err) {
        const duplicate = isDuplicateFolderError(err);
        const ambiguous = err instanceof DrimeError && err.retryable;
        if (!duplicate && !ambiguous) {
          if (err instanceof DrimeError && err.status === 422) {
            throw new S3Error(
              'InvalidArgument',
              `Drime refused the folder name "${stored}" of key "${key}": ${err.message}`,
            );
          }
          throw err;
        }
        if (attempt + 1 >= this.client.policy.attempts) throw err;
        // Someone else (or our own timed-out attempt) may have created it: look again, after a pause
        // when the server said "duplicate" but the listing may lag (pys3local waits 0.1/0.2/0.4 s).
        if (duplicate) await this.client.sleep(CREATE_RECHECK_DELAYS[Math.min(attempt, 2)]!, signal);
      }
    }
  }

  /** Forgets cached paths under `base` starting with `dirs` (everything when `base` is omitted). */
  invalidate(base?: FolderIds, dirs: readonly string[] = []): void {
    if (!base) {
      this.cache.clear();
      this.listings.invalidate();
      return;
    }
    for (const id of base) this.listings.invalidate(id);
    const prefix = FolderTree.cacheKey(base, dirs);
    const open = prefix.slice(0, -1);
    for (const k of [...this.cache.keys()])
      if (k === prefix || k.startsWith(open + ',')) this.cache.delete(k);
  }
}
