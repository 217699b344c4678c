/**
 * S3 multipart uploads on the Drime backend. Drime (R2 underneath) needs equal-sized parts and
 * has no server-side concatenation, so S3 parts are staged on local disk (`<uploadsDir>/parts/`,
 * state in `<uploadsDir>/index.sqlite`, surviving restarts) and Complete streams the assembled
 * object into the backend's own `putObject` — spooled, then uploaded exactly like a PUT (its
 * multipart ETag, part layout and checksums recorded in the Drime index).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openIndexDatabase } from '../../index/index-db.js';
import { isS3Error } from '../../s3/errors.js';
import type { ObjectInfo, StorageBackend } from '../backend.js';
import { StagedMultipart } from '../multipart-staging.js';
import { parseKey } from './names.js';

export interface DrimeMultipartOptions {
  /** Private directory for staged parts and their index (created mode 0700). */
  dir: string;
  /** Abandoned uploads are removed after this many ms (default 7 days; 0: never). */
  expiryMs?: number;
  /** How long a completed upload is remembered for a repeated Complete (default 24 hours; 0: not). */
  completedUploadTtlMs?: number;
  /** Throws NoSuchBucket when the bucket does not exist (cheap: cached folder ids). */
  requireBucket: (bucket: string) => Promise<void>;
}

/** The staged multipart store and the database it owns (close both). */
export interface DrimeMultipart {
  store: StagedMultipart;
  db: Database.Database;
}

/** Opens the Drime backend's multipart store. */
export async function openDrimeMultipart(
  backend: Pick<StorageBackend, 'headObject' | 'putObject'>,
  opts: DrimeMultipartOptions,
): Promise<DrimeMultipart> {
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  // The same schema as a local store's index; only the multipart tables are used here.
  const db = openIndexDatabase(join(opts.dir, 'index.sqlite'));
  try {
    const store = await StagedMultipart.open({
      db,
      dir: join(opts.dir, 'parts'),
      ...(opts.expiryMs !== undefined ? { expiryMs: opts.expiryMs } : {}),
      ...(opts.completedUploadTtlMs !== undefined ? { completedUploadTtlMs: opts.completedUploadTtlMs } : {}),
      hooks: {
        requireBucket: opts.requireBucket,
        validateKey: (key) => void parseKey(key),
        currentObject: (bucket, key) => backend.headObject(bucket, key).catch(absentAsUndefined),
        commit: (bucket, key, body, put) => backend.putObject(bucket, key, body, put),
      },
    });
    return { store, db };
  } catch (err) {
    db.close();
    throw err;
  }
}

function absentAsUndefined(err: unknown): ObjectInfo | undefined {
  if (isS3Error(err) && err.code === 'NoSuchKey') return undefined;
  throw err;
}
