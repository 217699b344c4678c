/**
 * The commit step of PutObject and CopyObject on Drime, run under the key's lock: resolve or create
 * the folders, read the current entries (for the precondition and to retire them afterwards), pick
 * the stored name (names.ts), upload or copy server-side, record the index, then delete the
 * previous entries. The new entry is the newest, so readers switch to it at once.
 */
import { Readable } from 'node:stream';
import type { ChecksumAlgorithm, Checksums } from '../../s3/body.js';
import { createChecksum } from '../../s3/checksums.js';
import { S3Error } from '../../s3/errors.js';
import type { CopyOptions, ObjectHeaders, ObjectInfo, WritePrecondition } from '../backend.js';
import type { DrimeClient } from './client.js';
import { openDownload } from './download.js';
import { DrimeError } from './errors.js';
import type { FolderIds, FolderTree } from './folders.js';
import {
  checkStoredLength,
  decodeName,
  drimeMime,
  safeExtension,
  storedNameFor,
  type KeyPath,
} from './names.js';
import type { DrimeIndex, StoredObject } from './object-index.js';
import { objectInfo, recordValid, uploadFile, type UploadPolicy } from './objects.js';
import { spool } from './spool.js';
import type { TargetFolder, UploadSource, UploadTarget } from './transfer.js';
import { isFolder, newestFirst, type DrimeEntry } from './types.js';

export interface WriteContext {
  client: DrimeClient;
  tree: FolderTree;
  index: DrimeIndex;
  ws: number;
  spoolDir: string;
  /** Delete forever instead of moving to the trash. */
  permanent: boolean;
  policy: UploadPolicy;
  /** Deletes superseded entries (after a grace period). */
  retire(entries: DrimeEntry[]): Promise<void>;
}

export interface WriteTarget {
  key: string;
  kp: KeyPath;
  /** The bucket's folder ids. */
  base: FolderIds;
}

export interface WriteMeta {
  etag: string;
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  checksums: Checksums;
  /** Multipart objects (CompleteMultipartUpload): part sizes and the checksum type. */
  parts?: number[];
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
}

interface Slot {
  parentId: number | null;
  /** Every entry standing for the key, newest first. */
  same: DrimeEntry[];
  /** Ids of all files in the folder before the write (to recognise ours after ambiguous failures). */
  knownIds: Set<number>;
  /** The folder, listed and cleaned up without holes (children-cache.ts). */
  folder: TargetFolder;
  upload: UploadTarget;
}

/** Resolves the folder, the current entries and the stored name; runs the precondition. */
async function prepare(
  w: WriteContext,
  t: WriteTarget,
  contentType: string | undefined,
  precondition: WritePrecondition | undefined,
  signal?: AbortSignal,
): Promise<Slot> {
  const parentId = await w.tree.ensure(t.base, t.kp.dirs, t.key, signal);
  const files = (await w.tree.children([parentId], signal)).filter((e) => !isFolder(e));
  const same = files.filter((e) => decodeName(e.name) === t.kp.name).sort(newestFirst);
  const current = same[0];
  precondition?.(current ? objectInfo(t.key, current, w.index.get(w.ws, current.id)) : undefined);
  const stored = storedNameFor(
    t.kp.name,
    files.map((f) => f.name),
  );
  checkStoredLength(stored, t.key);
  const folder = w.tree.listings.folder(parentId);
  return {
    parentId,
    same,
    knownIds: new Set(files.map((f) => f.id)),
    folder,
    upload: {
      name: stored,
      parentId,
      mime: drimeMime(contentType),
      extension: safeExtension(stored).ext,
      folder,
    },
  };
}

/** The target folder was trashed or deleted behind a cached id. */
function staleParent(err: unknown): boolean {
  return (
    err instanceof DrimeError &&
    ((err.kind === 'gone' && /trash/.test(err.message)) ||
      (err.status === 422 && /parent/i.test(err.message)))
  );
}

/** Checks the stored name came back unchanged, records the object and retires older entries. */
async function finish(
  w: WriteContext,
  t: WriteTarget,
  slot: Slot,
  entry: DrimeEntry,
  meta: WriteMeta,
): Promise<ObjectInfo> {
  if (entry.name !== slot.upload.name) {
    await slot.folder.discard([entry]);
    throw new S3Error('InternalError', `Drime stored the name "${slot.upload.name}" as "${entry.name}"`);
  }
  const rec: StoredObject = {
    entryId: entry.id,
    fileName: entry.fileName,
    size: entry.fileSize,
    etag: meta.etag,
    headers: meta.headers,
    metadata: meta.metadata,
    checksums: meta.checksums,
    storedAt: Date.now(),
  };
  if (Object.keys(meta.checksums).length > 0) rec.checksumType = meta.checksumType ?? 'FULL_OBJECT';
  if (meta.parts) rec.parts = meta.parts;
  w.index.put(w.ws, rec);
  w.tree.listings.added(entry);
  await w.retire(slot.same.filter((e) => e.id !== entry.id));
  return objectInfo(t.key, entry, rec);
}

