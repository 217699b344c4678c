/**
 * Prepared statements over the multipart tables (`multipart_uploads`, `multipart_parts`, schema
 * version 3 in migrations.ts) and the ListMultipartUploads walk. Synchronous (better-sqlite3): a
 * check and the write it guards, in one call, cannot interleave with other code of this process.
 */
import { decodeTags, encodeTags, lockFromStored, lockToStored, type StoredLock } from './object-index.js';
import type Database from 'better-sqlite3';
import type { ChecksumAlgorithm, Checksums } from '../s3/body.js';
import type { ObjectHeaders } from '../storage/backend.js';
import { commonPrefixOf, compareUtf8, prefixSuccessor } from '../storage/listing.js';
import type { ListUploadsOptions, PartInfo, UploadInfo, UploadsPage } from '../storage/multipart.js';

/** A stored part and the name of its file in the upload's staging directory. */
export interface StagedPart extends PartInfo {
  file: string;
}

interface UploadRow {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  headers: string;
  metadata: string;
  checksumAlgorithm: string | null;
  checksumType: string | null;
  lock: string | null;
  tags: string | null;
}

interface PartRow {
  uploadId: string;
  partNumber: number;
  file: string;
  size: number;
  etag: string;
  checksums: string;
  lastModified: number;
}

const UPLOAD_COLUMNS = `upload_id AS uploadId, bucket, key, initiated, headers, metadata,
  checksum_algorithm AS checksumAlgorithm, checksum_type AS checksumType, lock, tags`;
const PART_COLUMNS = `upload_id AS uploadId, part_number AS partNumber, file, size, etag, checksums,
  last_modified AS lastModified`;

/** Above every upload id (they are ASCII letters, digits, `-` and `_`). */
const AFTER_ALL_IDS = '\u007f';

function toUpload(r: UploadRow): UploadInfo {
  const info: UploadInfo = {
    uploadId: r.uploadId,
    bucket: r.bucket,
    key: r.key,
    initiated: new Date(r.initiated),
    headers: JSON.parse(r.headers) as ObjectHeaders,
    metadata: JSON.parse(r.metadata) as Record<string, string>,
  };
  if (r.checksumAlgorithm !== null) info.checksumAlgorithm = r.checksumAlgorithm as ChecksumAlgorithm;
  if (r.checksumType === 'COMPOSITE' || r.checksumType === 'FULL_OBJECT') info.checksumType = r.checksumType;
  const lock = r.lock === null ? undefined : lockFromStored(JSON.parse(r.lock) as StoredLock);
  if (lock !== undefined) info.lock = lock;
  const tags = decodeTags(r.tags);
  if (tags !== undefined) info.tags = tags;
  return info;
}

function toPart(r: PartRow): StagedPart {
  return {
    partNumber: r.partNumber,
    file: r.file,
    size: r.size,
    etag: r.etag,
    checksums: JSON.parse(r.checksums) as Checksums,
    lastModified: new Date(r.lastModified),
  };
}

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** The multipart state of one store. Construct once per open database (migrated to version 3). */
export class UploadIndex {
  readonly #insertUpload: Stmt<[UploadRow]>;
  readonly #getUpload: Stmt<[string], UploadRow>;
  readonly #deleteUpload: Stmt<[string]>;
  readonly #deleteParts: Stmt<[string]>;
  readonly #getPart: Stmt<[string, number], PartRow>;
  readonly #putPart: Stmt<[PartRow]>;
  readonly #deletePart: Stmt<[string, number]>;
  readonly #parts: Stmt<[string], PartRow>;
  readonly #pageParts: Stmt<[string, number, number], PartRow>;
  readonly #anyUpload: Stmt<[string], number>;
  readonly #bucketIds: Stmt<[string], string>;
  readonly #deleteBucketParts: Stmt<[string]>;
  readonly #deleteBucketUploads: Stmt<[string]>;
  readonly #buckets: Stmt<[], string>;
  readonly #olderThan: Stmt<[number, number], string>;
  readonly #allIds: Stmt<[], string>;
  readonly #seek: Stmt<[string, string, string, number], UploadRow>;
  readonly #seekBelow: Stmt<[string, string, string, string, number], UploadRow>;

