/**
 * Version ids and the ObjectInfo of a version record (local backend).
 */
import { randomBytes } from 'node:crypto';
import { S3Error } from '../../s3/errors.js';
import { lockFromStored, rowToInfo } from '../../index/object-index.js';
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
