/**
 * Fake Drime upload routes (drime-api.md §5): `POST /uploads`, the presigned single PUT and the
 * R2-style multipart flow, and `POST /s3/entries`.
 */
import { randomBytes } from 'node:crypto';
import { ensureFolder, parentFolder } from './routes-drive.js';
import { int, invalid, json, notFound, str, type ApiContext, type FakeResponse } from './context.js';
import { extensionOf, md5Hex, sameNameCi, typeFromMime, type FakeEntry } from './state.js';

const MAX_PARTS = 10_000;

/** BeDrive `ValidateFileUpload`: size, quota and extension checks. */
function validateUpload(ctx: ApiContext, size: number, extension: string | null): FakeResponse | undefined {
  const o = ctx.state.options;
  if (o.maxFileSize !== undefined && size > o.maxFileSize) {
    return invalid(`The file size may not be greater than ${o.maxFileSize} bytes.`);
  }
  if (o.quota !== null && ctx.user && ctx.state.usedBytes(ctx.user.id) + size > o.quota) {
    return invalid(`You have exhausted your allowed space of ${o.quota} bytes.`);
  }
  // The extension column is varchar(10): a longer value breaks the insert (§9.5).
  if (o.extensionMaxLength > 0 && extension !== null && extension.length > o.extensionMaxLength) {
    return json(500, { message: 'There was an issue. Please try again later.' });
  }
  return undefined;
}

/** Placement from parentId + relativePath (folders in a relativePath with a `/` are auto-created). */
function placement(ctx: ApiContext): number | null | FakeResponse {
  const raw = int(ctx.req.params, 'parentId');
  if (Number.isNaN(raw)) return invalid('The selected parent id is invalid.');
  let parent = parentFolder(ctx, raw);
  if (parent === undefined) return invalid('The selected parent id is invalid.');
  const rel = str(ctx.req.params, 'relativePath') ?? '';
  if (rel.includes('/')) {
    const dirs = rel.split('/').filter((s) => s !== '');
    dirs.pop();
    for (const d of dirs) parent = ensureFolder(ctx, d, parent).id;
  }
  return parent;
}

interface NewFile {
  name: string;
  parentId: number | null;
  size: number;
  mime: string;
  extension: string | null;
  fileName: string;
}

/** Creates the entry, or in `replace` mode replaces a same-named file (keeping its id). */
function registerFile(ctx: ApiContext, f: NewFile): FakeEntry {
  const { state } = ctx;
  if (state.options.sameName === 'replace') {
    const existing = state
      .children(f.parentId, ctx.ws)
      .filter((e) => e.type !== 'folder' && sameNameCi(e.name, f.name))
      .sort((a, b) => b.updatedAt - a.updatedAt || b.id - a.id)[0];
    if (existing) {
      // The old version survives as a hidden backup entry; the live entry keeps its id and name.
      const old = state.createEntry({ ...existing, parentId: existing.parentId });
      old.backup = true;
      old.createdAt = existing.createdAt;
      old.updatedAt = existing.updatedAt;
      existing.fileName = f.fileName;
      existing.size = f.size;
      existing.mime = f.mime;
      existing.extension = f.extension;
      existing.type = typeFromMime(f.mime, f.extension);
      existing.updatedAt = state.now();
      return existing;
    }
  }
  return state.createEntry({
    name: f.name,
    type: typeFromMime(f.mime, f.extension),
    parentId: f.parentId,
    workspaceId: ctx.ws,
    ownerId: ctx.user?.id ?? null,
    fileName: f.fileName,
    size: f.size,
    mime: f.mime,
    extension: f.extension,
  });
}

