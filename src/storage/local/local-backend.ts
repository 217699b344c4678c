/**
 * The local storage backend: each object is a plain file at its key's path under
 * `<data>/<bucket>/`, metadata and listings come from the SQLite index in `<data>/.s3local/`.
 * Layout and mapping: docs/on-disk-format.md (DESIGN §4).
 *
 * Writes stream into `.s3local/tmp/`, are fsynced, then — under an in-process lock per key — the
 * write precondition runs, the file is renamed into place, its directory fsynced and the index
 * row committed (synchronous=FULL), all before the call resolves. One process per data directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import type { ObjectBody } from '../../s3/body.js';
import { S3Error } from '../../s3/errors.js';
import { openIndexDatabase } from '../../index/index-db.js';
import { GroupCommit } from '../../index/group-commit.js';
import { WriteJournal, type JournalEntry } from '../../index/write-journal.js';
import { encodeJsonColumns, encodeTags, ObjectIndex, rowToInfo } from '../../index/object-index.js';
import type { ObjectRow } from '../../index/object-index.js';
import type {
  BackendStats,
  BucketInfo,
  CopyOptions,
  DeleteBucketOptions,
  DeleteOptions,
  DeleteResult,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectLockState,
  PutOptions,
  StorageBackend,
  VersionSelector,
  WritePrecondition,
} from '../backend.js';
import { VersionIndex } from '../../index/version-index.js';
import { BucketConfigs } from './bucket-config.js';
import { versionDir, VERSIONS_DIR } from './version-records.js';
import { LocalVersioning, type VersionContent } from './versioning.js';
import { LocalTagging } from './object-tagging.js';
import { newVersionId } from './version-format.js';
import { collectListPage } from '../listing.js';
import type { StagedMultipart } from '../multipart-staging.js';
import { isValidBucketName } from './bucket-dirs.js';
import {
  containsFile,
  DIR_MODE,
  errnoOf,
  fsyncDir,
  mapStorageError,
  pruneEmptyDirs,
  removeEmptyTree,
  unlinkQuiet,
  writeDurableFile,
  type WrittenFile,
} from './fs-ops.js';
import { keyToPath, pathToKey } from './key-path.js';
import { KeyedMutex } from './keyed-mutex.js';
import { openLocalMultipart } from './multipart.js';
import * as objectCopy from './object-copy.js';
import * as objectDelete from './object-delete.js';
import * as objectRead from './object-read.js';
import { placeFile, type PlacementContext } from './placement.js';
import { recoverJournal, settleEntry, type ReconcileContext } from './reconcile.js';
import { dropRows, vacuumIndex, type RebuildOptions, type RebuildResult } from './rebuild.js';
import * as maintenance from './store-maintenance.js';
import { StoreLock } from './store-lock.js';

/** Options of {@link LocalBackend.open}. */
export interface LocalBackendOptions {
  /** The data directory (`--path`); created (mode 0700) when missing. */
  path: string;
  /** `--multipart-expiry`: abandoned multipart uploads are removed after this many ms (default 7 days). */
  multipartExpiryMs?: number;
  /**
   * How long a completed multipart upload is remembered, so that a repeated Complete answers 200
   * again (default 24 hours; 0: not remembered).
   */
  completedUploadTtlMs?: number;
}

/** Name of the s3local directory inside the data directory. */
export const META_DIR = '.s3local';

function ignore(): void {}

