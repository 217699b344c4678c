/**
 * Multipart uploads of the local backend: parts staged under `<data>/.s3local/uploads/<uploadId>/`,
 * state in the store's index (tables `multipart_uploads` / `multipart_parts`, and
 * `multipart_completions` for repeated Completes), Complete committed through the backend's own
 * `putObject` (temp file + fsync + rename under the key's lock, so the write precondition of
 * If-None-Match / If-Match is race-free). See docs/on-disk-format.md.
 */
import type Database from 'better-sqlite3';
import { isS3Error } from '../../s3/errors.js';
import type { ObjectInfo, StorageBackend } from '../backend.js';
import { StagedMultipart } from '../multipart-staging.js';
import { keyToPath } from './key-path.js';

export interface LocalMultipartOptions {
  /** The store's index (migrated). */
  db: Database.Database;
  /** `<data>/.s3local/uploads`. */
  dir: string;
  /** `--multipart-expiry` in ms (default 7 days; 0: never reap). */
  expiryMs?: number;
  /** How long a completed upload is remembered for a repeated Complete (default 24 hours; 0: not). */
  completedUploadTtlMs?: number;
  /**
   * Whether the bucket exists in the index: the uploads of a bucket that does not are aborted at
   * open (a DeleteBucket cut by a crash, a bucket directory removed behind the server's back).
   */
  bucketExists: (bucket: string) => boolean;
}

/** Opens the multipart store of a local backend. */
export function openLocalMultipart(
  backend: Pick<StorageBackend, 'headBucket' | 'headObject' | 'putObject'>,
  opts: LocalMultipartOptions,
): Promise<StagedMultipart> {
  return StagedMultipart.open({
    db: opts.db,
    dir: opts.dir,
    ...(opts.expiryMs !== undefined ? { expiryMs: opts.expiryMs } : {}),
    ...(opts.completedUploadTtlMs !== undefined ? { completedUploadTtlMs: opts.completedUploadTtlMs } : {}),
    hooks: {
      requireBucket: async (bucket) => {
        await backend.headBucket(bucket);
      },
      // Refuses keys the file system mapping cannot store before any part is staged.
      validateKey: (key) => void keyToPath(key),
      currentObject: (bucket, key) => backend.headObject(bucket, key).catch(absentAsUndefined),
      commit: (bucket, key, body, put) => backend.putObject(bucket, key, body, put),
      bucketExists: opts.bucketExists,
    },
  });
}

function absentAsUndefined(err: unknown): ObjectInfo | undefined {
  if (isS3Error(err) && err.code === 'NoSuchKey') return undefined;
  throw err;
}
