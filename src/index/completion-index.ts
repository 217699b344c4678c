/**
 * Prepared statements over `multipart_completions` (schema version 6 in migrations.ts): the
 * completions remembered so that a repeated CompleteMultipartUpload answers 200 again
 * (storage/multipart-completions.ts).
 */
import type Database from 'better-sqlite3';
import type { CompletedPart, CompletionRecord, CompletionResult } from '../storage/multipart-completions.js';
import type { UploadIndex } from './upload-index.js';

interface CompletionRow {
  uploadId: string;
  bucket: string;
  key: string;
  completedAt: number;
  parts: string;
  result: string;
}

/** `parts` JSON: one `[number, etag, size, checksum | null]` per part, in order (compact: 10,000 parts). */
type PartTuple = [number, string, number, string | null];

/** `result` JSON: CompletionResult with the date as ms since the epoch. */
type StoredResult = Omit<CompletionResult, 'lastModified'> & { lastModified: number };

function toRow(r: CompletionRecord): CompletionRow {
  const { lastModified, ...rest } = r.result;
  const result: StoredResult = { ...rest, lastModified: lastModified.getTime() };
  return {
    uploadId: r.uploadId,
    bucket: r.bucket,
    key: r.key,
    completedAt: r.completedAt.getTime(),
    parts: JSON.stringify(r.parts.map((p): PartTuple => [p.partNumber, p.etag, p.size, p.checksum ?? null])),
    result: JSON.stringify(result),
  };
}

function toRecord(row: CompletionRow): CompletionRecord {
  const stored = JSON.parse(row.result) as StoredResult;
  const result: CompletionResult = { ...stored, lastModified: new Date(stored.lastModified) };
  const parts = (JSON.parse(row.parts) as PartTuple[]).map(([partNumber, etag, size, checksum]) => {
    const part: CompletedPart = { partNumber, etag, size };
    if (checksum !== null) part.checksum = checksum;
    return part;
  });
  return {
    uploadId: row.uploadId,
    bucket: row.bucket,
    key: row.key,
    completedAt: new Date(row.completedAt),
    parts,
    result,
  };
}

/** The remembered completions of one store. Construct once per open database (version 6 or later). */
export class CompletionIndex {
  readonly #insert: Database.Statement<[CompletionRow]>;
  readonly #get: Database.Statement<[string], CompletionRow>;
  readonly #deleteBefore: Database.Statement<[number]>;
  readonly #deleteBucket: Database.Statement<[string]>;
  readonly #complete: (uploads: UploadIndex, record: CompletionRecord) => boolean;

  constructor(readonly db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT OR REPLACE INTO multipart_completions (upload_id, bucket, key, completed_at, parts, result)
       VALUES (@uploadId, @bucket, @key, @completedAt, @parts, @result)`,
    );
    this.#get = db.prepare(
      `SELECT upload_id AS uploadId, bucket, key, completed_at AS completedAt, parts, result
       FROM multipart_completions WHERE upload_id = ?`,
    );
    this.#deleteBefore = db.prepare('DELETE FROM multipart_completions WHERE completed_at < ?');
    // No index on bucket: a scan of the completions of the last TTL (24 h), on DeleteBucket only.
    this.#deleteBucket = db.prepare('DELETE FROM multipart_completions WHERE bucket = ?');
    this.#complete = db.transaction((uploads: UploadIndex, record: CompletionRecord) => {
      const existed = uploads.deleteUpload(record.uploadId);
      this.#insert.run(toRow(record));
      return existed;
    });
  }

  /**
   * Deletes the upload's rows and remembers its completion, in one transaction: at every instant
   * the upload id is either open or completed, never neither. True when the upload existed.
   */
  completeUpload(uploads: UploadIndex, record: CompletionRecord): boolean {
    return this.#complete(uploads, record);
  }

  get(uploadId: string): CompletionRecord | undefined {
    const row = this.#get.get(uploadId);
    return row && toRecord(row);
  }

  /** Forgets every completion in the bucket (DeleteBucket); returns how many. */
  deleteBucket(bucket: string): number {
    return this.#deleteBucket.run(bucket).changes;
  }

  /** Forgets the completions made before `cutoffMs`; resolves with how many. */
  deleteCompletedBefore(cutoffMs: number): number {
    return this.#deleteBefore.run(cutoffMs).changes;
  }
}
