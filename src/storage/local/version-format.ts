/**
 * Version ids, and version records converted (local backend): to their ObjectInfo, to and from
 * the objects row of a current version, to the headers of a delete marker.
 */
import { randomBytes } from 'node:crypto';
import { S3Error } from '../../s3/errors.js';
import { currentVersionOf, lockFromStored, rowToInfo, type ObjectRow } from '../../index/object-index.js';
import type { ObjectInfo } from '../backend.js';
import type { VersionRecord } from './version-records.js';

/** Version ids: 11 base-36 digits of the sequence number, then 21 random URL-safe characters. */
const VERSION_ID = /^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/;

/** A new version id for sequence number `seq` (sortable by age, unguessable, URL-safe). */
export function newVersionId(seq: number): string {
  return seq.toString(36).padStart(11, '0') + randomBytes(16).toString('base64url').slice(0, 21);
}

/** Throws InvalidArgument for a version id s3local could never have issued. */
export function assertVersionIdFormat(versionId: string): void {
  if (versionId !== 'null' && !VERSION_ID.test(versionId)) {
    throw new S3Error('InvalidArgument', 'Invalid version id specified', {
      ArgumentName: 'versionId',
      ArgumentValue: versionId,
    });
  }
}

/** The ObjectInfo of a version record. */
export function recordToInfo(rec: VersionRecord): ObjectInfo {
  const info = rowToInfo({ ...rec, bucket: '', path: '', mtimeNs: 0, version: null });
  info.versionId = rec.versionId;
  const lock = lockFromStored(rec.lock);
  if (lock !== undefined) info.lock = lock;
  return info;
}

/** The version record of the current version a row describes. */
export function recordOfRow(row: ObjectRow, versionId: string, seq: number): VersionRecord {
  const rec: VersionRecord = {
    key: row.key,
    versionId,
    seq,
    deleteMarker: false,
    lastModified: row.lastModified,
    size: row.size,
    mtimeNs: String(row.mtimeNs),
    etag: row.etag,
    headers: row.headers,
    metadata: row.metadata,
    checksums: row.checksums,
    checksumType: row.checksumType,
    parts: row.parts,
  };
  const lock = currentVersionOf(row)?.lock;
  if (lock !== undefined) rec.lock = lock;
  if (row.tags) rec.tags = row.tags;
  return rec;
}

/** The headers of a response about a delete marker (x-amz-delete-marker, its version id, Last-Modified). */
export function deleteMarkerHeaders(rec: VersionRecord): Record<string, string> {
  return {
    'x-amz-delete-marker': 'true',
    'x-amz-version-id': rec.versionId,
    'last-modified': new Date(rec.lastModified).toUTCString(),
  };
}

/**
 * The objects row of the current version `rec`, stored at `path` (relative to the bucket
 * directory), with its version JSON (id, seq, object lock).
 */
export function rowOfRecord(bucket: string, key: string, path: string, rec: VersionRecord): ObjectRow {
  const version = { id: rec.versionId, seq: rec.seq, ...(rec.lock ? { lock: rec.lock } : {}) };
  return {
    bucket,
    key,
    path,
    size: rec.size,
    etag: rec.etag,
    mtimeNs: BigInt(rec.mtimeNs),
    lastModified: rec.lastModified,
    headers: rec.headers,
    metadata: rec.metadata,
    checksums: rec.checksums,
    checksumType: rec.checksumType,
    parts: rec.parts,
    version: JSON.stringify(version),
    tags: rec.tags ?? null,
  };
}