/** `POST /uploads` (multipart/form-data): 201 `{status, fileEntry}`. */
export function simpleUpload(ctx: ApiContext): FakeResponse {
  const file = ctx.req.form?.find((p) => p.name === 'file' && p.filename !== undefined);
  if (!file?.filename)
    return invalid('The file field is required.', { file: ['The file field is required.'] });
  const name = file.filename;
  const mime = file.contentType ?? 'application/octet-stream';
  const extension = extensionOf(name, mime);
  const bad = validateUpload(ctx, file.data.length, extension);
  if (bad) return bad;
  const parentId = placement(ctx);
  if (typeof parentId === 'object' && parentId !== null) return parentId;
  const fileName = ctx.state.newFileName();
  ctx.state.blobs.set(ctx.state.blobKey(fileName), Buffer.from(file.data));
  const entry = registerFile(ctx, { name, parentId, size: file.data.length, mime, extension, fileName });
  return json(201, { status: 'success', fileEntry: ctx.state.toJson(entry, true) });
}

function newKey(ctx: ApiContext): { key: string; fileName: string } {
  const fileName = ctx.state.newFileName();
  return { key: ctx.state.blobKey(fileName), fileName };
}

/** `POST /s3/simple/presign` (§5.2). */
export function simplePresign(ctx: ApiContext): FakeResponse {
  const p = ctx.req.params;
  const size = int(p, 'size') ?? 0;
  const bad = validateUpload(ctx, size, str(p, 'extension') ?? null);
  if (bad) return bad;
  const { key } = newKey(ctx);
  const mime = str(p, 'mime') ?? 'application/octet-stream';
  const url = ctx.signer.sign(ctx.origin, 'PUT', key, { ct: mime }, 60 * 60 * 1000);
  return json(200, { url, key, acl: 'private', status: 'success' });
}

/** `POST /s3/multipart/create` (§5.3 step 1). */
export function multipartCreate(ctx: ApiContext): FakeResponse {
  const p = ctx.req.params;
  const size = int(p, 'size');
  if (size === null || Number.isNaN(size)) return invalid('The size field is required.');
  const bad = validateUpload(ctx, size, str(p, 'extension') ?? null);
  if (bad) return bad;
  const { key } = newKey(ctx);
  const uploadId = randomBytes(24).toString('base64url');
  ctx.state.multipart.set(uploadId, { key, uploadId, createdAt: Date.now(), parts: new Map() });
  return json(200, { key, uploadId, acl: 'private', status: 'success' });
}

function session(ctx: ApiContext) {
  const key = str(ctx.req.params, 'key');
  const uploadId = str(ctx.req.params, 'uploadId');
  const s = uploadId === undefined ? undefined : ctx.state.multipart.get(uploadId);
  return s && s.key === key ? s : undefined;
}

/** `POST /s3/multipart/batch-sign-part-urls` (§5.3 step 2): 30-minute URLs. */
export function multipartSign(ctx: ApiContext): FakeResponse {
  const s = session(ctx);
  if (!s) return notFound('NoSuchUpload');
  const raw = ctx.req.params.partNumbers;
  const numbers = Array.isArray(raw) ? raw.map(Number) : [];
  if (numbers.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_PARTS)) {
    return invalid('The part numbers field is invalid.');
  }
  const ttl = ctx.state.options.presignTtlMs;
  const urls = numbers.map((n) => ({
    partNumber: n,
    url: ctx.signer.sign(ctx.origin, 'PUT', s.key, { partNumber: String(n), uploadId: s.uploadId }, ttl),
  }));
  return json(200, { urls, status: 'success' });
}

/** `POST /s3/multipart/get-uploaded-parts`: 404 when the upload is gone. */
export function multipartParts(ctx: ApiContext): FakeResponse {
  const s = session(ctx);
  if (!s) return notFound('NoSuchUpload');
  const parts = [...s.parts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([n, part]) => ({ PartNumber: n, ETag: part.etag, Size: part.data.length }));
  return json(200, { parts, status: 'success' });
}

/** `POST /s3/multipart/abort`. */
export function multipartAbort(ctx: ApiContext): FakeResponse {
  const s = session(ctx);
  if (!s) return notFound('NoSuchUpload');
  ctx.state.multipart.delete(s.uploadId);
  return json(200, { status: 'success' });
}

