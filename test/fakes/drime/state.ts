/**
 * The in-memory state of the fake Drime API (drime-api.md §12): users, workspaces, file entries,
 * stored blobs (the fake "R2" bucket) and multipart sessions. Tests read it directly to assert
 * what was stored. Test code: whole blobs live in memory.
 */
import { createHash, randomUUID } from 'node:crypto';
import { encodeEntryHash } from './hash.js';

export interface FakeUser {
  id: number;
  email: string;
  token: string;
}

export interface FakeWorkspace {
  id: number;
  name: string;
  ownerId: number;
  memberIds: number[];
}

export interface FakeEntry {
  id: number;
  name: string;
  /** `folder`, or a MIME-derived file type (`file`, `image`, `text`, ...). */
  type: string;
  parentId: number | null;
  workspaceId: number;
  ownerId: number | null;
  /** Storage object name; the blob lives at `uploads/<fileName>/<fileName>`. */
  fileName: string;
  size: number;
  mime: string | null;
  extension: string | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
  /** An old version kept by a same-name replace; hidden unless `backup=1` is listed. */
  backup: boolean;
}

export interface FakePart {
  etag: string;
  data: Buffer;
}

export interface MultipartSession {
  key: string;
  uploadId: string;
  createdAt: number;
  parts: Map<number, FakePart>;
}

/** Behaviour switches; tests may change them at any time. */
export interface FakeOptions {
  /** What a second upload of a name into the same folder does (drime-api.md §5.6). */
  sameName: 'duplicate' | 'replace';
  /** `redirect`: 302 to a presigned storage URL; `stream`: the API host answers 200 with the bytes. */
  download: 'redirect' | 'stream';
  /** Whether downloads answer `Range` with 206 (false: the range is ignored, 200 full body). */
  rangeSupport: boolean;
  /** Minimum folder-name length on `POST /folders` (BeDrive `min:3`); 0 disables. */
  folderMinLength: number;
  /** Minimum name length on rename (BeDrive `min:3`); 0 disables. */
  renameMinLength: number;
  /** `POST /uploads` without a valid token succeeds as a guest and returns `users: []` (§1.2). */
  guestUploads: boolean;
  /** `lengthAware` paginators carry total/last_page; `simple` ones only next_page. */
  paginator: 'lengthAware' | 'simple';
  /** Entries younger than this are missing from `query` results (search index lag). */
  searchLagMs: number;
  /** Largest accepted file (422 above), undefined: unlimited. */
  maxFileSize?: number;
  /** Total allowance in bytes for space usage and the quota check; null: unlimited. */
  quota: number | null;
  /** Longest accepted extension (BeDrive varchar(10)); 0 disables the check. */
  extensionMaxLength: number;
  /** Storage URLs refuse requests that carry an Authorization header (R2 presigned semantics). */
  rejectAuthorizationOnStorage: boolean;
  /** R2's minimum size of non-final parts. */
  minPartSize: number;
  /** Lifetime of presigned part/PUT URLs and download redirects. */
  presignTtlMs: number;
  /** Serialise ids and sizes as numeric strings (lenient-decoding test). */
  numericStrings: boolean;
  /** `perPage` used when none is sent. */
  defaultPerPage: number;
  /** Cap on `perPage`; undefined: no cap. */
  maxPerPage?: number;
}

export const DEFAULT_FAKE_OPTIONS: FakeOptions = {
  sameName: 'duplicate',
  download: 'redirect',
  rangeSupport: true,
  folderMinLength: 0,
  renameMinLength: 0,
  guestUploads: false,
  paginator: 'lengthAware',
  searchLagMs: 0,
  quota: 1024 ** 4,
  extensionMaxLength: 0,
  rejectAuthorizationOnStorage: true,
  minPartSize: 5 * 1024 * 1024,
  presignTtlMs: 30 * 60 * 1000,
  numericStrings: false,
  defaultPerPage: 50,
};

/** BeDrive `GetsEntryTypeFromMime`, reduced to what matters: only `folder` is a directory. */
export function typeFromMime(mime: string | null, extension: string | null): string {
  const m = (mime ?? '').toLowerCase();
  if (m === 'application/pdf') return 'pdf';
  if (m === 'application/zip' || extension === 'zip') return 'archive';
  const top = m.split('/')[0] ?? '';
  if (['image', 'video', 'audio', 'text'].includes(top)) return top;
  return 'file';
}