  constructor(readonly db: Database.Database) {
    this.#insertUpload = db.prepare(
      `INSERT INTO multipart_uploads (upload_id, bucket, key, initiated, headers, metadata,
         checksum_algorithm, checksum_type, lock, tags)
       VALUES (@uploadId, @bucket, @key, @initiated, @headers, @metadata, @checksumAlgorithm, @checksumType,
         @lock, @tags)`,
    );
    this.#getUpload = db.prepare(`SELECT ${UPLOAD_COLUMNS} FROM multipart_uploads WHERE upload_id = ?`);
    this.#deleteUpload = db.prepare('DELETE FROM multipart_uploads WHERE upload_id = ?');
    this.#deleteParts = db.prepare('DELETE FROM multipart_parts WHERE upload_id = ?');
    this.#getPart = db.prepare(
      `SELECT ${PART_COLUMNS} FROM multipart_parts WHERE upload_id = ? AND part_number = ?`,
    );
    this.#putPart = db.prepare(
      `INSERT OR REPLACE INTO multipart_parts (upload_id, part_number, file, size, etag, checksums,
         last_modified)
       VALUES (@uploadId, @partNumber, @file, @size, @etag, @checksums, @lastModified)`,
    );
    this.#deletePart = db.prepare('DELETE FROM multipart_parts WHERE upload_id = ? AND part_number = ?');
    this.#parts = db.prepare(
      `SELECT ${PART_COLUMNS} FROM multipart_parts WHERE upload_id = ? ORDER BY part_number`,
    );
    this.#pageParts = db.prepare(
      `SELECT ${PART_COLUMNS} FROM multipart_parts WHERE upload_id = ? AND part_number > ?
       ORDER BY part_number LIMIT ?`,
    );
    this.#anyUpload = db
      .prepare<[string], number>('SELECT 1 FROM multipart_uploads WHERE bucket = ? LIMIT 1')
      .pluck();
    this.#bucketIds = db
      .prepare<[string], string>(
        'SELECT upload_id FROM multipart_uploads WHERE bucket = ? ORDER BY upload_id',
      )
      .pluck();
    this.#deleteBucketParts = db.prepare(
      'DELETE FROM multipart_parts WHERE upload_id IN (SELECT upload_id FROM multipart_uploads WHERE bucket = ?)',
    );
    this.#deleteBucketUploads = db.prepare('DELETE FROM multipart_uploads WHERE bucket = ?');
    this.#buckets = db.prepare<[], string>('SELECT DISTINCT bucket FROM multipart_uploads').pluck();
    this.#olderThan = db
      .prepare<[number, number], string>(
        'SELECT upload_id FROM multipart_uploads WHERE initiated < ? ORDER BY initiated LIMIT ?',
      )
      .pluck();
    this.#allIds = db.prepare<[], string>('SELECT upload_id FROM multipart_uploads').pluck();
    // Row values use the (bucket, key, upload_id) index as one range scan.
    this.#seek = db.prepare(
      `SELECT ${UPLOAD_COLUMNS} FROM multipart_uploads
       WHERE bucket = ? AND (key, upload_id) > (?, ?) ORDER BY key, upload_id LIMIT ?`,
    );
    this.#seekBelow = db.prepare(
      `SELECT ${UPLOAD_COLUMNS} FROM multipart_uploads
       WHERE bucket = ? AND (key, upload_id) > (?, ?) AND key < ? ORDER BY key, upload_id LIMIT ?`,
    );
  }

  insertUpload(u: UploadInfo): void {
    this.#insertUpload.run({
      uploadId: u.uploadId,
      bucket: u.bucket,
      key: u.key,
      initiated: u.initiated.getTime(),
      headers: JSON.stringify(u.headers),
      metadata: JSON.stringify(u.metadata),
      checksumAlgorithm: u.checksumAlgorithm ?? null,
      checksumType: u.checksumType ?? null,
      lock: u.lock === undefined ? null : JSON.stringify(lockToStored(u.lock) ?? {}),
      tags: encodeTags(u.tags),
    });
  }

  getUpload(uploadId: string): UploadInfo | undefined {
    const r = this.#getUpload.get(uploadId);
    return r && toUpload(r);
  }

  /** Deletes the upload and its part rows; true when it existed. */
  deleteUpload(uploadId: string): boolean {
    return this.db.transaction(() => {
      this.#deleteParts.run(uploadId);
      return this.#deleteUpload.run(uploadId).changes === 1;
    })();
  }

  /**
   * Records a part (replacing the row of the same number) if its upload still exists. Returns
   * `{ stored: false }` when the upload is gone, else the replaced part, if any.
   */
  putPart(uploadId: string, part: StagedPart): { stored: boolean; previous?: StagedPart } {
    return this.db.transaction(() => {
      if (this.#getUpload.get(uploadId) === undefined) return { stored: false };
      const prev = this.#getPart.get(uploadId, part.partNumber);
      this.#putPart.run({
        uploadId,
        partNumber: part.partNumber,
        file: part.file,
        size: part.size,
        etag: part.etag,
        checksums: JSON.stringify(part.checksums),
        lastModified: part.lastModified.getTime(),
      });
      return prev ? { stored: true, previous: toPart(prev) } : { stored: true };
    })();
  }

  deletePart(uploadId: string, partNumber: number): void {
    this.#deletePart.run(uploadId, partNumber);
  }

  /** Every part of the upload, by number. */
  parts(uploadId: string): StagedPart[] {
    return this.#parts.all(uploadId).map(toPart);
  }

  /** Parts numbered above `after`, at most `limit`. */
  pageParts(uploadId: string, after: number, limit: number): StagedPart[] {
    return this.#pageParts.all(uploadId, after, limit).map(toPart);
  }

  hasUploads(bucket: string): boolean {
    return this.#anyUpload.get(bucket) !== undefined;
  }

  /** Ids of the bucket's uploads, in id order. */
  bucketUploadIds(bucket: string): string[] {
    return this.#bucketIds.all(bucket);
  }

  /**
   * Deletes every upload of the bucket and their part rows (in the caller's transaction when one
   * is open, else in one of its own); returns the ids deleted.
   */
  deleteBucketUploads(bucket: string): string[] {
    return this.db.transaction(() => {
      const ids = this.#bucketIds.all(bucket);
      if (ids.length === 0) return ids;
      this.#deleteBucketParts.run(bucket);
      this.#deleteBucketUploads.run(bucket);
      return ids;
    })();
  }

  /** The buckets that have open uploads. */
  bucketsWithUploads(): string[] {
    return this.#buckets.all();
  }

  /** Ids of uploads initiated before `cutoffMs`, oldest first, at most `limit`. */
  uploadsInitiatedBefore(cutoffMs: number, limit: number): string[] {
    return this.#olderThan.all(cutoffMs, limit);
  }

  allUploadIds(): string[] {
    return this.#allIds.all();
  }

  /**
   * One ListMultipartUploads page: uploads ordered by key (UTF-8 byte order) then upload id
   * (= initiation time), from just after (keyMarker, uploadIdMarker). With a delimiter, keys
   * roll up into common prefixes, each listed once; the scan then seeks past the prefix, so the
   * cost is proportional to the page. A keyMarker that is itself a common prefix skips it.
   */
  listUploads(bucket: string, opts: ListUploadsOptions): UploadsPage {
    const { prefix, delimiter, maxUploads } = opts;
    const page: UploadsPage = { uploads: [], commonPrefixes: [], isTruncated: false };
    if (maxUploads <= 0) return page;
    const before = prefix === '' ? undefined : prefixSuccessor(prefix);

    // Rows strictly after (key, id). Upload ids are never empty, so id '' includes every upload
    // of `key`, and AFTER_ALL_IDS excludes them all.
    let from: { key: string; id: string } | undefined = { key: prefix, id: '' };
    const marker = opts.keyMarker;
    if (marker !== '' && compareUtf8(marker, prefix) >= 0) {
      from = { key: marker, id: opts.uploadIdMarker !== '' ? opts.uploadIdMarker : AFTER_ALL_IDS };
      if (marker.startsWith(prefix) && commonPrefixOf(marker, prefix, delimiter) === marker) {
        const next = prefixSuccessor(marker);
        from = next === undefined ? undefined : { key: next, id: '' };
      }
    }

    let count = 0;
    let lastKey: string | undefined;
    let lastId: string | undefined;
    scanning: while (from !== undefined) {
      if (before !== undefined && compareUtf8(from.key, before) >= 0) break;
      const limit = maxUploads - count + 1;
      const rows =
        before === undefined
          ? this.#seek.all(bucket, from.key, from.id, limit)
          : this.#seekBelow.all(bucket, from.key, from.id, before, limit);
      let seekTo: { key: string; id: string } | undefined;
      for (const row of rows) {
        if (count === maxUploads) {
          page.isTruncated = true;
          break scanning;
        }
        const cp = commonPrefixOf(row.key, prefix, delimiter);
        if (cp === undefined) {
          page.uploads.push(toUpload(row));
          count++;
          lastKey = row.key;
          lastId = row.uploadId;
          continue;
        }
        page.commonPrefixes.push(cp);
        count++;
        lastKey = cp;
        lastId = undefined;
        const next = prefixSuccessor(cp);
        if (next === undefined) break scanning;
        seekTo = { key: next, id: '' };
        break;
      }
      // Without a prefix to skip, the batch held everything up to the page end (limit = rest + 1).
      from = seekTo;
    }
    if (page.isTruncated && lastKey !== undefined) {
      page.nextKeyMarker = lastKey;
      if (lastId !== undefined) page.nextUploadIdMarker = lastId;
    }
    return page;
  }
}