/** `POST /s3/multipart/complete`: R2's part rules (equal non-final parts, >= 5 MiB, <= 10,000). */
export function multipartComplete(ctx: ApiContext): FakeResponse {
  const s = session(ctx);
  if (!s) return notFound('NoSuchUpload');
  const raw = ctx.req.params.parts;
  if (!Array.isArray(raw) || raw.length === 0) return invalid('The parts field is required.');
  if (raw.length > MAX_PARTS) return invalid('InvalidPart: too many parts');
  const chosen: Buffer[] = [];
  let prev = 0;
  for (const item of raw as Array<Record<string, unknown>>) {
    const n = Number(item.PartNumber);
    const etag = (typeof item.ETag === 'string' ? item.ETag : '').replace(/^"|"$/g, '');
    const part = s.parts.get(n);
    if (!Number.isInteger(n) || n <= prev)
      return invalid('InvalidPartOrder: parts must be in ascending order');
    prev = n;
    if (!part || part.etag.replace(/^"|"$/g, '') !== etag) return invalid(`InvalidPart: part ${n} not found`);
    chosen.push(part.data);
  }
  const first = chosen[0]!.length;
  for (let i = 0; i < chosen.length - 1; i++) {
    const len = chosen[i]!.length;
    if (len < ctx.state.options.minPartSize)
      return invalid('EntityTooSmall: non-final part below the minimum size');
    if (len !== first) return invalid('InvalidPart: All non-trailing parts must have the same length');
  }
  if (chosen.length > 1 && chosen[chosen.length - 1]!.length > first) {
    return invalid('InvalidPart: All non-trailing parts must have the same length');
  }
  ctx.state.blobs.set(s.key, Buffer.concat(chosen));
  ctx.state.multipart.delete(s.uploadId);
  return json(200, {
    location: `${ctx.origin}/__r2/drimestorage/${encodeURIComponent(s.key)}`,
    status: 'success',
  });
}

/** `POST /s3/entries` (§5.4): registers an uploaded storage object as a file entry. */
export function s3Entries(ctx: ApiContext): FakeResponse {
  const p = ctx.req.params;
  const fileName = str(p, 'filename');
  const clientName = str(p, 'clientName');
  const ext = str(p, 'clientExtension');
  const size = int(p, 'size');
  if (!fileName || !ctx.state.blobs.has(ctx.state.blobKey(fileName))) {
    return invalid('The selected filename is invalid.', { filename: ['The selected filename is invalid.'] });
  }
  if (!clientName) return invalid('The client name field is required.');
  if (!ext)
    return invalid('The client extension field is required.', {
      clientExtension: ['The client extension field is required.'],
    });
  if (size === null || Number.isNaN(size)) return invalid('The size field is required.');
  if (ctx.state.options.extensionMaxLength > 0 && ext.length > ctx.state.options.extensionMaxLength) {
    return json(500, { message: 'There was an issue. Please try again later.' });
  }
  const parentId = placement(ctx);
  if (typeof parentId === 'object' && parentId !== null) return parentId;
  const mime = str(p, 'clientMime') ?? 'application/octet-stream';
  const entry = registerFile(ctx, { name: clientName, parentId, size, mime, extension: ext, fileName });
  return json(200, { status: 'success', fileEntry: ctx.state.toJson(entry, true) });
}

/** Stores a part or a presigned single PUT (called by the storage route). */
export function storePut(
  ctx: Pick<ApiContext, 'state'>,
  key: string,
  query: URLSearchParams,
  data: Buffer,
): { etag: string } | { error: 'NoSuchUpload' | 'InvalidPart' } {
  const etag = `"${md5Hex(data)}"`;
  const uploadId = query.get('uploadId');
  if (uploadId !== null) {
    const s = ctx.state.multipart.get(uploadId);
    if (!s || s.key !== key) return { error: 'NoSuchUpload' };
    const n = Number(query.get('partNumber'));
    if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) return { error: 'InvalidPart' };
    s.parts.set(n, { etag, data });
    return { etag };
  }
  ctx.state.blobs.set(key, data);
  return { etag };
}
