/**
 * Fake Drime routes for users, listing and entry management (drime-api.md §1, §3, §4, §7, §10).
 */
import { randomBytes } from 'node:crypto';
import { decodeEntryHash } from './hash.js';
import {
  bool,
  int,
  intList,
  invalid,
  json,
  notFound,
  str,
  type ApiContext,
  type FakeResponse,
} from './context.js';
import { sameNameCi, type FakeEntry } from './state.js';

const ROOT_FOLDER = { id: 0, hash: '0', name: 'All Files', type: 'folder', path: '', parent_id: null };

export function loggedUser(ctx: ApiContext): FakeResponse {
  const u = ctx.user!;
  return json(200, {
    user: { id: u.id, email: u.email, display_name: u.email, first_name: null, last_name: null },
  });
}

export function workspaces(ctx: ApiContext): FakeResponse {
  const u = ctx.user!;
  const list = [...ctx.state.workspaces.values()]
    .filter((w) => w.memberIds.includes(u.id))
    .map((w) => ({ id: w.id, name: w.name, owner_id: w.ownerId, members_count: w.memberIds.length }));
  return json(200, { workspaces: list, status: 'success', seo: null });
}

export function spaceUsage(ctx: ApiContext): FakeResponse {
  return json(200, {
    used: ctx.state.usedBytes(ctx.user!.id),
    available: ctx.state.options.quota,
    status: 'success',
  });
}

function entryField(e: FakeEntry, by: string, state: ApiContext['state']): string | number {
  switch (by) {
    case 'name':
      return e.name.toLowerCase();
    case 'created_at':
      return e.createdAt;
    case 'file_size':
      return e.type === 'folder' ? state.folderSize(e.id) : e.size;
    default:
      return e.updatedAt;
  }
}

/** `GET /drive/file-entries` with BeDrive's scoping rules (§3.1). */
export function listEntries(ctx: ApiContext): FakeResponse {
  const { state, req, user } = ctx;
  const p = req.params;
  const query = str(p, 'query');
  const deletedOnly = bool(p, 'deletedOnly', false);
  const entryIds = str(p, 'entryIds');
  const special =
    !!query ||
    deletedOnly ||
    bool(p, 'starredOnly', false) ||
    bool(p, 'recentOnly', false) ||
    bool(p, 'sharedOnly', false) ||
    !!entryIds;

  // The folder from folderId/pageId: a numeric string is an id, anything else a hash. A value that
  // does not resolve silently falls back to the root, without a `folder` key.
  let folderJson: unknown;
  let parentFilter: Array<number | null> = [null];
  const folderParam = str(p, 'folderId') ?? str(p, 'pageId');
  if (folderParam !== undefined) {
    if (folderParam === '0' || folderParam === '') folderJson = ROOT_FOLDER;
    else {
      const id = /^\d+$/.test(folderParam) ? Number(folderParam) : decodeEntryHash(folderParam);
      const f = id === undefined ? undefined : state.entries.get(id);
      if (f && f.type === 'folder' && f.deletedAt === null && state.visible(f, user, ctx.ws)) {
        folderJson = state.toJson(f);
        parentFilter = [f.id];
      }
    }
  }
  const parentIds = str(p, 'parentIds');
  if (parentIds !== undefined && parentIds !== '') {
    parentFilter = intList(p, 'parentIds').map((n) => (n === 0 ? null : n));
  }

  const backup = int(p, 'backup') === 1;
  const now = state.now();
  let rows = [...state.entries.values()].filter((e) => e.backup === backup);
  if (query && ctx.ws === 0) {
    // Personal-space search does not apply the workspace filter (§3.1).
    rows = rows.filter(
      (e) => e.ownerId === user!.id || (e.workspaceId !== 0 && state.canUseWorkspace(user!, e.workspaceId)),
    );
  } else rows = rows.filter((e) => state.visible(e, user, ctx.ws));
  if (deletedOnly) {
    rows = rows.filter((e) => {
      if (e.deletedAt === null) return false;
      const parent = e.parentId === null ? undefined : state.entries.get(e.parentId);
      return !parent || parent.deletedAt === null;
    });
  } else rows = rows.filter((e) => e.deletedAt === null);
  if (!special) rows = rows.filter((e) => parentFilter.includes(e.parentId));
  if (query) {
    const q = query.toLowerCase();
    rows = rows.filter(
      (e) => e.name.toLowerCase().includes(q) && now - e.createdAt >= state.options.searchLagMs,
    );
  }
  if (entryIds) {
    const ids = intList(p, 'entryIds');
    rows = rows.filter((e) => ids.includes(e.id));
  }
  const type = str(p, 'type');
  if (type) rows = rows.filter((e) => e.type === type);

  const orderBy = str(p, 'orderBy') ?? 'updated_at';
  const dir = (str(p, 'orderDir') ?? 'desc').toLowerCase() === 'asc' ? 1 : -1;
  rows.sort((a, b) => {
    const fa = a.type === 'folder' ? 0 : 1;
    const fb = b.type === 'folder' ? 0 : 1;
    if (fa !== fb) return fa - fb;
    const va = entryField(a, orderBy, state);
    const vb = entryField(b, orderBy, state);
    if (va !== vb) return (va < vb ? -1 : 1) * dir;
    return a.name.toLowerCase() < b.name.toLowerCase()
      ? -1
      : a.name.toLowerCase() > b.name.toLowerCase()
        ? 1
        : a.id - b.id;
  });

  let perPage = int(p, 'perPage') ?? state.options.defaultPerPage;
  if (!Number.isFinite(perPage) || perPage < 1) perPage = state.options.defaultPerPage;
  if (state.options.maxPerPage !== undefined) perPage = Math.min(perPage, state.options.maxPerPage);
  let page = int(p, 'page') ?? 1;
  if (!Number.isFinite(page) || page < 1) page = 1;
  const total = rows.length;
  const start = (page - 1) * perPage;
  const data = rows.slice(start, start + perPage).map((e) => state.toJson(e));
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  const hasMore = start + perPage < total;
  const body: Record<string, unknown> =
    state.options.paginator === 'lengthAware'
      ? {
          current_page: page,
          data,
          from: data.length ? start + 1 : null,
          to: data.length ? start + data.length : null,
          per_page: perPage,
          last_page: lastPage,
          total,
          next_page: hasMore ? page + 1 : null,
          prev_page: page > 1 ? page - 1 : null,
        }
      : {
          current_page: page,
          data,
          from: data.length ? start + 1 : null,
          to: data.length ? start + data.length : null,
          per_page: perPage,
          next_page_url: hasMore ? `${ctx.origin}/api/v1/drive/file-entries?page=${page + 1}` : null,
          prev_page_url: page > 1 ? `${ctx.origin}/api/v1/drive/file-entries?page=${page - 1}` : null,
        };
  if (folderJson !== undefined) body.folder = folderJson;
  return json(200, body);
}