/** PutObject's commit: uploads the spooled bytes. */
export async function commitPut(
  w: WriteContext,
  t: WriteTarget,
  src: UploadSource,
  meta: WriteMeta,
  precondition: WritePrecondition | undefined,
  signal?: AbortSignal,
): Promise<ObjectInfo> {
  for (let attempt = 0; ; attempt++) {
    const slot = await prepare(w, t, meta.headers.contentType, precondition, signal);
    let entry: DrimeEntry;
    try {
      entry = await uploadFile(w.client, w.policy, src, slot.upload, slot.knownIds, signal);
    } catch (err) {
      if (attempt === 0 && staleParent(err)) {
        w.tree.invalidate(t.base);
        continue;
      }
      throw err;
    }
    return finish(w, t, slot, entry, meta);
  }
}

/**
 * Server-side copy: `duplicate` into the destination folder, then rename to the stored name.
 * Resolves undefined when Drime cannot do it (the caller then streams the bytes).
 */
async function serverCopy(w: WriteContext, from: DrimeEntry, slot: Slot): Promise<DrimeEntry | undefined> {
  let dup: DrimeEntry | undefined;
  try {
    dup = (await w.client.duplicateEntries([from.id], slot.parentId))[0];
  } catch (err) {
    if (!(err instanceof DrimeError) || !err.retryable) return undefined;
    // Ambiguous: the copy may exist. Same-folder copies are named "<name> - Copy" (§7.4).
    dup = (await slot.folder.list())
      .filter(
        (e) =>
          !slot.knownIds.has(e.id) &&
          e.id !== from.id &&
          !isFolder(e) &&
          e.fileSize === from.fileSize &&
          (e.name === from.name || e.name === `${from.name} - Copy`),
      )
      .sort(newestFirst)[0];
  }
  if (!dup) return undefined;
  const discard = async (): Promise<undefined> => {
    await slot.folder.discard([dup]);
    return undefined;
  };
  if (isFolder(dup) || dup.fileSize !== from.fileSize) return discard();
  if (dup.name === slot.upload.name) return dup;
  try {
    const renamed = await w.client.renameEntry(dup.id, slot.upload.name);
    return renamed.name === slot.upload.name ? renamed : discard();
  } catch {
    // E.g. BeDrive's min:3 on renames: fall back to streaming.
    return discard();
  }
}

/**
 * The `algorithm` checksum of a file entry's bytes, streamed from Drime: a server-side copy reads
 * none, so CopyObject's `x-amz-checksum-algorithm` costs one download of the source. Entries are
 * immutable (a write makes a new one), so these are the bytes the copy duplicates.
 */
export async function checksumOfEntry(
  client: DrimeClient,
  from: DrimeEntry,
  algorithm: ChecksumAlgorithm,
  signal?: AbortSignal,
): Promise<string> {
  const checksum = createChecksum(algorithm);
  if (from.fileSize > 0) {
    const stream = await openDownload(
      client,
      { hash: from.hash, size: from.fileSize, name: from.name, fileName: from.fileName },
      undefined,
      signal,
    );
    for await (const chunk of stream as AsyncIterable<Buffer>) checksum.update(chunk);
  }
  return checksum.digest();
}

/**
 * CopyObject's commit: server-side when possible, else download + upload through a spool.
 * `checksums`, when given, replace the source's (x-amz-checksum-algorithm, computed by the caller).
 */
export async function commitCopy(
  w: WriteContext,
  t: WriteTarget,
  from: DrimeEntry,
  srcInfo: ObjectInfo,
  srcRec: StoredObject | undefined,
  opts: CopyOptions,
  checksums?: Checksums,
): Promise<ObjectInfo> {
  const headers = opts.replace?.headers ?? srcInfo.headers;
  const metadata = opts.replace?.metadata ?? srcInfo.metadata;
  const slot = await prepare(w, t, headers.contentType, opts.precondition, opts.signal);
  let entry = await serverCopy(w, from, slot);
  let etag = recordValid(from, srcRec) ? srcRec.etag : undefined;
  if (!entry) {
    const stream =
      from.fileSize === 0
        ? Readable.from([])
        : await openDownload(
            w.client,
            { hash: from.hash, size: from.fileSize, name: from.name, fileName: from.fileName },
            undefined,
            opts.signal,
          );
    const spooled = await spool(w.spoolDir, stream, opts.signal);
    try {
      entry = await uploadFile(w.client, w.policy, spooled, slot.upload, slot.knownIds, opts.signal);
      etag = spooled.md5;
    } finally {
      await spooled.remove();
    }
  }
  return finish(w, t, slot, entry, {
    etag: etag ?? entry.fileName,
    headers,
    metadata,
    // A composite (per-part) checksum does not describe a copy, which is a single-part object.
    checksums: checksums ?? (srcInfo.checksumType === 'COMPOSITE' ? {} : srcInfo.checksums),
  });
}
