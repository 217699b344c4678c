/**
 * ListObjects over Drime folders: a depth-first walk that visits keys in UTF-8 byte order (a
 * folder `F` sorts as `F/`), starting at the deepest folder the prefix names, pruning subtrees
 * that lie before `after`, and rolling whole folders up into common prefixes without descending
 * when the delimiter allows it. Emits the contract's ListPage: maxKeys counts objects and
 * prefixes together; `nextAfter` is the last key or prefix returned.
 */
import type { ListOptions, ListPage, ObjectInfo } from '../backend.js';
import { compareUtf8 } from '../listing.js';
import type { FolderIds, FolderTree } from './folders.js';
import { decodeName } from './names.js';
import { isFolder, newestFirst, type DrimeEntry } from './types.js';

/** What the listing needs from the backend. */
export interface ListSource {
  tree: FolderTree;
  /** ObjectInfos (by entry id) for files of one folder, given their keys. */
  fileInfos(files: Array<{ key: string; entry: DrimeEntry }>): Map<number, ObjectInfo>;
}

interface Item {
  /** The key (files) or the folder path with its trailing `/`. */
  key: string;
  file?: DrimeEntry;
  folder?: { ids: FolderIds; size: number };
}

/**
 * A folder's children grouped by decoded name: the newest file per name (an alias and a plain
 * entry may both stand for it), same-named folders merged.
 */
export function groupChildren(path: string, entries: DrimeEntry[]): Item[] {
  const files = new Map<string, DrimeEntry>();
  const folders = new Map<string, { ids: FolderIds; size: number }>();
  for (const e of entries) {
    const name = decodeName(e.name);
    if (isFolder(e)) {
      const f = folders.get(name) ?? { ids: [], size: 0 };
      f.ids.push(e.id);
      f.size += e.fileSize;
      folders.set(name, f);
    } else {
      const cur = files.get(name);
      if (!cur || newestFirst(e, cur) < 0) files.set(name, e);
    }
  }
  const items: Item[] = [];
  for (const [name, file] of files) items.push({ key: path + name, file });
  for (const [name, folder] of folders) {
    folder.ids.sort((a, b) => (a ?? 0) - (b ?? 0));
    items.push({ key: `${path}${name}/`, folder });
  }
  return items.sort((a, b) => compareUtf8(a.key, b.key));
}

class Walk {
  readonly objects: ObjectInfo[] = [];
  readonly prefixes: string[] = [];
  truncated = false;
  private last: string | undefined;
  private lastPrefix: string | undefined;
  private readonly nonEmpty = new Map<string, boolean>();
  /** `after` is a common prefix under this prefix and delimiter. */
  private readonly afterIsPrefix: boolean;

  constructor(
    private readonly src: ListSource,
    private readonly opts: ListOptions,
    private readonly signal?: AbortSignal,
  ) {
    this.afterIsPrefix = opts.after !== '' && this.rollup(opts.after) === opts.after;
  }

  get nextAfter(): string | undefined {
    return this.truncated ? this.last : undefined;
  }

  private room(): boolean {
    if (this.objects.length + this.prefixes.length >= this.opts.maxKeys) {
      this.truncated = true;
      return false;
    }
    return true;
  }

  /**
   * Whether a key comes after the continuation point. An `after` that is itself a common prefix
   * (as returned on a previous page) also excludes every key under it.
   */
  private keyOk(key: string): boolean {
    const { after } = this.opts;
    if (after === '') return true;
    return compareUtf8(key, after) > 0 && !(this.afterIsPrefix && key.startsWith(after));
  }

  /** The common prefix `s` rolls up into, if any. */
  private rollup(s: string): string | undefined {
    const { prefix, delimiter } = this.opts;
    if (delimiter === '' || !s.startsWith(prefix)) return undefined;
    const i = s.indexOf(delimiter, prefix.length);
    return i < 0 ? undefined : s.slice(0, i + delimiter.length);
  }