function lookup(ctx: ApiContext, idOrHash: string): FakeEntry | undefined {
  const id = /^\d+$/.test(idOrHash) ? Number(idOrHash) : decodeEntryHash(idOrHash);
  const e = id === undefined ? undefined : ctx.state.entries.get(id);
  return e && ctx.state.visible(e, ctx.user, ctx.ws) ? e : undefined;
}

/** `GET /file-entries/{id}`: JSON when asked for it (Drime), trashed entries included. */
export function getEntry(ctx: ApiContext, idOrHash: string): FakeResponse {
  const e = lookup(ctx, idOrHash);
  if (!e) return notFound(`No query results for model [App\\FileEntry] ${idOrHash}`);
  return json(200, { status: 'success', fileEntry: ctx.state.toJson(e) });
}

export function folderCount(ctx: ApiContext, id: string): FakeResponse {
  const e = lookup(ctx, id);
  if (!e || e.type !== 'folder') return notFound(`No query results for model [App\\Folder] ${id}`);
  return json(200, { count: ctx.state.children(e.id, ctx.ws).length, status: 'success' });
}

export function folderPath(ctx: ApiContext, idOrHash: string): FakeResponse {
  const e = lookup(ctx, idOrHash);
  if (!e || e.type !== 'folder') return notFound(`No query results for model [App\\Folder] ${idOrHash}`);
  const path = ctx.state
    .pathOf(e)
    .split('/')
    .map((id) => ctx.state.toJson(ctx.state.entries.get(Number(id))!));
  return json(200, { path, status: 'success' });
}

export function userFolders(ctx: ApiContext): FakeResponse {
  const folders = [...ctx.state.entries.values()]
    .filter((e) => e.type === 'folder' && e.deletedAt === null && ctx.state.visible(e, ctx.user, ctx.ws))
    .map((e) => ctx.state.toJson(e));
  return json(200, { folders, rootFolder: ROOT_FOLDER, status: 'success' });
}