/** A local directory as a StorageBackend. */
export class LocalBackend implements StorageBackend {
  readonly kind = 'local';
  /** Absolute path of the data directory. */
  readonly root: string;
  /** Absolute path of `<data>/.s3local/tmp`. */
  readonly tmpDir: string;
  readonly #db: Database.Database;
  readonly #index: ObjectIndex;
  readonly #locks = new KeyedMutex();
  readonly #ctx: PlacementContext;
  readonly #lock: StoreLock;
  readonly #journal: WriteJournal;
  readonly #rctx: ReconcileContext;
  readonly #commits: GroupCommit;
  /** Contexts of the parts in files of their own: reads, copies, deletes, store-wide operations. */
  readonly #reads: objectRead.ReadContext;
  readonly #copies: objectCopy.CopyContext;
  readonly #deletes: objectDelete.DeleteContext;
  readonly #maintenance: maintenance.MaintenanceContext;
  readonly #tmpPrefix = randomBytes(6).toString('hex');
  /** Multipart uploads (local/multipart.ts); set by {@link LocalBackend.open}. */
  multipart!: StagedMultipart;
  /** Versioning and object lock (versioning.ts). */
  readonly versioning: LocalVersioning;
  /** Object tags (object-tagging.ts). */
  readonly tagging: LocalTagging;
  readonly #configs: BucketConfigs;
  readonly #versions: VersionIndex;
  #tmpCounter = 0;
  #lastSeq = 0;

