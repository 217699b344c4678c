/**
 * A MultipartStore that stages parts as files on local disk, keeps the upload state in an SQLite
 * index (UploadIndex) and commits the assembled object through the backend's own `putObject`
 * (temp file + fsync + rename for the local backend, spool + upload for Drime). Both backends use
 * it; they differ only in their hooks.
 *
 * Staging layout: `<dir>/<uploadId>/part-<nnnnn>-<random>` (one file per part; a re-upload of a
 * part number writes a new file, switches the index row to it, then removes the old file), with
 * in-flight part bodies in `<dir>/<uploadId>/.tmp-<random>`.
 *
 * Locking: one in-process lock per upload. A part's final rename + row switch, Complete (from
 * validation to the end of the commit) and Abort take it, so Complete reads exactly the parts it
 * validated and a part finishing during or after Complete/Abort answers NoSuchUpload.
 *
 * Completed uploads are remembered (multipart-completions.ts): Complete deletes the upload's rows
 * and records its completion in one transaction, after the object is committed. A Complete that
 * finds the upload gone — a retry, or a concurrent Complete that waited for the lock — answers
 * from that record when it repeats the completed request, so two Completes of one upload still
 * make one object. The records are reaped with the expired uploads.
 *
 * DeleteBucket aborts the bucket's uploads ({@link StagedMultipart.abortBucketUploads}): it holds
 * the bucket exclusively against CreateMultipartUpload (which holds it shared from its bucket check
 * to its row insert) and takes the lock of every upload of the bucket, so the backend's emptiness
 * check, its removal of the bucket and the deletion of the upload rows see no upload appear,
 * complete or take a part meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import type { ObjectBody } from '../s3/body.js';
import { S3Error } from '../s3/errors.js';
import { CompletionIndex } from '../index/completion-index.js';
import { UploadIndex, type StagedPart } from '../index/upload-index.js';
import type { ObjectInfo, PutOptions } from './backend.js';
import {
  DIR_MODE,
  errnoOf,
  fsyncDir,
  mapStorageError,
  unlinkQuiet,
  writeDurableFile,
} from './local/fs-ops.js';
import { KeyedMutex } from './local/keyed-mutex.js';
import { KeyedSharedLock } from './keyed-shared-lock.js';
import { assembledBody, readableOf, withChecksum } from './multipart-body.js';
import {
  completedObjectInfo,
  completionRecord,
  DEFAULT_COMPLETION_TTL_MS,
  matchesCompletion,
} from './multipart-completions.js';
import {
  assertPartChecksumAlgorithm,
  DEFAULT_MULTIPART_EXPIRY_MS,
  noSuchUpload,
  planCompletion,
  type CompleteOptions,
  type CompleteRequest,
  type CreateUploadOptions,
  type ListPartsOptions,
  type ListUploadsOptions,
  type MultipartStore,
  type PartInfo,
  type PartsPage,
  type UploadInfo,
  type UploadPartOptions,
  type UploadsPage,
} from './multipart.js';

/** What the staging store needs from its backend. */
export interface StagingHooks {
  /** Throws NoSuchBucket when the bucket does not exist. */
  requireBucket(bucket: string): Promise<void>;
  /** Throws for a key the backend could never store (checked on Create, before any byte). */
  validateKey?(key: string): void;
  /** The object currently stored at the key, or undefined (for the early precondition check). */
  currentObject(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** Stores the assembled object atomically: the backend's `putObject`. */
  commit(bucket: string, key: string, body: ObjectBody, opts: PutOptions): Promise<ObjectInfo>;
  /**
   * Whether the bucket exists, answered from local state (the local backend's index). When given,
   * the uploads of buckets that do not exist are aborted when the store opens: a DeleteBucket cut
   * by a crash after the bucket was removed, or a bucket directory removed behind the server's back.
   */
  bucketExists?: (bucket: string) => boolean;
}

/** The backend's steps of a DeleteBucket, run by {@link StagedMultipart.abortBucketUploads}. */
export interface BucketRemovalSteps {
  /**
   * Runs first, with the bucket's uploads held: checks that the bucket holds no object (throws
   * BucketNotEmpty, or NoSuchBucket, to refuse: then no upload is touched) and removes the bucket.
   */
  before?(): Promise<void>;
  /**
   * Runs next, synchronously, in the transaction that deletes the upload rows (for a backend whose
   * own state is in the same database); throws to refuse, rolling the transaction back.
   */
  inTransaction?(): void;
}

export interface StagingOptions {
  /** An index database migrated to schema version 3 or later (see migrations.ts). */
  db: Database.Database;
  /** The staging root (created mode 0700). */
  dir: string;
  hooks: StagingHooks;
  /** Uploads older than this are aborted by a background sweep (default 7 days; 0: no sweep). */
  expiryMs?: number;
  /**
   * How long a completed upload is remembered, so that a repeated Complete answers 200 again
   * (default 24 hours; 0: not remembered, a repeat answers NoSuchUpload).
   */
  completedUploadTtlMs?: number;
  /**
   * How often the sweep runs (default: a tenth of the shorter of the expiry and the completion
   * TTL, between 1 s and 1 h).
   */
  sweepIntervalMs?: number;
}

/** `<12 hex digits of ms since the epoch><4 base-36 digits of sequence><20 base64url characters of randomness>`. */
const UPLOAD_ID = /^[0-9a-f]{12}[A-Za-z0-9_-]{24}$/;

/** A new upload id: sorts by creation order, 120 random bits, safe as a directory name. */
let lastUploadMs = 0;
let uploadSeq = 0;

export function newUploadId(now = Date.now()): string {
  // Uploads created in the same millisecond keep their creation order (ListMultipartUploads lists
  // the uploads of a key by initiation time): a 4-digit base-36 sequence follows the time.
  if (now > lastUploadMs) {
    lastUploadMs = now;
    uploadSeq = 0;
  } else {
    uploadSeq++;
  }
  return (
    lastUploadMs.toString(16).padStart(12, '0') +
    uploadSeq.toString(36).padStart(4, '0') +
    randomBytes(15).toString('base64url')
  );
}

function ignore(): void {}

/** The staging MultipartStore (see the file comment). Open with {@link StagedMultipart.open}. */
export class StagedMultipart implements MultipartStore {
  readonly dir: string;
  readonly #index: UploadIndex;
  readonly #completions: CompletionIndex;
  readonly #completedTtlMs: number;
  readonly #hooks: StagingHooks;
  readonly #locks = new KeyedMutex();
  /** Per bucket: CreateMultipartUpload shared, DeleteBucket exclusive. */
  readonly #buckets = new KeyedSharedLock();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(opts: StagingOptions) {
    this.dir = opts.dir;
    this.#index = new UploadIndex(opts.db);
    this.#completions = new CompletionIndex(opts.db);
    this.#completedTtlMs = opts.completedUploadTtlMs ?? DEFAULT_COMPLETION_TTL_MS;
    this.#hooks = opts.hooks;
  }

