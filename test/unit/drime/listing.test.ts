/**
 * The Drime listing walk (folders + files) against the shared flat-key listing of the local
 * backend (src/storage/listing.ts) on random trees: same pages for every prefix, delimiter,
 * continuation point and page size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FolderIds, FolderTree } from '../../../src/storage/drime/folders.js';
import { listObjects, type ListSource } from '../../../src/storage/drime/listing.js';
import { storedNameFor } from '../../../src/storage/drime/names.js';
import type { DrimeEntry } from '../../../src/storage/drime/types.js';
import { collectListPage, compareUtf8 } from '../../../src/storage/listing.js';

/** Every test has a deadline. */
const T = { timeout: 60_000 };

function entry(id: number, name: string, parentId: number | null, folder: boolean, size = 1): DrimeEntry {
  return {
    id,
    name,
    type: folder ? 'folder' : 'text',
    fileSize: size,
    mime: null,
    extension: null,
    parentId,
    path: '',
    hash: '',
    fileName: `f${id}`,
    workspaceId: 0,
    ownerId: 1,
    createdAt: new Date(0),
    updatedAt: new Date(id),
    deletedAt: null,
    userCount: 1,
    backup: false,
  };
}

/** An in-memory Drime tree holding `keys` (plus an empty folder and an old duplicate). */
function treeOf(keys: string[], newest: Set<number>): ListSource {
  const byParent = new Map<number | null, DrimeEntry[]>();
  let next = 1;
  const kids = (p: number | null) => byParent.get(p) ?? (byParent.set(p, []), byParent.get(p)!);
  const folderIn = (parent: number | null, name: string): number => {
    const list = kids(parent);
    const found = list.find(
      (e) =>
        e.type === 'folder' &&
        e.name ===
          storedNameFor(
            name,
            list.filter((x) => x.type === 'folder').map((x) => x.name),
          ),
    );
    if (found) return found.id;
    const stored = storedNameFor(
      name,
      list.filter((x) => x.type === 'folder').map((x) => x.name),
    );
    const f = entry(next++, stored, parent, true, 0);
    list.push(f);
    return f.id;
  };
  for (const key of keys) {
    const segs = key.split('/');
    const name = segs.pop()!;
    let parent: number | null = null;
    for (const d of segs) parent = folderIn(parent, d);
    const list = kids(parent);
    const stored = storedNameFor(
      name,
      list.filter((x) => x.type !== 'folder').map((x) => x.name),
    );
    // An older duplicate first: the newest must win.
    list.push(entry(next++, stored, parent, false), entry(next++, stored, parent, false));
    newest.add(next - 1);
  }
  folderIn(folderIn(null, 'empty-dir'), 'deeper');
  const children = (ids: FolderIds): Promise<DrimeEntry[]> =>
    Promise.resolve(ids.flatMap((id) => byParent.get(id) ?? []));
  const tree = {
    children,
    async resolve(base: FolderIds, dirs: readonly string[]): Promise<FolderIds | undefined> {
      let ids = base;
      for (const d of dirs) {
        const found = (await children(ids))
          .filter((e) => e.type === 'folder' && storedNameFor(d, [e.name]) === e.name)
          .map((e) => e.id);
        if (!found.length) return undefined;
        ids = found;
      }
      return ids;
    },
  };
  return {
    tree: tree as unknown as FolderTree,
    fileInfos: (files) =>
      new Map(
        files.map((f) => [
          f.entry.id,
          {
            key: f.key,
            size: 1,
            etag: String(f.entry.id),
            lastModified: f.entry.updatedAt,
            headers: {},
            metadata: {},
            checksums: {},
            storageClass: 'STANDARD',
          },
        ]),
      ),
  };
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

test('listing matches the flat-key listing on random trees', T, async () => {
  const alphabet = ['a', 'b', 'B', '/', '/', '-', '.', 'é', '😀', '\uFFFD', ' '];
  for (let seed = 1; seed <= 25; seed++) {
    const r = rng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const keys = new Set<string>();
    while (keys.size < 60) {
      let k = '';
      const len = 1 + Math.floor(r() * 7);
      for (let i = 0; i < len; i++) k += pick(alphabet);
      keys.add(k);
    }
    const sorted = [...keys].sort(compareUtf8);
    const newest = new Set<number>();
    const src = treeOf(sorted, newest);
    const probes = ['', 'a', 'a/', 'b/', 'B', 'a/b', '/', '//', 'é/', 'zzz'];
    for (let round = 0; round < 30; round++) {
      const prefix = pick(probes);
      const delimiter = pick(['', '/', '/', '-', 'a/']);
      const after = r() < 0.5 ? '' : r() < 0.5 ? pick(sorted) : pick(sorted).slice(0, 2);
      const maxKeys = pick([0, 1, 2, 5, 1000]);
      const opts = { prefix, delimiter, after, maxKeys };
      const want = collectListPage(opts, (from, before) =>
        sorted
          .filter((k) => (from.inclusive ? compareUtf8(k, from.key) >= 0 : compareUtf8(k, from.key) > 0))
          .filter((k) => before === undefined || compareUtf8(k, before) < 0)
          .map((key) => ({ key })),
      );
      const got = await listObjects(src, [null], opts);
      const what = `seed ${seed} ${JSON.stringify(opts)}`;
      assert.deepEqual(
        got.objects.map((o) => o.key),
        want.objects.map((o) => o.key),
        what,
      );
      assert.deepEqual(got.commonPrefixes, want.commonPrefixes, what);
      assert.equal(got.isTruncated, want.isTruncated, what);
      assert.equal(got.nextAfter, want.nextAfter, what);
      // The newest duplicate is the one listed.
      for (const o of got.objects) assert.ok(newest.has(Number(o.etag)), what);
    }
  }
});