/** Resolves a `parentId` parameter: null for root; undefined when it names no live folder. */
export function parentFolder(ctx: ApiContext, raw: number | null): number | null | undefined {
  if (raw === null || raw === 0) return null;
  const f = ctx.state.entries.get(raw);
  if (!f || f.type !== 'folder' || !ctx.state.visible(f, ctx.user, ctx.ws)) return undefined;
  return f.id;
}

/** Finds or creates a folder (the `relativePath` auto-create: no duplicate or length check). */
export function ensureFolder(ctx: ApiContext, name: string, parentId: number | null): FakeEntry {
  const found = ctx.state
    .children(parentId, ctx.ws)
    .find((e) => e.type === 'folder' && sameNameCi(e.name, name) && e.ownerId === (ctx.user?.id ?? null));
  if (found) return found;
  return newFolder(ctx, name, parentId);
}

function newFolder(ctx: ApiContext, name: string, parentId: number | null): FakeEntry {
  return ctx.state.createEntry({
    name,
    type: 'folder',
    parentId,
    workspaceId: ctx.ws,
    ownerId: ctx.user?.id ?? null,
    fileName: name,
    size: 0,
    mime: null,
    extension: null,
  });
}

/** `POST /folders` (§4.1): 422 on a case-insensitive duplicate; optional `min:3`. */
export function createFolder(ctx: ApiContext): FakeResponse {
  const name = str(ctx.req.params, 'name')?.trim() ?? '';
  if (!name) return invalid('The name field is required.', { name: ['The name field is required.'] });
  const min = ctx.state.options.folderMinLength;
  if (min > 0 && [...name].length < min) {
    return invalid(`The name must be at least ${min} characters.`, {
      name: [`The name must be at least ${min} characters.`],
    });
  }
  const parentRaw = int(ctx.req.params, 'parentId');
  if (Number.isNaN(parentRaw)) return invalid('The selected parent id is invalid.');
  // BeDrive validates parentId as exists:file_entries,id, so 0 is refused (use null for root).
  if (parentRaw === 0)
    return invalid('The selected parent id is invalid.', {
      parentId: ['The selected parent id is invalid.'],
    });
  const parentId = parentFolder(ctx, parentRaw);
  if (parentId === undefined) return invalid('The selected parent id is invalid.');
  const dup = ctx.state
    .children(parentId, ctx.ws)
    .some((e) => e.type === 'folder' && sameNameCi(e.name, name));
  if (dup) return invalid('', { name: 'Folder with same name already exists.' });
  const folder = newFolder(ctx, name, parentId);
  return json(200, { status: 'success', folder: ctx.state.toJson(folder) });
}

function checkIds(ctx: ApiContext, ids: number[]): FakeEntry[] | FakeResponse {
  if (ids.length === 0) return invalid('The entry ids field is required.');
  const out: FakeEntry[] = [];
  for (const id of ids) {
    const e = ctx.state.entries.get(id);
    if (!e || !ctx.state.visible(e, ctx.user, ctx.ws)) {
      return invalid('The selected entry ids is invalid.', {
        entryIds: ['The selected entry ids is invalid.'],
      });
    }
    out.push(e);
  }
  return out;
}

function removeForever(ctx: ApiContext, e: FakeEntry): void {
  for (const d of [e, ...ctx.state.descendants(e.id)]) {
    ctx.state.entries.delete(d.id);
    if (d.type !== 'folder') {
      const shared = [...ctx.state.entries.values()].some((o) => o.fileName === d.fileName);
      if (!shared) ctx.state.blobs.delete(ctx.state.blobKey(d.fileName));
    }
  }
}

/** `POST /file-entries/delete` (§7.1): deleteForever defaults to TRUE; recursive. */
export function deleteEntries(ctx: ApiContext): FakeResponse {
  const p = ctx.req.params;
  const forever = bool(p, 'deleteForever', true);
  if (bool(p, 'emptyTrash', false)) {
    for (const e of [...ctx.state.entries.values()])
      if (e.deletedAt !== null && ctx.state.entries.has(e.id) && e.ownerId === ctx.user!.id)
        removeForever(ctx, e);
    return json(200, { status: 'success' });
  }
  const entries = checkIds(ctx, intList(p, 'entryIds'));
  if (!Array.isArray(entries)) return entries;
  const t = ctx.state.now();
  for (const e of entries) {
    if (forever) removeForever(ctx, e);
    else for (const d of [e, ...ctx.state.descendants(e.id)]) if (d.deletedAt === null) d.deletedAt = t;
  }
  return json(200, { status: 'success' });
}