  /**
   * Creates the staging root, reconciles it with the index (directories of uploads the index does
   * not know, temp files and unreferenced part files are removed; rows of part files that are gone
   * are dropped), aborts expired uploads, forgets expired completions and starts the (unref'd)
   * sweep that does both.
   */
  static async open(opts: StagingOptions): Promise<StagedMultipart> {
    const store = new StagedMultipart(opts);
    await mkdir(opts.dir, { recursive: true, mode: DIR_MODE });
    await store.#reconcile();
    const expiry = opts.expiryMs ?? DEFAULT_MULTIPART_EXPIRY_MS;
    const periods = [expiry, store.#completedTtlMs].filter((ms) => ms > 0);
    await store.#sweep(expiry);
    if (periods.length > 0) {
      const every = opts.sweepIntervalMs ?? Math.min(Math.max(Math.min(...periods) / 10, 1000), 3_600_000);
      store.#timer = setInterval(() => {
        if (!store.#closed) store.#sweep(expiry).catch(ignore);
      }, every);
      store.#timer.unref();
    }
    return store;
  }

  /** One run of the background sweep: expired uploads (when they expire) and completions. */
  async #sweep(expiry: number): Promise<void> {
    if (expiry > 0) await this.expireUploads(expiry);
    else this.#forgetCompletions();
  }

  /** Forgets the completions older than the TTL (all of them when completions are not kept). */
  #forgetCompletions(): void {
    this.#completions.deleteCompletedBefore(Date.now() - this.#completedTtlMs);
  }

  /** Stops the expiry sweep. The database belongs to the caller. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  async #reconcile(): Promise<void> {
    const exists = this.#hooks.bucketExists;
    if (exists !== undefined) {
      for (const bucket of this.#index.bucketsWithUploads()) {
        if (!exists(bucket)) this.#forgetBucket(bucket);
      }
    }
    const known = new Set(this.#index.allUploadIds());
    for (const name of await readdir(this.dir)) {
      if (!known.has(name)) await rm(join(this.dir, name), { recursive: true, force: true });
    }
    for (const id of known) {
      const dir = join(this.dir, id);
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
      const files = new Set(await readdir(dir));
      const parts = this.#index.parts(id);
      const referenced = new Set(parts.map((p) => p.file));
      for (const p of parts) if (!files.has(p.file)) this.#index.deletePart(id, p.partNumber);
      for (const f of files) if (!referenced.has(f)) await unlinkQuiet(join(dir, f));
    }
  }

  #uploadDir(uploadId: string): string {
    return join(this.dir, uploadId);
  }

  /** The open upload, checked against bucket and key; undefined when there is none. */
  #open(bucket: string, key: string, uploadId: string): UploadInfo | undefined {
    const upload = UPLOAD_ID.test(uploadId) ? this.#index.getUpload(uploadId) : undefined;
    return upload !== undefined && upload.bucket === bucket && upload.key === key ? upload : undefined;
  }

  /** The open upload, checked against bucket and key; NoSuchUpload otherwise. */
  #require(bucket: string, key: string, uploadId: string): UploadInfo {
    const upload = this.#open(bucket, key, uploadId);
    if (upload === undefined) throw noSuchUpload(uploadId);
    return upload;
  }

  /**
   * Holds the bucket shared from the bucket check to the row insert: a DeleteBucket holding it
   * exclusively (abortBucketUploads) never sees an upload appear in a bucket it is removing.
   */
  createUpload(bucket: string, key: string, opts: CreateUploadOptions): Promise<UploadInfo> {
    return this.#buckets.shared(bucket, () => this.#createUpload(bucket, key, opts));
  }

  async #createUpload(bucket: string, key: string, opts: CreateUploadOptions): Promise<UploadInfo> {
    await this.#hooks.requireBucket(bucket);
    this.#hooks.validateKey?.(key);
    const now = Date.now();
    const upload: UploadInfo = {
      uploadId: newUploadId(now),
      bucket,
      key,
      initiated: new Date(now),
      headers: opts.headers,
      metadata: opts.metadata,
    };
    if (opts.checksumAlgorithm !== undefined) upload.checksumAlgorithm = opts.checksumAlgorithm;
    if (opts.checksumType !== undefined) upload.checksumType = opts.checksumType;
    if (opts.lock !== undefined) upload.lock = opts.lock;
    if (opts.tags !== undefined && opts.tags.length > 0) upload.tags = opts.tags;
    try {
      await mkdir(this.#uploadDir(upload.uploadId), { mode: DIR_MODE });
      await fsyncDir(this.dir);
    } catch (err) {
      throw mapStorageError(err);
    }
    this.#index.insertUpload(upload);
    return upload;
  }

  async getUpload(bucket: string, key: string, uploadId: string): Promise<UploadInfo> {
    await this.#hooks.requireBucket(bucket);
    return this.#require(bucket, key, uploadId);
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: ObjectBody,
    opts: UploadPartOptions,
  ): Promise<PartInfo> {
    body.stream.on('error', ignore);
    await this.#hooks.requireBucket(bucket);
    const upload = this.#require(bucket, key, uploadId);
    assertPartChecksumAlgorithm(upload, opts.checksumAlgorithm);
    const alg = upload.checksumAlgorithm;
    const source = alg !== undefined && opts.checksumAlgorithm !== alg ? withChecksum(body, alg) : body;
    const dir = this.#uploadDir(uploadId);
    const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      await writeDurableFile(tmp, source.stream, opts.signal);
    } catch (err) {
      if (this.#index.getUpload(uploadId) === undefined) throw noSuchUpload(uploadId);
      throw mapStorageError(err);
    }
    try {
      const digests = source.digests();
      const part: StagedPart = {
        partNumber,
        file: `part-${String(partNumber).padStart(5, '0')}-${randomBytes(6).toString('hex')}`,
        size: digests.size,
        etag: digests.md5,
        checksums: digests.checksums,
        lastModified: new Date(),
      };
      return await this.#locks.run(uploadId, async () => {
        opts.signal?.throwIfAborted();
        if (this.#index.getUpload(uploadId) === undefined) throw noSuchUpload(uploadId);
        await rename(tmp, join(dir, part.file));
        await fsyncDir(dir);
        const { stored, previous } = this.#index.putPart(uploadId, part);
        if (!stored) {
          await unlinkQuiet(join(dir, part.file)).catch(ignore);
          throw noSuchUpload(uploadId);
        }
        if (previous && previous.file !== part.file) await unlinkQuiet(join(dir, previous.file));
        const { file: _file, ...info } = part;
        return info;
      });
    } catch (err) {
      await unlinkQuiet(tmp).catch(ignore);
      if (errnoOf(err) === 'ENOENT') throw noSuchUpload(uploadId);
      throw mapStorageError(err);
    }
  }

  async listParts(bucket: string, key: string, uploadId: string, opts: ListPartsOptions): Promise<PartsPage> {
    await this.#hooks.requireBucket(bucket);
    const upload = this.#require(bucket, key, uploadId);
    const rows =
      opts.maxParts > 0 ? this.#index.pageParts(uploadId, opts.partNumberMarker, opts.maxParts + 1) : [];
    const isTruncated = rows.length > opts.maxParts;
    const parts: PartInfo[] = rows.slice(0, opts.maxParts).map(({ file: _file, ...p }) => p);
    const page: PartsPage = { upload, parts, isTruncated };
    const last = parts[parts.length - 1];
    if (isTruncated && last) page.nextPartNumberMarker = last.partNumber;
    return page;
  }

  async listUploads(bucket: string, opts: ListUploadsOptions): Promise<UploadsPage> {
    await this.#hooks.requireBucket(bucket);
    return this.#index.listUploads(bucket, opts);
  }

  /**
   * The object a completed upload committed, when `request` repeats its Complete (same bucket, key
   * and parts, within the TTL); NoSuchUpload otherwise. A repeat skips the write precondition:
   * the Complete it repeats passed it when it committed (moto answers a repeat with If-None-Match: *
   * with 200, getmoto/moto#8380 and #9209), and the object is not written again.
   */
  #replay(bucket: string, key: string, uploadId: string, request: CompleteRequest): ObjectInfo {
    const record = UPLOAD_ID.test(uploadId) ? this.#completions.get(uploadId) : undefined;
    if (
      record === undefined ||
      record.bucket !== bucket ||
      record.key !== key ||
      Date.now() - record.completedAt.getTime() >= this.#completedTtlMs ||
      !matchesCompletion(record, request)
    ) {
      throw noSuchUpload(uploadId);
    }
    return completedObjectInfo(record);
  }

  async completeUpload(
    bucket: string,
    key: string,
    uploadId: string,
    request: CompleteRequest,
    opts: CompleteOptions,
  ): Promise<ObjectInfo> {
    await this.#hooks.requireBucket(bucket);
    if (this.#open(bucket, key, uploadId) === undefined) return this.#replay(bucket, key, uploadId, request);
    return this.#locks.run(uploadId, async () => {
      // A Complete of the same upload that held the lock may have completed it meanwhile.
      const upload = this.#open(bucket, key, uploadId);
      if (upload === undefined) return this.#replay(bucket, key, uploadId, request);
      const stored = this.#index.parts(uploadId);
      const plan = planCompletion(upload, stored, request);
      if (opts.precondition) opts.precondition(await this.#hooks.currentObject(bucket, key));
      opts.onValidated?.();

      const files = new Map(stored.map((p) => [p.partNumber, p.file]));
      const dir = this.#uploadDir(uploadId);
      const stream = assemble(
        plan.parts.map((p) => ({
          path: join(dir, files.get(p.partNumber)!),
          size: p.size,
          partNumber: p.partNumber,
        })),
      );
      const put: PutOptions = {
        headers: upload.headers,
        metadata: upload.metadata,
        size: plan.size,
        etag: plan.etag,
        parts: plan.layout,
      };
      if (plan.checksumType !== undefined) put.checksumType = plan.checksumType;
      if (upload.tags !== undefined) put.tags = upload.tags;
      if (opts.precondition) put.precondition = opts.precondition;
      const lock = opts.lockAtComplete ? await opts.lockAtComplete(upload.lock) : upload.lock;
      if (lock !== undefined) put.lock = lock;
      const info = await this.#hooks.commit(
        bucket,
        key,
        assembledBody(stream, plan.size, plan.etag, plan.checksums),
        put,
      );
      // The object is committed; the upload's rows go and its completion is remembered at once. A
      // crash before this commit leaves the upload open (parts intact): a retry completes it again.
      if (this.#completedTtlMs > 0) {
        this.#completions.completeUpload(this.#index, completionRecord(upload, plan, info, new Date()));
      } else {
        this.#index.deleteUpload(uploadId);
      }
      await rm(dir, { recursive: true, force: true }).catch(ignore);
      return info;
    });
  }

  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.#hooks.requireBucket(bucket);
    this.#require(bucket, key, uploadId);
    await this.#locks.run(uploadId, async () => {
      this.#require(bucket, key, uploadId);
      await this.#remove(uploadId);
    });
  }

  /** Drops the rows first (the upload is gone for every reader), then the files. */
  async #remove(uploadId: string): Promise<void> {
    this.#index.deleteUpload(uploadId);
    await this.#removeDir(uploadId);
  }

  /**
   * Removes the upload's staging directory. Retried when not empty: an UploadPart still streaming
   * may create its temp file there meanwhile (it then finds the upload gone and removes the file).
   */
  #removeDir(uploadId: string): Promise<void> {
    return rm(this.#uploadDir(uploadId), { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }

  /** Deletes the rows of the bucket's uploads and of its remembered completions, in one transaction. */
  #forgetBucket(bucket: string): string[] {
    return this.#index.db.transaction(() => {
      this.#completions.deleteBucket(bucket);
      return this.#index.deleteBucketUploads(bucket);
    })();
  }

  /**
   * DeleteBucket: aborts every upload of the bucket, as S3 does for a general purpose bucket — its
   * DeleteBucket requires only that "all objects (including all object versions and delete
   * markers)" be deleted (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html);
   * only directory buckets refuse while uploads are in progress
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html).
   *
   * Holds the bucket against CreateMultipartUpload and takes the lock of each of its uploads
   * (waiting for a Complete, a part's commit or an Abort in flight), then runs `steps.before` (the
   * backend's emptiness check and removal of the bucket: when it throws, nothing is aborted), then
   * deletes the upload rows (and the bucket's remembered completions) in one transaction with
   * `steps.inTransaction`, then removes their staging directories. A part still streaming finds its
   * upload gone and answers NoSuchUpload; a staging directory left by a failure is removed when
   * the store opens. Resolves with the number of uploads aborted.
   */
  abortBucketUploads(bucket: string, steps: BucketRemovalSteps = {}): Promise<number> {
    return this.#buckets.exclusive(bucket, async () => {
      const releases: Array<() => void> = [];
      try {
        for (const id of this.#index.bucketUploadIds(bucket)) releases.push(await this.#locks.acquire(id));
        await steps.before?.();
        const removed = this.#index.db.transaction(() => {
          steps.inTransaction?.();
          return this.#forgetBucket(bucket);
        })();
        for (const id of removed) await this.#removeDir(id).catch(ignore);
        return removed.length;
      } finally {
        for (const release of releases) release();
      }
    });
  }

  /** Also forgets the completions older than the completion TTL. */
  async expireUploads(olderThanMs: number): Promise<number> {
    this.#forgetCompletions();
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (;;) {
      const ids = this.#index.uploadsInitiatedBefore(cutoff, 100).filter((id) => !this.#locks.isLocked(id));
      if (ids.length === 0) return removed;
      for (const id of ids) {
        await this.#locks.run(id, async () => {
          const upload = this.#index.getUpload(id);
          if (upload === undefined || upload.initiated.getTime() >= cutoff) return;
          await this.#remove(id);
          removed++;
        });
      }
      if (this.#closed) return removed;
    }
  }

  /** True when the bucket has an open upload. */
  hasUploads(bucket: string): Promise<boolean> {
    return Promise.resolve(this.#index.hasUploads(bucket));
  }
}

/** The parts' bytes in order, read 1 MiB at a time; a part whose size changed is an error. */
function assemble(parts: ReadonlyArray<{ path: string; size: number; partNumber: number }>): Readable {
  return readableOf(
    (async function* () {
      for (const part of parts) {
        let read = 0;
        for await (const chunk of createReadStream(part.path, {
          highWaterMark: 1 << 20,
        }) as AsyncIterable<Buffer>) {
          read += chunk.length;
          if (read > part.size) break;
          yield chunk;
        }
        if (read !== part.size) {
          throw new S3Error('InternalError', `part ${part.partNumber} changed in staging`);
        }
      }
    })(),
  );
}
