/**
 * Remembered completions: a CompleteMultipartUpload repeated after the upload completed answers
 * 200 with the same result, as S3 does.
 *
 * S3 answers a repeat of a successful Complete (same upload id, key and parts) with 200 and the
 * same CompleteMultipartUploadResult, not NoSuchUpload: adobe/S3Mock#2586 checked it against AWS,
 * minio/minio#13318 reports it, ceph/s3-tests `test_multipart_upload_small` relies on it. It
 * matters to clients that retry a Complete whose answer was lost — the AWS SDKs and botocore retry
 * on a connection reset or a 5xx — whose retry would otherwise fail although the object exists.
 *
 * A completion is remembered (table `multipart_completions`, schema version 6) in the transaction
 * that deletes the upload's rows, for {@link DEFAULT_COMPLETION_TTL_MS} by default. A repeat
 * matches when it names the same bucket and key and a parts list that would have validated
 * against the parts that were completed, choosing exactly them: the same part numbers and ETags,
 * every checksum of the upload's algorithm it gives equal to the part's (and, for a COMPOSITE
 * upload, one per part, as Complete requires), none of another algorithm, and any
 * `x-amz-checksum-type`, `x-amz-checksum-<alg>` (ignored for an upload without an algorithm, as
 * Complete ignores it) or `x-amz-mp-object-size` header agreeing with the object. Anything else
 * still answers NoSuchUpload.
 */
import type { ChecksumAlgorithm, Checksums } from '../s3/body.js';
import type { ObjectHeaders, ObjectInfo, PartLayout } from './backend.js';
import {
  objectChecksumMatches,
  unquoteETag,
  type ChecksumType,
  type CompleteRequest,
  type CompletionPlan,
  type UploadInfo,
} from './multipart.js';

/**
 * How long a completion is remembered by default: 24 hours. A lost answer is retried within
 * seconds or minutes; a day covers a client that persists its upload ids and retries after its own
 * restart, and keeps the table small (it is reaped with the expired uploads).
 */
export const DEFAULT_COMPLETION_TTL_MS = 24 * 3600 * 1000;

/** One part of a completed upload, as the Complete chose it. */
export interface CompletedPart {
  partNumber: number;
  /** Unquoted hex MD5 of the part. */
  etag: string;
  size: number;
  /** The part's checksum of the upload's algorithm, when the upload has one. */
  checksum?: string;
}

/** What a completed upload answered, and what its repeats are checked against. */
export interface CompletionResult {
  /** The object as Complete committed it. */
  etag: string;
  size: number;
  lastModified: Date;
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  checksums: Checksums;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  versionId?: string;
  /** The upload's `x-amz-checksum-algorithm` and resolved type (what its part checksums are). */
  checksumAlgorithm?: ChecksumAlgorithm;
  uploadChecksumType?: ChecksumType;
}

/** A remembered completion (a row of `multipart_completions`). */
export interface CompletionRecord {
  uploadId: string;
  bucket: string;
  key: string;
  completedAt: Date;
  /** The completed parts, in order. */
  parts: CompletedPart[];
  result: CompletionResult;
}

/** The record of a Complete of `upload` that carried out `plan` and committed `info`. */
export function completionRecord(
  upload: UploadInfo,
  plan: CompletionPlan,
  info: ObjectInfo,
  completedAt: Date,
): CompletionRecord {
  const alg = upload.checksumAlgorithm;
  const parts = plan.parts.map((p): CompletedPart => {
    const part: CompletedPart = { partNumber: p.partNumber, etag: p.etag, size: p.size };
    const checksum = alg === undefined ? undefined : p.checksums[alg];
    if (checksum !== undefined) part.checksum = checksum;
    return part;
  });
  const result: CompletionResult = {
    etag: info.etag,
    size: info.size,
    lastModified: info.lastModified,
    headers: info.headers,
    metadata: info.metadata,
    checksums: info.checksums,
  };
  if (info.checksumType !== undefined) result.checksumType = info.checksumType;
  if (info.versionId !== undefined) result.versionId = info.versionId;
  if (alg !== undefined) result.checksumAlgorithm = alg;
  if (upload.checksumType !== undefined) result.uploadChecksumType = upload.checksumType;
  return { uploadId: upload.uploadId, bucket: upload.bucket, key: upload.key, completedAt, parts, result };
}

/**
 * True when `request` repeats the Complete that `record` remembers (see the file comment); the
 * bucket and key are the caller's to compare.
 */
export function matchesCompletion(record: CompletionRecord, request: CompleteRequest): boolean {
  const { parts, result } = record;
  const alg = result.checksumAlgorithm;
  const mode = result.uploadChecksumType;
  if (request.parts.length !== parts.length) return false;
  if (request.checksumType !== undefined && request.checksumType !== mode) return false;
  for (let i = 0; i < parts.length; i++) {
    const asked = request.parts[i]!;
    const part = parts[i]!;
    if (asked.partNumber !== part.partNumber || unquoteETag(asked.etag) !== part.etag) return false;
    if (alg === undefined) continue;
    // A checksum of another algorithm fails a Complete (BadDigest): it repeats none.
    if (Object.keys(asked.checksums).some((a) => a !== alg)) return false;
    const given = asked.checksums[alg];
    if (given === undefined ? mode === 'COMPOSITE' : given.trim() !== part.checksum) return false;
  }
  if (request.objectSize !== undefined && request.objectSize !== result.size) return false;
  const claimed = request.objectChecksum;
  // An upload without a checksum algorithm ignores the header (planCompletion).
  if (claimed !== undefined && alg !== undefined) {
    const ours = result.checksums[alg];
    if (ours === undefined || claimed.algorithm !== alg) return false;
    if (!objectChecksumMatches(mode, ours, claimed.value, parts.length)) return false;
  }
  return true;
}

/**
 * The object a remembered Complete committed, as `completeUpload` resolves with it (the object as
 * it was then: it may have been overwritten or deleted since). Lock and tags are not remembered.
 */
export function completedObjectInfo(record: CompletionRecord): ObjectInfo {
  const { result } = record;
  const layout: PartLayout = { sizes: record.parts.map((p) => p.size) };
  const alg = result.checksumAlgorithm;
  if (alg !== undefined && result.uploadChecksumType === 'COMPOSITE') {
    layout.checksums = record.parts.map((p): Checksums =>
      p.checksum === undefined ? {} : { [alg]: p.checksum },
    );
  }
  const info: ObjectInfo = {
    key: record.key,
    size: result.size,
    etag: result.etag,
    lastModified: result.lastModified,
    headers: result.headers,
    metadata: result.metadata,
    checksums: result.checksums,
    storageClass: 'STANDARD',
    parts: layout,
  };
  if (result.checksumType !== undefined) info.checksumType = result.checksumType;
  if (result.versionId !== undefined) info.versionId = result.versionId;
  return info;
}
