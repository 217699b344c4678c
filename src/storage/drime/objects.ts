/**
 * Building ObjectInfo from Drime entries and index records, and choosing the upload path.
 */
import type { ObjectInfo } from '../backend.js';
import type { DrimeClient } from './client.js';
import { uploadMultipart } from './multipart.js';
import { safeExtension } from './names.js';
import type { StoredObject } from './object-index.js';
import {
  formSafeName,
  uploadForm,
  uploadPresigned,
  type UploadSource,
  type UploadTarget,
} from './transfer.js';
import type { DrimeEntry } from './types.js';

/** Whether the index record still describes the entry (same storage object, same size). */
export function recordValid(e: DrimeEntry, rec: StoredObject | undefined): rec is StoredObject {
  return rec !== undefined && rec.fileName === e.fileName && rec.size === e.fileSize;
}

/**
 * The ObjectInfo of a file entry. With a valid record: the MD5 ETag, headers, metadata and
 * checksums s3local stored. Without (a file written or replaced outside s3local): the entry's
 * `file_name` as ETag — never a stale MD5 — and its MIME type.
 */
export function objectInfo(key: string, e: DrimeEntry, rec: StoredObject | undefined): ObjectInfo {
  const valid = recordValid(e, rec);
  const info: ObjectInfo = {
    key,
    size: e.fileSize,
    etag: valid ? rec.etag : e.fileName || String(e.id),
    lastModified: e.updatedAt,
    headers: valid ? rec.headers : e.mime ? { contentType: e.mime } : {},
    metadata: valid ? rec.metadata : {},
    checksums: valid ? rec.checksums : {},
    storageClass: 'STANDARD',
  };
  if (valid && Object.keys(rec.checksums).length > 0) info.checksumType = rec.checksumType ?? 'FULL_OBJECT';
  if (valid && rec.parts) info.parts = { sizes: rec.parts };
  return info;
}

export interface UploadPolicy {
  /** Objects up to this size go in one request. */
  simpleMaxBytes: number;
  /** Preferred Drime multipart part size. */
  partSizeBytes: number;
}

/**
 * Uploads a spooled file: `POST /uploads` for small objects whose name Drime can take from a
 * form filename with a safe extension; the presigned single PUT (where s3local chooses the
 * extension) for other small ones; R2 multipart with fixed-size parts above the threshold.
 */
export function uploadFile(
  client: DrimeClient,
  policy: UploadPolicy,
  src: UploadSource,
  target: UploadTarget,
  knownIds: ReadonlySet<number>,
  signal?: AbortSignal,
): Promise<DrimeEntry> {
  if (src.size > policy.simpleMaxBytes)
    return uploadMultipart(client, src, target, policy.partSizeBytes, signal);
  if (formSafeName(target.name) && safeExtension(target.name).fromName) {
    return uploadForm(client, src, target, knownIds, signal);
  }
  return uploadPresigned(client, src, target, signal);
}