/** The extension BeDrive derives from a client file name (falling back to the MIME subtype). */
export function extensionOf(name: string, mime: string | null): string | null {
  const dot = name.lastIndexOf('.');
  if (dot > 0 && dot < name.length - 1) return name.slice(dot + 1);
  const sub = (mime ?? '').split('/')[1];
  return sub ? sub : null;
}

/** MySQL utf8mb4_*_ci-like comparison: case- and accent-insensitive. */
const collator = new Intl.Collator('und', { sensitivity: 'base' });
export function sameNameCi(a: string, b: string): boolean {
  return collator.compare(a, b) === 0;
}

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Drime's timestamp format: ISO-8601 UTC with microseconds. */
export function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class FakeDrimeState {
  readonly options: FakeOptions;
  readonly users = new Map<number, FakeUser>();
  readonly workspaces = new Map<number, FakeWorkspace>();
  readonly entries = new Map<number, FakeEntry>();
  /** Stored objects by storage key (`uploads/<fileName>/<fileName>`). */
  readonly blobs = new Map<string, Buffer>();
  readonly multipart = new Map<string, MultipartSession>();
  private nextId: number;
  private lastTime = 0;

  constructor(options: Partial<FakeOptions> = {}, firstId = 480_000_000) {
    this.options = { ...DEFAULT_FAKE_OPTIONS, ...options };
    this.nextId = firstId;
  }

  /** Strictly increasing wall-clock milliseconds, so `updated_at` orders writes. */
  now(): number {
    this.lastTime = Math.max(Date.now(), this.lastTime + 1);
    return this.lastTime;
  }

  allocateId(): number {
    return this.nextId++;
  }

  addUser(token: string, email = `user${this.users.size + 1}@example.test`): FakeUser {
    const user = { id: this.users.size + 1, email, token };
    this.users.set(user.id, user);
    return user;
  }

  userByToken(token: string): FakeUser | undefined {
    for (const u of this.users.values()) if (u.token === token) return u;
    return undefined;
  }

  addWorkspace(name: string, owner: FakeUser, members: FakeUser[] = []): FakeWorkspace {
    const ws = {
      id: 1000 + this.workspaces.size + 1,
      name,
      ownerId: owner.id,
      memberIds: [owner.id, ...members.map((m) => m.id)],
    };
    this.workspaces.set(ws.id, ws);
    return ws;
  }

  /** Whether `user` may use workspace `id` (0 is everyone's personal space). */
  canUseWorkspace(user: FakeUser, id: number): boolean {
    if (id === 0) return true;
    return this.workspaces.get(id)?.memberIds.includes(user.id) ?? false;
  }

  /** Visible to `user` in workspace `ws` (personal space: own entries only). */
  visible(e: FakeEntry, user: FakeUser | undefined, ws: number): boolean {
    if (e.workspaceId !== ws) return false;
    if (ws === 0) return user !== undefined && e.ownerId === user.id;
    return true;
  }

  createEntry(fields: Omit<FakeEntry, 'id' | 'createdAt' | 'updatedAt' | 'deletedAt' | 'backup'>): FakeEntry {
    const t = this.now();
    const e: FakeEntry = {
      ...fields,
      id: this.allocateId(),
      createdAt: t,
      updatedAt: t,
      deletedAt: null,
      backup: false,
    };
    this.entries.set(e.id, e);
    return e;
  }

  /** Live (not trashed, not backup) children of `parentId` in workspace `ws`. */
  children(parentId: number | null, ws: number): FakeEntry[] {
    return [...this.entries.values()].filter(
      (e) => e.parentId === parentId && e.workspaceId === ws && e.deletedAt === null && !e.backup,
    );
  }

  /** Every entry below `id` (any state), depth first. */
  descendants(id: number): FakeEntry[] {
    const out: FakeEntry[] = [];
    for (const e of this.entries.values()) {
      if (e.parentId === id) out.push(e, ...(e.type === 'folder' ? this.descendants(e.id) : []));
    }
    return out;
  }

  /** Ancestor ids from the top down to the entry itself, joined by `/` (the `path` field). */
  pathOf(e: FakeEntry): string {
    const ids: number[] = [];
    let cur: FakeEntry | undefined = e;
    while (cur) {
      ids.unshift(cur.id);
      cur = cur.parentId === null ? undefined : this.entries.get(cur.parentId);
    }
    return ids.join('/');
  }

  /** A folder's size: the live files below it. */
  folderSize(id: number): number {
    return this.descendants(id)
      .filter((d) => d.type !== 'folder' && d.deletedAt === null && !d.backup)
      .reduce((n, d) => n + d.size, 0);
  }

  blobKey(fileName: string): string {
    return `uploads/${fileName}/${fileName}`;
  }

  /** The bytes of a file entry (undefined for folders or missing blobs). */
  blobOf(e: FakeEntry): Buffer | undefined {
    return this.blobs.get(this.blobKey(e.fileName));
  }

  /** Bytes counted against the quota: owned files including trashed ones (BeDrive `withTrashed`). */
  usedBytes(ownerId: number): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.type !== 'folder' && e.ownerId === ownerId) n += e.size;
    return n;
  }

  /** Live files under `rootId` (null: the workspace root) as `path -> entry`, for assertions. */
  files(ws: number, rootId: number | null = null, prefix = ''): Map<string, FakeEntry> {
    const out = new Map<string, FakeEntry>();
    for (const e of this.children(rootId, ws)) {
      if (e.type === 'folder')
        for (const [k, v] of this.files(ws, e.id, `${prefix}${e.name}/`)) out.set(k, v);
      else {
        const prev = out.get(prefix + e.name);
        if (!prev || prev.updatedAt < e.updatedAt || (prev.updatedAt === e.updatedAt && prev.id < e.id))
          out.set(prefix + e.name, e);
      }
    }
    return out;
  }

  /** Live folders under `rootId` as paths with a trailing `/`. */
  folders(ws: number, rootId: number | null = null, prefix = ''): string[] {
    const out: string[] = [];
    for (const e of this.children(rootId, ws))
      if (e.type === 'folder')
        out.push(`${prefix}${e.name}/`, ...this.folders(ws, e.id, `${prefix}${e.name}/`));
    return out.sort();
  }

  /** The JSON entry object the API returns. */
  toJson(e: FakeEntry, withParent = false): Record<string, unknown> {
    const num = (n: number): number | string => (this.options.numericStrings ? String(n) : n);
    const owner = e.ownerId === null ? undefined : this.users.get(e.ownerId);
    const isFolder = e.type === 'folder';
    const parent = withParent && e.parentId !== null ? this.entries.get(e.parentId) : undefined;
    return {
      id: num(e.id),
      name: e.name,
      description: null,
      file_name: e.fileName,
      mime: e.mime,
      file_size: num(isFolder ? this.folderSize(e.id) : e.size),
      parent_id: e.parentId === null ? null : num(e.parentId),
      created_at: isoMicros(e.createdAt),
      updated_at: isoMicros(e.updatedAt),
      deleted_at: e.deletedAt === null ? null : isoMicros(e.deletedAt),
      path: this.pathOf(e),
      disk_prefix: isFolder ? null : e.fileName,
      type: e.type,
      extension: e.extension,
      public: false,
      thumbnail: false,
      workspace_id: e.workspaceId,
      owner_id: e.ownerId,
      hash: encodeEntryHash(e.id),
      url: isFolder ? null : `api/v1/file-entries/${e.id}`,
      backup: e.backup ? 1 : 0,
      is_encrypted: 0,
      file_hash: null,
      tags: [],
      permissions: {
        'files.update': true,
        'files.create': true,
        'files.download': true,
        'files.delete': true,
      },
      users: owner
        ? [
            {
              id: owner.id,
              email: owner.email,
              display_name: owner.email,
              owns_entry: true,
              model_type: 'user',
            },
          ]
        : [],
      ...(withParent ? { parent: parent ? this.toJson(parent) : null } : {}),
    };
  }

  newFileName(): string {
    return randomUUID();
  }
}
