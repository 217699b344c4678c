/**
 * Coordination, per folder, between s3local's own deletions and listings of more than one page.
 *
 * Drime pages listings by offset (`page=N&perPage=P`, drime-api.md §3.1). An entry deleted while a
 * listing walks its pages shifts every later entry one place to the left, so the entry that was
 * first on the next page is never returned: the listing silently misses a live entry. A cached
 * listing with such a hole makes DeleteObject answer 204 for a key it never deleted, which stays
 * on Drime and is listed again once the cache is refreshed (issue 7). Deletions are recorded
 * here: a listing that overlapped one of ours and took more than one page is taken again while
 * our deletions in that folder are held back (an exclusive section), so it cannot have a hole.
 */

interface FolderGate {
  /** Our deletions in flight in the folder. */
  active: number;
  /** Deletions ever started in the folder (to tell whether one overlapped a listing). */
  started: number;
  /** Set while an exclusive listing runs (or waits for the deletions in flight to end). */
  exclusive: Promise<void> | undefined;
  /** Called when `active` drops to 0. */
  idle: Array<() => void>;
  /** Listings watching the folder (the gate, and its `started` count, outlive them). */
  watchers: number;
}

export class RemovalGate {
  private readonly gates = new Map<string, FolderGate>();

  private gate(folder: string): FolderGate {
    let g = this.gates.get(folder);
    if (!g) {
      g = { active: 0, started: 0, exclusive: undefined, idle: [], watchers: 0 };
      this.gates.set(folder, g);
    }
    return g;
  }

  private release(folder: string, g: FolderGate): void {
    if (g.active === 0) for (const wake of g.idle.splice(0)) wake();
    if (g.active === 0 && !g.exclusive && g.idle.length === 0 && g.watchers === 0) this.gates.delete(folder);
  }

  /**
   * Runs `fn` (a deletion of entries in `folders`) as a deletion in flight in each folder, once no
   * exclusive listing of any of them runs. Folders are entered in sorted order, so two deletions
   * and an exclusive listing can never wait for each other in a cycle.
   */
  async removing<T>(folders: readonly string[], fn: () => Promise<T>): Promise<T> {
    const entered: Array<[string, FolderGate]> = [];
    try {
      for (const folder of [...new Set(folders)].sort()) {
        let g = this.gate(folder);
        while (g.exclusive) {
          await g.exclusive;
          g = this.gate(folder);
        }
        g.active++;
        g.started++;
        entered.push([folder, g]);
      }
      return await fn();
    } finally {
      for (const [folder, g] of entered) {
        g.active--;
        this.release(folder, g);
      }
    }
  }

  /**
   * Called when a listing of `folder` starts. The function returned, called once it ended, tells
   * whether one of our deletions there was in flight at any moment in between.
   */
  watch(folder: string): () => boolean {
    const g = this.gate(folder);
    g.watchers++;
    const started = g.started;
    const active = g.active > 0;
    let watching = true;
    return () => {
      const overlapped = active || g.active > 0 || g.started !== started;
      if (watching) {
        watching = false;
        g.watchers--;
        this.release(folder, g);
      }
      return overlapped;
    };
  }

  /**
   * Runs `fn` (a listing of `folder`) with no deletion of ours in flight there: waits for the ones
   * running, and holds new ones back until `fn` settles.
   */
  async exclusive<T>(folder: string, fn: () => Promise<T>): Promise<T> {
    let g = this.gate(folder);
    while (g.exclusive) {
      await g.exclusive;
      g = this.gate(folder);
    }
    let done!: () => void;
    g.exclusive = new Promise<void>((resolve) => (done = resolve));
    try {
      while (g.active > 0) await new Promise<void>((resolve) => g.idle.push(resolve));
      return await fn();
    } finally {
      g.exclusive = undefined;
      done();
      this.release(folder, g);
    }
  }
}