  /** Emits a common prefix once; false when the page is full. */
  private emitPrefix(cp: string): boolean {
    if (cp === this.lastPrefix) return true;
    if (!this.room()) return false;
    this.prefixes.push(cp);
    this.lastPrefix = cp;
    this.last = cp;
    return true;
  }

  /** Offers one key; false when the page is full. */
  private key(key: string, info: () => ObjectInfo | undefined): boolean {
    if (!key.startsWith(this.opts.prefix) || !this.keyOk(key)) return true;
    // A key after `after` brings in its common prefix even when the prefix itself sorts before
    // `after` (S3 and the shared local listing do the same).
    const cp = this.rollup(key);
    if (cp !== undefined) return this.emitPrefix(cp);
    const o = info();
    if (!o) return true;
    if (!this.room()) return false;
    this.objects.push(o);
    this.last = key;
    return true;
  }

  /** Whether any object lives below the folder (a positive folder size is trusted). */
  async hasObjects(path: string, ids: FolderIds, size: number): Promise<boolean> {
    const cached = this.nonEmpty.get(path);
    if (cached !== undefined) return cached;
    let result = size > 0;
    if (!result) {
      for (const item of groupChildren(path, await this.src.tree.children(ids, this.signal))) {
        if (
          item.file ||
          (item.folder && (await this.hasObjects(item.key, item.folder.ids, item.folder.size)))
        ) {
          result = true;
          break;
        }
      }
    }
    this.nonEmpty.set(path, result);
    return result;
  }

  /** Walks one folder (`path` is its key prefix, '' for the bucket); false when the page is full. */
  async folder(path: string, ids: FolderIds): Promise<boolean> {
    const { prefix, after } = this.opts;
    const items = groupChildren(path, await this.src.tree.children(ids, this.signal));
    const files = items
      .filter((i) => i.file && i.key.startsWith(prefix) && this.keyOk(i.key))
      .map((i) => ({ key: i.key, entry: i.file! }));
    const infos = files.length ? this.src.fileInfos(files) : new Map<number, ObjectInfo>();
    for (const item of items) {
      if (item.file) {
        if (!this.key(item.key, () => infos.get(item.file!.id))) return false;
        continue;
      }
      const f = item.key;
      const folder = item.folder!;
      if (!f.startsWith(prefix) && !prefix.startsWith(f)) continue;
      // Every key below F starts with F: all of them precede `after` when after > F outside F,
      // and all are excluded when F lies under an `after` that is a common prefix.
      if (after !== '' && compareUtf8(after, f) > 0 && !after.startsWith(f)) continue;
      if (this.afterIsPrefix && f.startsWith(after)) continue;
      const cp = f.length > prefix.length ? this.rollup(f) : undefined;
      // Roll the whole folder up without descending, unless `after` points inside it (then only
      // keys past `after` count, and the walk below decides).
      if (cp !== undefined && !(after !== '' && after.startsWith(f))) {
        if (cp === this.lastPrefix) continue;
        if (!(await this.hasObjects(f, folder.ids, folder.size))) continue;
        if (!this.emitPrefix(cp)) return false;
        continue;
      }
      if (!(await this.folder(f, folder.ids))) return false;
    }
    return true;
  }
}

/** One page of ListObjects below the bucket folder(s) `bucketIds`. */
export async function listObjects(
  src: ListSource,
  bucketIds: FolderIds,
  opts: ListOptions,
  signal?: AbortSignal,
): Promise<ListPage> {
  const empty: ListPage = { objects: [], commonPrefixes: [], isTruncated: false };
  // Every key under `prefix` lives in the folder its last `/` closes.
  const dirs = opts.prefix.split('/').slice(0, -1);
  const ids = dirs.length ? await src.tree.resolve(bucketIds, dirs, signal) : bucketIds;
  if (!ids) return empty;
  const walk = new Walk(src, opts, signal);
  await walk.folder(dirs.length ? dirs.join('/') + '/' : '', ids);
  const page: ListPage = {
    objects: walk.objects,
    commonPrefixes: walk.prefixes,
    isTruncated: walk.truncated,
  };
  const next = walk.nextAfter;
  if (next !== undefined) page.nextAfter = next;
  return page;
}