  private constructor(root: string, db: Database.Database, lock: StoreLock, configs: BucketConfigs) {
    this.root = root;
    this.tmpDir = join(root, META_DIR, 'tmp');
    this.#db = db;
    this.#lock = lock;
    this.#configs = configs;
    this.#index = new ObjectIndex(db);
    this.#versions = new VersionIndex(db);
    this.#journal = new WriteJournal(db);
    this.#commits = new GroupCommit(db);
    const lockName = (bucket: string, key: string): string => `${bucket}\0${key}`;
    this.#ctx = { index: this.#index, locks: this.#locks, bucketDir: (b) => this.#bucketDir(b), lockName };
    const meta = join(root, META_DIR);
    this.versioning = new LocalVersioning({
      index: this.#index,
      versions: this.#versions,
      journal: this.#journal,
      commits: this.#commits,
      configs,
      locks: this.#locks,
      lockName,
      requireBucket: (bucket) => void this.#requireBucket(bucket),
      placement: this.#ctx,
      bucketDir: (bucket) => this.#bucketDir(bucket),
      versionDir: (bucket, key) => versionDir(meta, bucket, key),
      tempPath: () => this.#tempPath(),
      newVersionId,
      nextSeq: (floor) => this.#nextSeq(floor),
    });
    this.#rctx = {
      index: this.#index,
      journal: this.#journal,
      bucketDir: (bucket) => this.#bucketDir(bucket),
      settleVersions: async (bucket, key) => void (await this.versioning.settle(bucket, key)),
    };
    const keyLocks = { locks: this.#locks, lockName };
    this.tagging = new LocalTagging({
      ...keyLocks,
      index: this.#index,
      versions: this.#versions,
      versioning: this.versioning,
      requireBucket: (bucket) => void this.#requireBucket(bucket),
    });
    this.#reads = {
      ...keyLocks,
      index: this.#index,
      versions: this.#versions,
      configs,
      versioning: this.versioning,
      abs: (bucket, rel) => this.#abs(bucket, rel),
      reconcile: this.#rctx,
    };
    this.#copies = {
      ...this.#reads,
      tempPath: () => this.#tempPath(),
      commit: (bucket, key, natural, tmp, written, content, opts) =>
        this.#commit(bucket, key, natural, tmp, written, content, opts),
    };
    this.#deletes = {
      ...keyLocks,
      index: this.#index,
      journal: this.#journal,
      commits: this.#commits,
      versioning: this.versioning,
      bucketDir: (bucket) => this.#bucketDir(bucket),
      settle: (intent) => this.#settle(intent),
    };
    this.#maintenance = {
      ...keyLocks,
      db,
      index: this.#index,
      versions: this.#versions,
      versioning: this.versioning,
      bucketDir: (bucket) => this.#bucketDir(bucket),
      versionsDir: join(meta, VERSIONS_DIR),
      probePath: () => join(this.tmpDir, `${this.#tmpPrefix}-health-${(++this.#tmpCounter).toString(36)}`),
    };
  }

  /** A version sequence number: microseconds since the epoch, increasing, above `floor`. */
  #nextSeq(floor: number): number {
    const seq = Math.max(Date.now() * 1000, this.#lastSeq + 1, floor + 1);
    this.#lastSeq = seq;
    return seq;
  }

  /**
   * Opens the store at `opts.path`: creates the directories (0700), takes the store lock
   * (`.s3local/lock`; throws StoreLockedError when another process or open holds it), opens and
   * migrates the index, reconciles buckets with the directories on disk (a directory with a valid
   * bucket name is a bucket; a bucket whose directory is gone is forgotten with its object rows),
   * settles the writes a crash left in flight (the write journal: O(writes in flight), see
   * reconcile.ts) and removes stale temp files.
   */
  static async open(opts: LocalBackendOptions): Promise<LocalBackend> {
    const root = resolve(opts.path);
    const meta = join(root, META_DIR);
    await mkdir(root, { recursive: true, mode: DIR_MODE });
    for (const dir of [meta, join(meta, 'tmp'), join(meta, 'uploads')]) {
      await mkdir(dir, { recursive: true, mode: DIR_MODE });
    }
    const lock = StoreLock.acquire(root);
    let db: Database.Database | undefined;
    try {
      db = openIndexDatabase(join(meta, 'index.sqlite'));
      await mkdir(join(meta, VERSIONS_DIR), { recursive: true, mode: DIR_MODE });
      const backend = new LocalBackend(root, db, lock, await BucketConfigs.load(meta));
      await backend.#reconcileBuckets();
      await recoverJournal(backend.#rctx);
      // Anything in tmp/ is an interrupted write of a previous run (settled above).
      for (const name of await readdir(join(meta, 'tmp'))) {
        await rm(join(meta, 'tmp', name), { recursive: true, force: true });
      }
      backend.multipart = await openLocalMultipart(backend, {
        db,
        dir: join(meta, 'uploads'),
        bucketExists: (bucket) => backend.#index.getBucket(bucket) !== undefined,
        ...(opts.multipartExpiryMs !== undefined ? { expiryMs: opts.multipartExpiryMs } : {}),
        ...(opts.completedUploadTtlMs !== undefined
          ? { completedUploadTtlMs: opts.completedUploadTtlMs }
          : {}),
      });
      return backend;
    } catch (err) {
      db?.close();
      lock.release();
      throw err;
    }
  }

  async #reconcileBuckets(): Promise<void> {
    const onDisk = new Set<string>();
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || !isValidBucketName(entry.name)) continue;
      const st = await stat(join(this.root, entry.name)).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      onDisk.add(entry.name);
      this.#index.insertBucket(entry.name, Math.floor(st.birthtimeMs || st.mtimeMs));
    }
    for (const bucket of this.#index.listBuckets()) {
      if (!onDisk.has(bucket.name)) {
        this.#index.forgetBucket(bucket.name);
        this.#versions.forgetBucket(bucket.name);
      }
    }
  }

  #bucketDir(bucket: string): string {
    return join(this.root, bucket);
  }

  #abs(bucket: string, rel: string): string {
    return join(this.root, bucket, rel);
  }

  #tempPath(): string {
    return join(this.tmpDir, `${this.#tmpPrefix}-${(++this.#tmpCounter).toString(36)}`);
  }

  /** The bucket's row; NoSuchBucket when absent (or when the name could never be a bucket). */
  #requireBucket(bucket: string): BucketInfo {
    const info = isValidBucketName(bucket) ? this.#index.getBucket(bucket) : undefined;
    if (info === undefined) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
    return info;
  }

  // ---- buckets ---------------------------------------------------------------------------

  listBuckets(): Promise<BucketInfo[]> {
    return Promise.resolve(this.#index.listBuckets());
  }

  /**
   * With `objectLock` (CreateBucket `x-amz-bucket-object-lock-enabled: true`), the new bucket has
   * versioning Enabled and object lock on.
   */
  async createBucket(bucket: string, opts: { objectLock?: boolean } = {}): Promise<void> {
    if (!isValidBucketName(bucket)) {
      throw new S3Error('InvalidArgument', `Invalid bucket name: ${bucket}`, {
        ArgumentName: 'bucket',
        ArgumentValue: bucket,
      });
    }
    const exists = () => new S3Error('BucketAlreadyOwnedByYou', undefined, { BucketName: bucket });
    if (this.#index.getBucket(bucket) !== undefined) throw exists();
    try {
      await mkdir(this.#bucketDir(bucket), DIR_MODE);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw mapStorageError(err);
      const st = await stat(this.#bucketDir(bucket));
      if (!st.isDirectory())
        throw new S3Error('InternalError', 'a file is in the way of the bucket directory');
    }
    await fsyncDir(this.root);
    if (opts.objectLock) await this.versioning.enableObjectLockOnCreate(bucket);
    else if (this.#configs.isVersioned(bucket)) await this.#configs.remove(bucket); // stale settings
    if (!this.#index.insertBucket(bucket, Date.now())) throw exists();
  }

  headBucket(bucket: string): Promise<BucketInfo> {
    return Promise.resolve().then(() => this.#requireBucket(bucket));
  }

  /**
   * Refuses a bucket holding an object row, a version or delete marker, or any file (indexed or
   * not); otherwise removes it and aborts its multipart uploads (StorageBackend.deleteBucket). With
   * `keep` (default bucket mode) only the uploads go.
   *
   * Order: with the bucket's uploads held (multipart-staging.ts abortBucketUploads), the bucket row
   * is deleted together with the emptiness check (a write committing later finds no bucket and
   * removes its file), then the empty directory tree, then the upload rows, then their parts. A
   * crash before the directory is gone leaves the bucket (found again at open) with its uploads;
   * after it, the uploads of the missing bucket are aborted when the store opens.
   */
  async deleteBucket(bucket: string, opts: DeleteBucketOptions = {}): Promise<void> {
    this.#requireBucket(bucket);
    const notEmpty = () => new S3Error('BucketNotEmpty', undefined, { BucketName: bucket });
    const assertNoObject = (): void => {
      this.#requireBucket(bucket);
      if (this.#index.hasObjects(bucket) || this.#versions.hasAny(bucket)) throw notEmpty();
    };
    assertNoObject();
    const dir = this.#bucketDir(bucket);
    // Files not (yet) in the index still count: never delete data recursively.
    if (await containsFile(dir)) throw notEmpty();
    if (opts.keep) {
      // The bucket stays: the check and the end of its uploads in one transaction.
      await this.multipart.abortBucketUploads(bucket, { inTransaction: assertNoObject });
      return;
    }
    await this.multipart.abortBucketUploads(bucket, {
      before: async () => {
        this.#requireBucket(bucket);
        if (this.#versions.hasAny(bucket) || !this.#index.deleteBucketIfEmpty(bucket)) throw notEmpty();
        await removeEmptyTree(dir);
        // The bucket is gone (its row is): the uploads go too even if this fsync fails; a directory
        // removal lost to a crash only brings back an empty bucket at the next open.
        await fsyncDir(this.root).catch(ignore);
      },
    });
    await this.#configs.remove(bucket);
    await rm(join(this.root, META_DIR, VERSIONS_DIR, bucket), { recursive: true, force: true });
  }

  // ---- reads (object-read.ts) -------------------------------------------------------------

  async headObject(bucket: string, key: string, opts: VersionSelector = {}): Promise<ObjectInfo> {
    this.#requireBucket(bucket);
    return objectRead.headObject(this.#reads, bucket, key, opts);
  }

  async getObject(
    bucket: string,
    key: string,
    opts: objectRead.GetOptions = {},
  ): Promise<{ info: ObjectInfo; body: Readable }> {
    this.#requireBucket(bucket);
    opts.signal?.throwIfAborted();
    return objectRead.getObject(this.#reads, bucket, key, opts);
  }

  // ---- writes ----------------------------------------------------------------------------

  /**
   * Streams the body to a temp file, then commits it (see the class comment). Throws NoSuchBucket,
   * InvalidArgument or KeyTooLongError before reading the body, leaving it unread for the caller;
   * the body's own error (e.g. BadDigest), an AbortError, PreconditionFailed or
   * InsufficientStorage after it, with the previous object intact and the temp file removed.
   */
  async putObject(bucket: string, key: string, body: ObjectBody, opts: PutOptions): Promise<ObjectInfo> {
    // A small body may fail verification before the pipeline below is attached; the pipeline
    // still sees the error (the stream is errored), but it must not be an uncaught 'error' event.
    body.stream.on('error', ignore);
    // Refused before reading: the body is left unread for the caller to drain or discard
    // (destroying it could reset the connection before the error response is sent).
    this.#requireBucket(bucket);
    const natural = keyToPath(key);
    const tmp = this.#tempPath();
    let written: WrittenFile;
    try {
      written = await writeDurableFile(tmp, body.stream, opts.signal);
    } catch (err) {
      throw mapStorageError(err);
    }
    try {
      const digests = body.digests();
      const checksums = digests.checksums;
      // CompleteMultipartUpload passes the multipart ETag, part layout and checksum type.
      const content: objectCopy.RowContent = {
        etag: opts.etag ?? digests.md5,
        lastModified: 0,
        ...encodeJsonColumns(opts.headers, opts.metadata, checksums, opts.parts),
        checksumType: Object.keys(checksums).length > 0 ? (opts.checksumType ?? 'FULL_OBJECT') : null,
        tags: encodeTags(opts.tags),
      };
      return await this.#commit(bucket, key, natural, tmp, written, content, opts);
    } catch (err) {
      await unlinkQuiet(tmp);
      throw err;
    }
  }

  /**
   * Places the fsynced temp file `tmp` as the object `key` and commits its row, under the key's
   * lock: precondition, rename, fsync of the directory, index upsert.
   */
  async #commit(
    bucket: string,
    key: string,
    natural: string,
    tmp: string,
    written: WrittenFile,
    content: objectCopy.RowContent,
    opts: { precondition?: WritePrecondition; signal?: AbortSignal; lock?: ObjectLockState },
  ): Promise<ObjectInfo> {
    return this.#locks.run(this.#ctx.lockName(bucket, key), async () => {
      opts.signal?.throwIfAborted();
      const current = this.#index.getObject(bucket, key);
      opts.precondition?.(current && this.versioning.infoOfRow(current));
      this.#requireBucket(bucket);
      if (this.versioning.putIsVersioned(bucket, key, current)) {
        const { etag, headers, metadata, checksums, checksumType, parts, tags } = content;
        const fields: VersionContent = {
          ...{ etag, headers, metadata, checksums, checksumType, parts },
          ...{ size: written.size, mtimeNs: String(written.mtimeNs), ino: String(written.ino) },
        };
        if (tags) fields.tags = tags;
        return this.versioning.commitPut(bucket, key, natural, tmp, fields, opts.lock);
      }
      const intended: ObjectRow = {
        ...content,
        bucket,
        key,
        path: '',
        size: written.size,
        mtimeNs: written.mtimeNs,
        lastModified: Date.now(),
      };
      // From here until the row commits, a crash is settled at the next open (reconcile.ts).
      const intent = this.#journal.beginPut(bucket, key, written.ino, intended);
      let pending = true;
      try {
        const path = await placeFile(this.#ctx, bucket, natural, tmp, current?.path);
        const abs = this.#abs(bucket, path);
        await fsyncDir(dirname(abs));
        const row: ObjectRow = { ...intended, path };
        const movedFrom =
          current !== undefined && current.path !== path && pathToKey(current.path) === key
            ? current.path
            : undefined;
        // One transaction: the row, and the end of the intent (kept while an old file remains).
        if (!(await this.#commitRow(row, movedFrom === undefined ? intent : undefined))) {
          // The bucket was deleted while we wrote: do not leave an orphan behind.
          await unlinkQuiet(abs);
          await pruneEmptyDirs(this.#bucketDir(bucket), dirname(path));
          this.#journal.end(intent);
          pending = false;
          throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
        }
        if (movedFrom !== undefined) {
          await unlinkQuiet(this.#abs(bucket, movedFrom)).catch(() => undefined);
          this.#journal.end(intent);
        }
        pending = false;
        return this.versioning.infoOfRow(row);
      } finally {
        if (pending) await this.#settle(intent);
      }
    });
  }

  /** Upserts the row and ends `intent` in one (group) commit; false when the bucket is gone. */
  #commitRow(row: ObjectRow, intent: JournalEntry | undefined): Promise<boolean> {
    return this.#commits.run(() => {
      if (!this.#index.putObject(row)) return false;
      if (intent !== undefined) this.#journal.end(intent);
      return true;
    });
  }

  /**
   * A write failed after recording its intent: settle it now as the next open would (the file was
   * placed -> its row is committed; else the row is reconciled with the disk). Should settling
   * fail too, the intent stays for the next open.
   */
  async #settle(intent: JournalEntry): Promise<void> {
    try {
      await settleEntry(this.#rctx, intent, { ancestors: false });
    } catch {
      // left in the journal
    }
  }

  /**
   * Unlinks the file and drops the row; a key that cannot be stored (see key-path) is absent. In a
   * bucket ever versioned: a delete marker, or the version given removed (object-delete.ts,
   * versioning.ts).
   */
  async deleteObject(bucket: string, key: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    this.#requireBucket(bucket);
    return objectDelete.deleteObject(this.#deletes, bucket, key, opts);
  }

  /** CopyObject (object-copy.ts). */
  async copyObject(
    src: { bucket: string; key: string } & VersionSelector,
    dst: { bucket: string; key: string },
    opts: CopyOptions,
  ): Promise<ObjectInfo> {
    this.#requireBucket(src.bucket);
    this.#requireBucket(dst.bucket);
    return objectCopy.copyObject(this.#copies, src, dst, opts);
  }

  // ---- listing ---------------------------------------------------------------------------

  listObjects(bucket: string, opts: ListOptions): Promise<ListPage> {
    return Promise.resolve().then(() => {
      this.#requireBucket(bucket);
      const page = collectListPage(opts, (from, before, limit) =>
        this.#index.seekObjects(bucket, from, before, limit),
      );
      const result: ListPage = {
        objects: page.objects.map(rowToInfo),
        commonPrefixes: page.commonPrefixes,
        isTruncated: page.isTruncated,
      };
      if (page.nextAfter !== undefined) result.nextAfter = page.nextAfter;
      return result;
    });
  }

  // ---- operations (health, metrics) and maintenance (`s3local cache ...`): store-maintenance.ts

  /** Health probe (store-maintenance.ts checkHealth). */
  health(): Promise<void> {
    return maintenance.checkHealth(this.#maintenance);
  }

  /** Objects and bytes per bucket (store-maintenance.ts collectStats), `pageSize` rows per query. */
  stats(pageSize = 10_000): Promise<BackendStats> {
    return maintenance.collectStats(this.#maintenance, pageSize);
  }

  /**
   * Rebuilds the index from the files (rebuild.ts): adds files written behind the server's back,
   * re-hashes changed ones, fixes moved ones, drops rows whose file is gone; then settles every
   * versioned key from its records (store-maintenance.ts).
   */
  rebuildIndex(opts: RebuildOptions = {}): Promise<RebuildResult> {
    return maintenance.rebuildStore(this.#maintenance, opts);
  }

  /**
   * Deletes the index rows of `bucket` (every bucket when undefined), never a file; returns how
   * many. The files stay and are indexed again by {@link rebuildIndex} (with MD5 ETags and without
   * the metadata the rows held).
   */
  dropIndexRows(bucket?: string): number {
    return dropRows(this.#db, bucket);
  }

  /** VACUUMs the index; sizes (index + WAL) before and after. */
  vacuumIndex(): Promise<{ before: number; after: number }> {
    return vacuumIndex(this.#db);
  }

  /** Closes the index and releases the store lock. */
  close(): Promise<void> {
    this.multipart?.close();
    this.#commits.close();
    if (this.#db.open) this.#db.close();
    this.#lock.release();
    return Promise.resolve();
  }
}