export function restoreEntries(ctx: ApiContext): FakeResponse {
  const entries = checkIds(ctx, intList(ctx.req.params, 'entryIds'));
  if (!Array.isArray(entries)) return entries;
  for (const e of entries) for (const d of [e, ...ctx.state.descendants(e.id)]) d.deletedAt = null;
  return json(200, { status: 'success' });
}

function destination(ctx: ApiContext): number | null | FakeResponse {
  const raw = int(ctx.req.params, 'destinationId');
  if (raw === null || raw === 0) return null;
  const d = Number.isNaN(raw) ? undefined : ctx.state.entries.get(raw);
  if (!d || !ctx.state.visible(d, ctx.user, ctx.ws))
    return invalid('The selected destination id is invalid.');
  if (d.type !== 'folder') return invalid('Destination must be a folder');
  return d.id;
}

/** `POST /file-entries/move` (§7.2): first 30 ids; no-ops and moves into own subtree dropped. */
export function moveEntries(ctx: ApiContext): FakeResponse {
  const entries = checkIds(ctx, intList(ctx.req.params, 'entryIds').slice(0, 30));
  if (!Array.isArray(entries)) return entries;
  const dest = destination(ctx);
  if (typeof dest === 'object' && dest !== null) return dest;
  const t = ctx.state.now();
  for (const e of entries) {
    if (e.parentId === dest || e.id === dest) continue;
    if (dest !== null && ctx.state.descendants(e.id).some((d) => d.id === dest)) continue;
    e.parentId = dest;
    e.updatedAt = t;
  }
  const destEntry = dest === null ? null : ctx.state.toJson(ctx.state.entries.get(dest)!);
  return json(200, { status: 'success', entries: [], destination: destEntry });
}

function randomName36(): string {
  return randomBytes(27).toString('base64url').slice(0, 36);
}

function copyTree(ctx: ApiContext, src: FakeEntry, parentId: number | null, name: string): FakeEntry {
  const fileName = src.type === 'folder' ? name : randomName36();
  const copy = ctx.state.createEntry({
    name,
    type: src.type,
    parentId,
    workspaceId: ctx.ws,
    ownerId: ctx.user!.id,
    fileName,
    size: src.size,
    mime: src.mime,
    extension: src.extension,
  });
  if (src.type !== 'folder') {
    const blob = ctx.state.blobOf(src);
    if (blob) ctx.state.blobs.set(ctx.state.blobKey(fileName), Buffer.from(blob));
  } else {
    for (const child of ctx.state.children(src.id, src.workspaceId))
      copyTree(ctx, child, copy.id, child.name);
  }
  return copy;
}

/** `POST /file-entries/duplicate` (§7.4): same folder gives "<name> - Copy"; recursive; new file_name. */
export function duplicateEntries(ctx: ApiContext): FakeResponse {
  const entries = checkIds(ctx, intList(ctx.req.params, 'entryIds'));
  if (!Array.isArray(entries)) return entries;
  const hasDest = Object.prototype.hasOwnProperty.call(ctx.req.params, 'destinationId');
  const dest = hasDest ? destination(ctx) : undefined;
  if (typeof dest === 'object' && dest !== null) return dest;
  const quota = ctx.state.options.quota;
  const need = entries.reduce((n, e) => n + (e.type === 'folder' ? ctx.state.folderSize(e.id) : e.size), 0);
  if (quota !== null && ctx.state.usedBytes(ctx.user!.id) + need > quota) {
    return invalid(`You have exhausted your allowed space of ${quota} bytes.`);
  }
  const copies = entries.map((e) => {
    const target = dest === undefined ? e.parentId : dest;
    return copyTree(ctx, e, target, target === e.parentId ? `${e.name} - Copy` : e.name);
  });
  return json(200, { status: 'success', entries: copies.map((c) => ctx.state.toJson(c)) });
}

/** `PUT /file-entries/{id}` (also POST with `_method=PUT`): rename. */
export function renameEntry(ctx: ApiContext, id: string): FakeResponse {
  const e = lookup(ctx, id);
  if (!e) return notFound(`No query results for model [App\\FileEntry] ${id}`);
  const name = str(ctx.req.params, 'name')?.trim() ?? '';
  const min = Math.max(1, ctx.state.options.renameMinLength);
  if ([...name].length < min || name.length > 200) {
    return invalid(`The name must be at least ${min} characters.`, {
      name: [`The name must be at least ${min} characters.`],
    });
  }
  e.name = name;
  if (e.type === 'folder') e.fileName = name;
  e.updatedAt = ctx.state.now();
  return json(200, { status: 'success', fileEntry: ctx.state.toJson(e) });
}
