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
import { constants as fsConstants, type BigIntStats } from 'node:fs';
import {
  chmod,
  copyFile,
  link,
  mkdir,
  open,
  readdir,
  rm,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { addAbortSignal, Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import type { ObjectBody } from '../../s3/body.js';
import { S3Error } from '../../s3/errors.js';
import { openIndexDatabase } from '../../index/index-db.js';
import { GroupCommit } from '../../index/group-commit.js';
import { WriteJournal, type JournalEntry } from '../../index/write-journal.js';
import { encodeJsonColumns, ObjectIndex, rowToInfo, type ObjectRow } from '../../index/object-index.js';
import type {
  BackendStats,
  BucketInfo,
  ByteRange,
  CopyOptions,
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
import { dataPath, keyOfVersionDir, versionDir, VERSIONS_DIR } from './version-records.js';
import { LocalVersioning } from './versioning.js';
import { newVersionId, recordToInfo } from './version-format.js';
import { collectListPage } from '../listing.js';
import type { StagedMultipart } from '../multipart-staging.js';
import { isValidBucketName } from './bucket-dirs.js';
import {
  containsFile,
  DIR_MODE,
  errnoOf,
  FILE_MODE,
  fsyncDir,
  hashFile,
  mapStorageError,
  pruneEmptyDirs,
  removeEmptyTree,
  syncFile,
  unlinkQuiet,
  writeDurableFile,
  type WrittenFile,
} from './fs-ops.js';
import { candidatePaths, keyToPath, pathToKey, selfPath } from './key-path.js';
import { KeyedMutex } from './keyed-mutex.js';
import { openLocalMultipart } from './multipart.js';
import { placeFile, type PlacementContext } from './placement.js';
import { reconcileKey, recoverJournal, sameFile, settleEntry, type ReconcileContext } from './reconcile.js';
import { dropRows, rebuildIndex, vacuumIndex, type RebuildOptions, type RebuildResult } from './rebuild.js';
import { StoreLock } from './store-lock.js';

/** Options of {@link LocalBackend.open}. */
export interface LocalBackendOptions {
  /** The data directory (`--path`); created (mode 0700) when missing. */
  path: string;
  /** `--multipart-expiry`: abandoned multipart uploads are removed after this many ms (default 7 days). */
  multipartExpiryMs?: number;
}

/** Name of the s3local directory inside the data directory. */
export const META_DIR = '.s3local';

/** Errors meaning "there is no regular file at this path". */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** The object's fields other than its place and bucket/key, for a commit. */
type RowContent = Omit<ObjectRow, 'bucket' | 'key' | 'path' | 'mtimeNs' | 'size'>;

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
  readonly #tmpPrefix = randomBytes(6).toString('hex');
  /** Multipart uploads (local/multipart.ts); set by {@link LocalBackend.open}. */
  multipart!: StagedMultipart;
  /** Versioning and object lock (versioning.ts). */
  readonly versioning: LocalVersioning;
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
    this.#ctx = {
      index: this.#index,
      locks: this.#locks,
      bucketDir: (bucket) => this.#bucketDir(bucket),
      lockName: (bucket, key) => `${bucket}\0${key}`,
    };
    const meta = join(root, META_DIR);
    this.versioning = new LocalVersioning({
      index: this.#index,
      versions: this.#versions,
      journal: this.#journal,
      commits: this.#commits,
      configs,
      locks: this.#locks,
      lockName: (bucket, key) => this.#ctx.lockName(bucket, key),
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
        ...(opts.multipartExpiryMs !== undefined ? { expiryMs: opts.multipartExpiryMs } : {}),
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

  async deleteBucket(bucket: string): Promise<void> {
    this.#requireBucket(bucket);
    const notEmpty = () => new S3Error('BucketNotEmpty', undefined, { BucketName: bucket });
    if (this.#index.hasObjects(bucket) || this.#versions.hasAny(bucket)) throw notEmpty();
    if (await this.multipart.hasUploads(bucket)) throw notEmpty();
    const dir = this.#bucketDir(bucket);
    // Files not (yet) in the index still count: never delete data recursively.
    if (await containsFile(dir)) throw notEmpty();
    if (!this.#index.deleteBucketIfEmpty(bucket)) throw notEmpty();
    await removeEmptyTree(dir);
    await fsyncDir(this.root);
    await this.#configs.remove(bucket);
    await rm(join(this.root, META_DIR, VERSIONS_DIR, bucket), { recursive: true, force: true });
  }

  // ---- reads -----------------------------------------------------------------------------

  async headObject(bucket: string, key: string, opts: VersionSelector = {}): Promise<ObjectInfo> {
    this.#requireBucket(bucket);
    const found = this.#findVersion(bucket, key, opts);
    if (found?.record !== undefined) return recordToInfo(found.record);
    const { row } = await this.#locate(bucket, key, false);
    return this.versioning.infoOfRow(row);
  }

  /**
   * In a bucket ever versioned, or with a version id: the version asked for (versioning.ts
   * findVersion: NoSuchKey with delete marker headers, NoSuchVersion, MethodNotAllowed); else
   * undefined (the plain path answers).
   */
  #findVersion(bucket: string, key: string, opts: VersionSelector) {
    if (opts.versionId === undefined && !this.#configs.isVersioned(bucket)) return undefined;
    return this.versioning.findVersion(bucket, key, opts);
  }

  async getObject(
    bucket: string,
    key: string,
    opts: { range?: ByteRange; signal?: AbortSignal } & VersionSelector = {},
  ): Promise<{ info: ObjectInfo; body: Readable }> {
    this.#requireBucket(bucket);
    opts.signal?.throwIfAborted();
    const found = this.#findVersion(bucket, key, opts);
    if (found?.record !== undefined) {
      const body = await this.versioning.openVersion(bucket, found.record, opts.range);
      if (opts.signal) addAbortSignal(opts.signal, body);
      return { info: found.info, body };
    }
    const { row, fh } = await this.#locate(bucket, key, true);
    const info = this.versioning.infoOfRow(row);
    const start = opts.range?.start ?? 0;
    const end = opts.range?.end ?? info.size - 1;
    let body: Readable;
    if (end < start || fh === undefined) {
      await fh?.close();
      body = Readable.from([]);
    } else {
      const highWaterMark = end - start >= 1 << 20 ? 1 << 20 : 64 * 1024;
      body = fh.createReadStream({ start, end, highWaterMark });
    }
    if (opts.signal) addAbortSignal(opts.signal, body);
    return { info, body };
  }

  /**
   * The object's row, checked against its file (exists, same size and mtime as committed); with
   * `openFile`, the file opened (the check is then on the open handle, so the bytes read are the
   * bytes the row describes). A mismatch first waits for a write in flight on the key, then
   * reconciles the row with the disk: file moved, changed or gone behind the server's back.
   */
  async #locate(
    bucket: string,
    key: string,
    openFile: boolean,
  ): Promise<{ row: ObjectRow; fh?: FileHandle }> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const row = this.#index.getObject(bucket, key);
      if (row === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
      const abs = this.#abs(bucket, row.path);
      let fh: FileHandle | undefined;
      try {
        let st: BigIntStats;
        if (openFile) {
          fh = await open(abs, 'r');
          st = await fh.stat({ bigint: true });
        } else {
          st = await stat(abs, { bigint: true });
        }
        if (sameFile(row, st)) return fh ? { row, fh } : { row };
      } catch (err) {
        if (!MISSING.has(errnoOf(err) ?? '')) {
          await fh?.close();
          throw err;
        }
      }
      await fh?.close();
      const lockName = this.#ctx.lockName(bucket, key);
      if (attempt === 0 && this.#locks.isLocked(lockName)) {
        await this.#locks.run(lockName, () => undefined); // a commit or move is in flight
      } else {
        await this.#reconcile(bucket, key);
      }
    }
    throw new S3Error('InternalError', 'the object keeps changing on disk');
  }

  /**
   * Brings the key's row in line with the disk (reconcile.ts; a versioned key is settled from its
   * version records instead), under the key's lock.
   */
  async #reconcile(bucket: string, key: string): Promise<void> {
    await this.#locks.run(this.#ctx.lockName(bucket, key), async () => {
      if (this.#index.getObject(bucket, key)?.version || this.#versions.hasKey(bucket, key)) {
        await this.versioning.settle(bucket, key);
      } else {
        await reconcileKey(this.#rctx, bucket, key);
      }
    });
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
      const content: RowContent = {
        etag: opts.etag ?? digests.md5,
        lastModified: 0,
        ...encodeJsonColumns(opts.headers, opts.metadata, checksums, opts.parts),
        checksumType: Object.keys(checksums).length > 0 ? (opts.checksumType ?? 'FULL_OBJECT') : null,
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
    content: RowContent,
    opts: { precondition?: WritePrecondition; signal?: AbortSignal; lock?: ObjectLockState },
  ): Promise<ObjectInfo> {
    return this.#locks.run(this.#ctx.lockName(bucket, key), async () => {
      opts.signal?.throwIfAborted();
      const current = this.#index.getObject(bucket, key);
      opts.precondition?.(current && this.versioning.infoOfRow(current));
      this.#requireBucket(bucket);
      if (this.versioning.putIsVersioned(bucket, key, current)) {
        const { etag, headers, metadata, checksums, checksumType, parts } = content;
        const version = { etag, headers, metadata, checksums, checksumType, parts };
        const fields = {
          ...version,
          size: written.size,
          mtimeNs: String(written.mtimeNs),
          ino: String(written.ino),
        };
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

  /** Deletes the row and ends `intent` in one (group) commit. */
  #dropRow(bucket: string, key: string, intent: JournalEntry): Promise<void> {
    return this.#commits.run(() => {
      this.#index.deleteObject(bucket, key);
      this.#journal.end(intent);
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
   * bucket ever versioned: a delete marker, or the version given removed (versioning.ts).
   */
  async deleteObject(bucket: string, key: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    this.#requireBucket(bucket);
    try {
      keyToPath(key);
    } catch {
      return opts.versionId === undefined ? {} : { versionId: opts.versionId }; // cannot exist
    }
    const lockName = this.#ctx.lockName(bucket, key);
    if (opts.versionId !== undefined) {
      const { versionId } = opts;
      const bypass = opts.bypassGovernance ?? false;
      const done = await this.#locks.run(lockName, () =>
        this.versioning.deleteVersion(bucket, key, versionId, bypass),
      );
      if (done !== undefined) return done;
    } else if (this.versioning.deleteIsVersioned(bucket)) {
      return this.#locks.run(lockName, () => this.versioning.commitDelete(bucket, key));
    }
    await this.#deleteUnversioned(bucket, key);
    return opts.versionId === undefined ? {} : { versionId: opts.versionId };
  }

  async #deleteUnversioned(bucket: string, key: string): Promise<void> {
    const natural = keyToPath(key);
    const root = this.#bucketDir(bucket);
    const removed = await this.#locks.run(this.#ctx.lockName(bucket, key), async () => {
      const row = this.#index.getObject(bucket, key);
      const places = row
        ? [row.path, ...candidatePaths(key).filter((p) => p !== row.path)]
        : [natural, selfPath(natural)];
      // A row whose file is about to go: a crash before the row is dropped is settled at open.
      const intent = row ? this.#journal.beginDelete(bucket, key) : undefined;
      let pending = intent !== undefined;
      try {
        let removedFrom: string | undefined;
        for (const place of places) {
          try {
            await unlink(join(root, place));
            removedFrom = place;
            break;
          } catch (err) {
            const code = errnoOf(err) ?? '';
            // EISDIR (Linux) / EPERM (macOS): the natural path is a directory; try the self path.
            const isDir =
              code === 'EPERM' && (await stat(join(root, place)).catch(() => undefined))?.isDirectory();
            if (!MISSING.has(code) && !isDir) throw mapStorageError(err);
          }
        }
        if (removedFrom !== undefined) await fsyncDir(dirname(join(root, removedFrom)));
        if (intent !== undefined) await this.#dropRow(bucket, key, intent);
        pending = false;
        return removedFrom;
      } finally {
        if (pending && intent !== undefined) await this.#settle(intent);
      }
    });
    if (removed !== undefined) await pruneEmptyDirs(root, dirname(removed));
  }

  /**
   * Copies the bytes server-side (hard-link snapshot + copy-on-write copy), then commits like a PUT.
   * The copy keeps the source's ETag and checksums (same bytes); a multipart source becomes a
   * single-part copy with an MD5 ETag. Copying an object onto itself rewrites only its row (new
   * LastModified; headers and metadata from `replace`, else unchanged) — rejecting a self-copy
   * without REPLACE (InvalidRequest) is the S3 layer's job.
   */
  async copyObject(
    src: { bucket: string; key: string } & VersionSelector,
    dst: { bucket: string; key: string },
    opts: CopyOptions,
  ): Promise<ObjectInfo> {
    this.#requireBucket(src.bucket);
    this.#requireBucket(dst.bucket);
    const natural = keyToPath(dst.key);
    opts.signal?.throwIfAborted();
    // A noncurrent source version: its data file never changes, so it is copied as it is.
    let version;
    try {
      version = this.#findVersion(src.bucket, src.key, src)?.record;
    } catch (err) {
      // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: a delete marker
      // cannot be a copy source.
      if (err instanceof S3Error && err.code === 'MethodNotAllowed') {
        throw new S3Error(
          'InvalidRequest',
          'The source of a copy request may not specifically refer to a delete marker by version id.',
        );
      }
      throw err;
    }
    // Fails early with NoSuchKey, and reconciles a source changed behind the server's back.
    if (version === undefined) await this.#locate(src.bucket, src.key, false);

    const same = src.bucket === dst.bucket && src.key === dst.key && version === undefined;
    if (
      same &&
      !this.versioning.putIsVersioned(dst.bucket, dst.key, this.#index.getObject(dst.bucket, dst.key))
    ) {
      return this.#copyInPlace(dst.bucket, dst.key, opts);
    }

    const tmp = this.#tempPath();
    try {
      let snapshot: Omit<RowContent, 'lastModified'>;
      if (version !== undefined) {
        opts.sourcePrecondition?.(recordToInfo(version));
        const from = dataPath(this.versioning.versionDir(src.bucket, src.key), version.seq);
        await copyFile(from, tmp, fsConstants.COPYFILE_FICLONE);
        await chmod(tmp, FILE_MODE);
        snapshot = version;
      } else {
        snapshot = await this.#copyBytes(src.bucket, src.key, tmp, opts);
      }
      opts.signal?.throwIfAborted();
      let written = await syncFile(tmp);
      let etag = snapshot.etag;
      let checksums = snapshot.checksums;
      let checksumType = snapshot.checksumType;
      let parts = snapshot.parts;
      if (snapshot.parts !== null) {
        // A copy is a single-part object: its ETag is the MD5 of its bytes, and a composite
        // (per-part) checksum no longer describes it.
        etag = (await hashFile(tmp)).md5;
        written = await syncFile(tmp);
        parts = null;
        if (checksumType === 'COMPOSITE') {
          checksums = '{}';
          checksumType = null;
        }
      }
      const replace = opts.replace;
      const content: RowContent = {
        etag,
        lastModified: 0,
        headers: replace ? JSON.stringify(replace.headers) : snapshot.headers,
        metadata: replace ? JSON.stringify(replace.metadata) : snapshot.metadata,
        checksums,
        checksumType,
        parts,
      };
      return await this.#commit(dst.bucket, dst.key, natural, tmp, written, content, opts);
    } catch (err) {
      await unlinkQuiet(tmp);
      throw mapStorageError(err);
    }
  }

  /**
   * Copies the source's bytes to `tmp` and returns the row they belong to. The file is
   * hard-linked under the source key's lock (objects are never modified in place, so the link is
   * a stable snapshot of exactly the row's bytes), then copied with copy-on-write when the file
   * system supports it. Without hard links, the copy runs under the lock.
   */
  async #copyBytes(bucket: string, key: string, tmp: string, opts: CopyOptions): Promise<ObjectRow> {
    const snap = `${tmp}.src`;
    let linked = false;
    let row: ObjectRow | undefined;
    try {
      row = await this.#locks.run(this.#ctx.lockName(bucket, key), async () => {
        const current = this.#index.getObject(bucket, key);
        if (current === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
        opts.sourcePrecondition?.(this.versioning.infoOfRow(current));
        const abs = this.#abs(bucket, current.path);
        try {
          await link(abs, snap);
          linked = true;
        } catch (err) {
          if (MISSING.has(errnoOf(err) ?? '')) throw new S3Error('NoSuchKey', undefined, { Key: key });
          await copyFile(abs, tmp, fsConstants.COPYFILE_FICLONE);
        }
        return current;
      });
      if (linked) await copyFile(snap, tmp, fsConstants.COPYFILE_FICLONE);
      await chmod(tmp, FILE_MODE); // copyFile gives the copy the source's mode
      return row;
    } finally {
      if (linked) await unlinkQuiet(snap);
    }
  }

  /** Self-copy: rewrites the row (metadata, LastModified) without touching the bytes. */
  async #copyInPlace(bucket: string, key: string, opts: CopyOptions): Promise<ObjectInfo> {
    return this.#locks.run(this.#ctx.lockName(bucket, key), () => {
      const current = this.#index.getObject(bucket, key);
      if (current === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
      const info = rowToInfo(current);
      opts.sourcePrecondition?.(info);
      opts.precondition?.(info);
      const replace = opts.replace;
      const row: ObjectRow = {
        ...current,
        lastModified: Date.now(),
        headers: replace ? JSON.stringify(replace.headers) : current.headers,
        metadata: replace ? JSON.stringify(replace.metadata) : current.metadata,
      };
      if (!this.#index.putObject(row)) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
      return rowToInfo(row);
    });
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

  // ---- operations (health, metrics) ------------------------------------------------------

  /**
   * Health probe: a probe file written, fsynced and removed in `.s3local/tmp` (the file system
   * takes writes: not full, not read-only, the directory still there), then the index's write lock
   * taken and released (not locked by another process, not read-only). Messages name the error
   * code, never a path.
   */
  async health(): Promise<void> {
    const probe = join(this.tmpDir, `${this.#tmpPrefix}-health-${(++this.#tmpCounter).toString(36)}`);
    try {
      const fh = await open(probe, 'wx', FILE_MODE);
      try {
        await fh.writeFile('s3local health probe\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await unlink(probe);
    } catch (err) {
      await unlinkQuiet(probe).catch(ignore);
      throw new Error(`the data directory does not take writes (${errnoOf(err) ?? 'error'})`);
    }
    if (!this.#db.open) throw new Error('the index is closed');
    if (this.#db.inTransaction) return; // a write is committing right now: the index is alive
    const previous = this.#db.pragma('busy_timeout', { simple: true }) as number;
    try {
      // Short wait: better-sqlite3 blocks the event loop while it waits for the lock.
      this.#db.pragma('busy_timeout = 100');
      this.#db.exec('BEGIN IMMEDIATE');
      this.#db.exec('ROLLBACK');
    } catch (err) {
      throw new Error(`the index cannot be written (${errnoOf(err) ?? 'error'})`);
    } finally {
      this.#db.pragma(`busy_timeout = ${previous}`);
    }
  }

  /**
   * Objects and bytes per bucket from the index, summed page by page (`pageSize` rows per query)
   * with the event loop free between pages, so a large store never stalls requests.
   */
  async stats(pageSize = 10_000): Promise<BackendStats> {
    const buckets: BackendStats['buckets'] = [];
    for (const bucket of this.#index.listBuckets()) {
      let objects = 0;
      let bytes = 0;
      let after = '';
      for (;;) {
        if (!this.#db.open) throw new Error('the index is closed');
        const page = this.#index.sumObjects(bucket.name, after, pageSize);
        objects += page.count;
        bytes += page.bytes;
        if (page.count < pageSize || page.last === null) break;
        after = page.last;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      buckets.push({ name: bucket.name, objects, bytes });
    }
    const stats: BackendStats = { buckets };
    const uploads = this.#db
      .prepare<[], number>(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'multipart_uploads'",
      )
      .pluck()
      .get();
    if (uploads === 1) {
      stats.multipartUploads =
        this.#db.prepare<[], number>('SELECT count(*) FROM multipart_uploads').pluck().get() ?? 0;
    }
    return stats;
  }

  // ---- maintenance (`s3local cache ...`) ---------------------------------------------------

  /**
   * Rebuilds the index from the files (rebuild.ts): adds files written behind the server's back,
   * re-hashes changed ones, fixes moved ones, drops rows whose file is gone.
   */
  async rebuildIndex(opts: RebuildOptions = {}): Promise<RebuildResult> {
    const result = await rebuildIndex(
      { db: this.#db, index: this.#index, bucketDir: (b) => this.#bucketDir(b) },
      opts,
    );
    result.versionedKeys = await this.#settleAllVersions(result.buckets);
    return result;
  }

  /**
   * `cache rebuild`, second part: every key of the version store is settled and its rows rewritten
   * from its records (versions, delete markers, object lock), and keys with version rows but no
   * records left lose them. Returns how many keys were settled.
   */
  async #settleAllVersions(buckets: readonly string[]): Promise<number> {
    let settled = 0;
    const settleKey = (bucket: string, key: string) =>
      this.#locks.run(this.#ctx.lockName(bucket, key), () => this.versioning.settle(bucket, key));
    for (const bucket of buckets) {
      const root = join(this.root, META_DIR, VERSIONS_DIR, bucket);
      for (const shard of await readdir(root).catch(() => [] as string[])) {
        for (const name of await readdir(join(root, shard)).catch(() => [] as string[])) {
          const key = await keyOfVersionDir(join(root, shard, name));
          if (key === undefined) continue;
          await settleKey(bucket, key);
          settled++;
        }
      }
      let after = '';
      for (let keys = this.#versions.keysAfter(bucket, after, 500); keys.length > 0;) {
        for (const key of keys) await settleKey(bucket, key);
        after = keys.at(-1)!;
        keys = this.#versions.keysAfter(bucket, after, 500);
      }
    }
    return settled;
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
