/**
 * Drime API shapes (drime-api.md §2), decoded leniently: ids and sizes may be numbers or numeric
 * strings, booleans may be 0/1.
 */
import { DrimeError } from './errors.js';

/** A Drime file entry (file or folder), as the backend uses it. */
export interface DrimeEntry {
  id: number;
  name: string;
  /** `folder` or a MIME-derived file type; only `folder` is a directory (§2.2). */
  type: string;
  /** Bytes; for folders the total of their contents. */
  fileSize: number;
  mime: string | null;
  extension: string | null;
  /** null at the workspace root (some responses use 0). */
  parentId: number | null;
  /** Ancestor ids joined by `/`. */
  path: string;
  /** The id encoding used by downloads (not a content hash). */
  hash: string;
  /** The storage object name (a UUID for uploads); changes on every upload. */
  fileName: string;
  workspaceId: number;
  ownerId: number | null;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  /** How many users the response lists; 0 means a guest or incomplete upload (§1.2). */
  userCount: number;
  /** A version backup (hidden from normal listings). */
  backup: boolean;
  /** When the response embedded the parent: whether that parent is in the trash. */
  parentTrashed?: boolean;
}

export interface DrimeUser {
  id: number;
  email: string;
  displayName: string;
}

export interface DrimeWorkspace {
  id: number;
  name: string;
}

export function isFolder(e: DrimeEntry): boolean {
  return e.type === 'folder';
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

function date(v: unknown): Date | null {
  if (typeof v !== 'string' || v === '') return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

function strOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Decodes one entry object; throws a protocol error when id or name is missing. */
export function decodeEntry(raw: unknown): DrimeEntry {
  if (!raw || typeof raw !== 'object') throw new DrimeError('protocol', 'entry is not an object');
  const r = raw as Record<string, unknown>;
  const id = num(r.id);
  if (id === undefined || typeof r.name !== 'string')
    throw new DrimeError('protocol', 'entry without id or name');
  const parent = num(r.parent_id);
  const created = date(r.created_at);
  const updated = date(r.updated_at) ?? created ?? new Date(0);
  const entry: DrimeEntry = {
    id,
    name: r.name,
    type: typeof r.type === 'string' ? r.type : 'file',
    fileSize: num(r.file_size) ?? 0,
    mime: strOrNull(r.mime),
    extension: strOrNull(r.extension),
    parentId: parent === undefined || parent === 0 ? null : parent,
    path: typeof r.path === 'string' ? r.path : '',
    hash: typeof r.hash === 'string' ? r.hash : '',
    fileName: typeof r.file_name === 'string' ? r.file_name : '',
    workspaceId: num(r.workspace_id) ?? 0,
    ownerId: num(r.owner_id) ?? null,
    createdAt: created ?? updated,
    updatedAt: updated,
    deletedAt: date(r.deleted_at),
    userCount: Array.isArray(r.users) ? r.users.length : 0,
    backup: r.backup === true || num(r.backup) === 1,
  };
  if (r.parent && typeof r.parent === 'object') {
    entry.parentTrashed = date((r.parent as Record<string, unknown>).deleted_at) !== null;
  }
  return entry;
}

export function decodeUser(raw: unknown): DrimeUser {
  const u = (raw as { user?: Record<string, unknown> } | null)?.user;
  const id = num(u?.id);
  if (!u || id === undefined) throw new DrimeError('protocol', '/cli/loggedUser returned no user');
  const email = typeof u.email === 'string' ? u.email : '';
  return { id, email, displayName: typeof u.display_name === 'string' ? u.display_name : email };
}

/** Newest first: greatest updated_at, then greatest id (drime-api.md §3.3). */
export function newestFirst(a: DrimeEntry, b: DrimeEntry): number {
  return b.updatedAt.getTime() - a.updatedAt.getTime() || b.id - a.id;
}
