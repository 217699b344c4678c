/**
 * Versioning and object lock of the local backend
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html).
 *
 * The current version stays the plain file at its key; noncurrent versions and delete markers live
 * in the version store (version-records.ts), mirrored in the index (`objects.version`,
 * `object_versions`). A key enters the version store on its first versioned write; keys of a bucket
 * never versioned cost nothing.
 *
 * Every versioned write runs under the key's lock, records a `versions` intent in the write
 * journal, changes the files in an order that any crash settles to the state before or after
 * (version-settle.ts), then settles the key and rewrites its rows in one commit that also ends the
 * intent. A crash is settled the same way when the store opens.
 *
 * - PUT (Enabled): the current file is hard-linked as its version's data, the new record written,
 *   the new file renamed into place. Suspended: the same with version id `null`, replacing any
 *   null version.
 * - DELETE without a version id: the current file is archived (as above), a delete marker record
 *   written, the plain file removed.
 * - DELETE of a version: its data and record are removed; when it was current, the next version's
 *   data is placed at the key first (or the plain file removed when the next is a delete marker).
 */
import { link, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { S3Error } from '../../s3/errors.js';
import {
  currentVersionOf,
  lockFromStored,
  lockToStored,
  rowToInfo,
  type ObjectIndex,
  type ObjectRow,
} from '../../index/object-index.js';
import type { VersionIndex } from '../../index/version-index.js';
import type { GroupCommit } from '../../index/group-commit.js';
import type { JournalEntry, WriteJournal } from '../../index/write-journal.js';
import type {
  BucketVersioningConfig,
  ByteRange,
  DefaultRetention,
  DeleteResult,
  ObjectInfo,
  ObjectLockState,
  VersioningStatus,
  VersioningStore,
  VersionListOptions,
  VersionPage,
  VersionSelector,
} from '../backend.js';
import type { BucketConfigs } from './bucket-config.js';
import { errnoOf, fsyncDir } from './fs-ops.js';
import type { KeyedMutex } from './keyed-mutex.js';
import { keyToPath } from './key-path.js';
import { placeFile } from './placement.js';
import { listVersions } from './version-listing.js';
import {
  assertVersionIdFormat,
  deleteMarkerHeaders,
  recordOfRow,
  recordToInfo,
  rowOfRecord,
} from './version-format.js';
import { removePlain, settleKeyVersions, type SettleContext, type SettledKey } from './version-settle.js';
import {
  dataPath,
  readKeyVersions,
  removeVersionFiles,
  writeRecord,
  type VersionRecord,
} from './version-records.js';

/** What versioning needs of the local backend. */
export interface VersioningContext extends SettleContext {
  index: ObjectIndex;
  versions: VersionIndex;
  journal: WriteJournal;
  commits: GroupCommit;
  configs: BucketConfigs;
  locks: KeyedMutex;
  lockName(bucket: string, key: string): string;
  /** NoSuchBucket when absent. */
  requireBucket(bucket: string): void;
}

/** The fields of a new version other than its id, order and place. */
export type VersionContent = Pick<
  VersionRecord,
  | 'size'
  | 'mtimeNs'
  | 'ino'
  | 'etag'
  | 'headers'
  | 'metadata'
  | 'checksums'
  | 'checksumType'
  | 'parts'
  | 'tags'
>;

/** AccessDenied unless the lock of `lock` lets the version be deleted now. */
export function assertDeletable(lock: ObjectLockState | undefined, bypassGovernance: boolean): void {
  if (lock?.legalHold) {
    throw new S3Error('AccessDenied', 'Access Denied because object protected by object lock.');
  }
  if (lock?.retainUntil !== undefined && lock.retainUntil.getTime() > Date.now()) {
    if (lock.mode === 'COMPLIANCE' || !bypassGovernance) {
      throw new S3Error('AccessDenied', 'Access Denied because object protected by object lock.');
    }
  }
}

/** Versioning of one local store. */
export class LocalVersioning implements VersioningStore {
  readonly #ctx: VersioningContext;

  constructor(ctx: VersioningContext) {
    this.#ctx = ctx;
  }

  // ---- bucket settings --------------------------------------------------------------------

  getBucketConfig(bucket: string): Promise<BucketVersioningConfig> {
    return Promise.resolve().then(() => {
      this.#ctx.requireBucket(bucket);
      return this.#ctx.configs.get(bucket);
    });
  }

  async setBucketVersioning(bucket: string, status: VersioningStatus): Promise<void> {
    this.#ctx.requireBucket(bucket);
    const config = this.#ctx.configs.get(bucket);
    if (config.objectLock && status !== 'Enabled') {
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html: "you can't
      // suspend versioning for a bucket that has Object Lock enabled".
      throw new S3Error(
        'InvalidBucketState',
        'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
      );
    }
    await this.#ctx.configs.set(bucket, { ...config, status });
  }

  async setObjectLockConfig(bucket: string, defaultRetention: DefaultRetention | undefined): Promise<void> {
    this.#ctx.requireBucket(bucket);
    const config = this.#ctx.configs.get(bucket);
    if (config.status !== 'Enabled') {
      throw new S3Error(
        'InvalidBucketState',
        'Versioning must be enabled on the bucket to enable Object Lock.',
      );
    }
    const next: BucketVersioningConfig = { status: 'Enabled', objectLock: true };
    if (defaultRetention !== undefined) next.defaultRetention = defaultRetention;
    await this.#ctx.configs.set(bucket, next);
  }

  /** Enables object lock on a new bucket (CreateBucket with x-amz-bucket-object-lock-enabled). */
  async enableObjectLockOnCreate(bucket: string): Promise<void> {
    await this.#ctx.configs.set(bucket, { status: 'Enabled', objectLock: true });
  }

  // ---- which path a write takes -------------------------------------------------------------

  /**
   * True when a PUT of `key` must go through the version store: versioning Enabled, or Suspended
   * with versions of the key already stored (a suspended PUT over an unversioned key is a plain
   * overwrite of the null version, exactly what the unversioned path does).
   */
  putIsVersioned(bucket: string, key: string, current: ObjectRow | undefined): boolean {
    const status = this.#ctx.configs.get(bucket).status;
    if (status === undefined) return false;
    return status === 'Enabled' || !!current?.version || this.#ctx.versions.hasKey(bucket, key);
  }

  /** True when a DELETE without version id adds a delete marker (any bucket ever versioned). */
  deleteIsVersioned(bucket: string): boolean {
    return this.#ctx.configs.isVersioned(bucket);
  }

  // ---- versioned writes (the caller holds the key's lock) -----------------------------------

  /**
   * Commits the fsynced temp file `tmp` as a new version of `key` (see the module comment) and
   * returns its info. `precondition` has already run.
   */
  async commitPut(
    bucket: string,
    key: string,
    natural: string,
    tmp: string,
    content: VersionContent,
    lock: ObjectLockState | undefined,
  ): Promise<ObjectInfo> {
    const status = this.#ctx.configs.get(bucket).status;
    const current = this.#ctx.index.getObject(bucket, key);
    const rec = await this.#change(bucket, key, async (_dir, files) => {
      await this.#archiveCurrent(bucket, key, current, files, status === 'Suspended');
      const stored = lockToStored(lock);
      const rec = await this.#writeNewVersion(files, key, status, {
        deleteMarker: false,
        ...content,
        ...(stored !== undefined ? { lock: stored } : {}),
      });
      const root = this.#ctx.bucketDir(bucket);
      const path = await placeFile(this.#ctx.placement, bucket, natural, tmp, current?.path);
      await fsyncDir(dirname(`${root}/${path}`));
      return rec;
    });
    return recordToInfo(rec);
  }

  /** DELETE without a version id: a delete marker (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeleteMarker.html). */
  async commitDelete(bucket: string, key: string): Promise<DeleteResult> {
    const status = this.#ctx.configs.get(bucket).status;
    const current = this.#ctx.index.getObject(bucket, key);
    const marker = await this.#change(bucket, key, async (_dir, files) => {
      await this.#archiveCurrent(bucket, key, current, files, status === 'Suspended');
      const rec = await this.#writeNewVersion(files, key, status, {
        deleteMarker: true,
        size: 0,
        mtimeNs: '0',
        etag: '',
        headers: '{}',
        metadata: '{}',
        checksums: '{}',
        checksumType: null,
        parts: null,
      });
      if (current !== undefined) await removePlain(this.#ctx.bucketDir(bucket), current.path);
      return rec;
    });
    return { deleteMarker: true, versionId: marker.versionId };
  }

  /**
   * DELETE of one version (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html):
   * removed for good, unless its object lock forbids it (AccessDenied). Deleting the current
   * version makes the next one current. An unknown version id is a no-op, as for absent keys.
   * Returns undefined when the key is an unversioned one and `null` was asked for: the caller
   * deletes it the unversioned way.
   */
  async deleteVersion(
    bucket: string,
    key: string,
    versionId: string,
    bypassGovernance: boolean,
  ): Promise<DeleteResult | undefined> {
    assertVersionIdFormat(versionId);
    const current = this.#ctx.index.getObject(bucket, key);
    const currentVersion = current && currentVersionOf(current);
    if (current !== undefined && currentVersion === undefined && !this.#ctx.versions.hasKey(bucket, key)) {
      return versionId === 'null' ? undefined : { versionId };
    }
    const isCurrent = current !== undefined && (currentVersion?.id ?? 'null') === versionId;
    const target = isCurrent ? undefined : this.#ctx.versions.byId(bucket, key, versionId);
    if (!isCurrent && target === undefined) return { versionId };
    const lock = isCurrent ? rowToInfo(current).lock : lockFromStored(target?.lock);
    assertDeletable(lock, bypassGovernance);
    const removed = await this.#change(bucket, key, async (dir, files) => {
      if (!isCurrent) {
        await removeVersionFiles(dir, target!.seq);
        return target!;
      }
      const rec = files.records.find((r) => r.versionId === versionId);
      const next = files.records.find((r) => r !== rec && r.versionId !== versionId);
      const root = this.#ctx.bucketDir(bucket);
      if (next !== undefined && !next.deleteMarker && files.data.has(next.seq)) {
        const tmp = this.#ctx.tempPath();
        await link(dataPath(dir, next.seq), tmp);
        const path = await placeFile(this.#ctx.placement, bucket, keyToPath(key), tmp, current.path);
        await fsyncDir(dirname(`${root}/${path}`));
      } else {
        await removePlain(root, current.path);
      }
      if (rec !== undefined) await removeVersionFiles(dir, rec.seq);
      return rec ?? recordOfRow(current, versionId, currentVersion?.seq ?? 0);
    });
    const result: DeleteResult = { versionId };
    if (removed.deleteMarker) result.deleteMarker = true;
    return result;
  }

  /**
   * Replaces the lock of one version (PutObjectRetention / PutObjectLegalHold) through `update`,
   * which may refuse (throw). The record on disk is rewritten, then the rows.
   */
  updateObjectLock(
    bucket: string,
    key: string,
    version: VersionSelector,
    update: (current: ObjectLockState, info: ObjectInfo) => ObjectLockState,
  ): Promise<string> {
    return this.updateVersion(bucket, key, version, (info) => {
      const stored = lockToStored(update(info.lock ?? {}, info));
      return (rec) => {
        const updated: VersionRecord = { ...rec };
        delete updated.lock;
        if (stored !== undefined) updated.lock = stored;
        return updated;
      };
    });
  }

  /**
   * Rewrites the record of one version, under the key's lock: `update` sees the version (and may
   * refuse: throw) and returns the change of its record, written to disk, then the rows. A current version without a record (written before
   * versioning) gets one. Object lock and tag changes (PutObjectTagging) use it. Returns the
   * version id.
   */
  async updateVersion(
    bucket: string,
    key: string,
    version: VersionSelector,
    update: (info: ObjectInfo) => (rec: VersionRecord) => VersionRecord,
  ): Promise<string> {
    this.#ctx.requireBucket(bucket);
    if (version.versionId !== undefined) assertVersionIdFormat(version.versionId);
    return this.#ctx.locks.run(this.#ctx.lockName(bucket, key), async () => {
      const { info } = this.findVersion(bucket, key, version);
      const change = update(info);
      const versionId = info.versionId ?? 'null';
      await this.#change(bucket, key, async (dir, files) => {
        let rec = files.records.find((r) => r.versionId === versionId);
        if (rec === undefined) {
          const row = this.#ctx.index.getObject(bucket, key);
          if (row === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
          rec = recordOfRow(row, versionId, this.#ctx.nextSeq(files.records[0]?.seq ?? 0));
        }
        const updated = change(rec);
        await writeRecord(dir, updated);
        return updated;
      });
      return versionId;
    });
  }

  // ---- reads --------------------------------------------------------------------------------

  /**
   * The version asked for: `{ row }` when it is the current version (read through the objects
   * index as usual), else `{ record }` of a noncurrent version. NoSuchVersion when unknown,
   * MethodNotAllowed for a delete marker (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
   */
  findVersion(
    bucket: string,
    key: string,
    sel: VersionSelector,
  ): { info: ObjectInfo; row?: ObjectRow; record?: VersionRecord } {
    const row = this.#ctx.index.getObject(bucket, key);
    if (sel.versionId === undefined) {
      if (row !== undefined) return { info: this.infoOfRow(row), row };
      const newest = this.#ctx.versions.newest(bucket, key);
      if (newest?.deleteMarker) {
        throw new S3Error('NoSuchKey', undefined, { Key: key }, deleteMarkerHeaders(newest));
      }
      throw new S3Error('NoSuchKey', undefined, { Key: key });
    }
    assertVersionIdFormat(sel.versionId);
    if (row !== undefined && (currentVersionOf(row)?.id ?? 'null') === sel.versionId) {
      return { info: this.infoOfRow(row), row };
    }
    const record = this.#ctx.versions.byId(bucket, key, sel.versionId);
    if (record === undefined) {
      throw new S3Error('NoSuchVersion', undefined, { Key: key, VersionId: sel.versionId });
    }
    if (record.deleteMarker) {
      throw new S3Error(
        'MethodNotAllowed',
        undefined,
        { Method: 'GET', ResourceType: 'DeleteMarker' },
        { ...deleteMarkerHeaders(record), allow: 'DELETE' },
      );
    }
    return { info: recordToInfo(record), record };
  }

  /** The row's info, with version id `null` for an unversioned object of a versioned bucket. */
  infoOfRow(row: ObjectRow): ObjectInfo {
    const info = rowToInfo(row);
    if (info.versionId === undefined && this.#ctx.configs.isVersioned(row.bucket)) info.versionId = 'null';
    return info;
  }

  /** Opens the data of a noncurrent version (a range of it when given). */
  async openVersion(bucket: string, record: VersionRecord, range: ByteRange | undefined): Promise<Readable> {
    const dir = this.#ctx.versionDir(bucket, record.key);
    let fh;
    try {
      fh = await open(dataPath(dir, record.seq), 'r');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') {
        throw new S3Error('NoSuchVersion', undefined, { Key: record.key, VersionId: record.versionId });
      }
      throw err;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? record.size - 1;
    if (end < start) {
      await fh.close();
      return Readable.from([]);
    }
    return fh.createReadStream({ start, end, highWaterMark: 1 << 20 });
  }

  // ---- listing --------------------------------------------------------------------------------

  /** ListObjectVersions (version-listing.ts). */
  listObjectVersions(bucket: string, opts: VersionListOptions): Promise<VersionPage> {
    return Promise.resolve().then(() => {
      this.#ctx.requireBucket(bucket);
      return listVersions(
        { index: this.#ctx.index, versions: this.#ctx.versions, infoOfRow: (row) => this.infoOfRow(row) },
        bucket,
        opts,
      );
    });
  }

  // ---- the common frame of a versioned write --------------------------------------------------

  /**
   * Runs `change` (file steps) on the key's version directory under a `versions` intent, then
   * settles the key and commits its rows with the end of the intent. Returns what `change`
   * returned. On failure the key is settled as recovery would (the intent stays if that fails).
   */
  async #change<T>(
    bucket: string,
    key: string,
    change: (dir: string, files: Awaited<ReturnType<typeof readKeyVersions>>) => Promise<T>,
  ): Promise<T> {
    this.#ctx.requireBucket(bucket);
    const intent = this.#ctx.journal.beginVersions(bucket, key);
    const dir = this.#ctx.versionDir(bucket, key);
    try {
      const files = await readKeyVersions(dir, key);
      const result = await change(dir, files);
      await this.settle(bucket, key, intent);
      return result;
    } catch (err) {
      try {
        await this.settle(bucket, key, intent);
      } catch {
        // left in the journal for the next open
      }
      throw err;
    }
  }

  /**
   * Writes the record of a new version or delete marker, newer than every version of the key:
   * a fresh version id when versioning is Enabled, `null` when Suspended.
   */
  async #writeNewVersion(
    files: Awaited<ReturnType<typeof readKeyVersions>>,
    key: string,
    status: VersioningStatus | undefined,
    fields: Omit<VersionRecord, 'key' | 'versionId' | 'seq' | 'lastModified'>,
  ): Promise<VersionRecord> {
    const seq = this.#ctx.nextSeq(files.records[0]?.seq ?? 0);
    const versionId = status === 'Enabled' ? this.#ctx.newVersionId(seq) : 'null';
    const rec: VersionRecord = { key, versionId, seq, lastModified: Date.now(), ...fields };
    await writeRecord(files.dir, rec);
    return rec;
  }

  /**
   * Before a new version or delete marker: the current version (if any) gets a record (an object
   * written before versioning has none) and, unless it is the null version about to be replaced
   * (`replacingNull`), its file is hard-linked as its version's data.
   */
  async #archiveCurrent(
    bucket: string,
    key: string,
    current: ObjectRow | undefined,
    files: Awaited<ReturnType<typeof readKeyVersions>>,
    replacingNull: boolean,
  ): Promise<boolean> {
    if (current === undefined) return false;
    const version = currentVersionOf(current);
    let rec = version && files.records.find((r) => r.seq === version.seq);
    if (rec === undefined) {
      const seq = version?.seq ?? this.#ctx.nextSeq(files.records[0]?.seq ?? 0);
      rec = recordOfRow(current, version?.id ?? 'null', seq);
      const st = await stat(`${this.#ctx.bucketDir(bucket)}/${current.path}`, { bigint: true }).catch(
        () => undefined,
      );
      if (st !== undefined) rec.ino = String(st.ino);
      await writeRecord(files.dir, rec);
      files.records.unshift(rec);
    }
    if (replacingNull && rec.versionId === 'null') return false;
    if (!files.data.has(rec.seq)) {
      try {
        await link(`${this.#ctx.bucketDir(bucket)}/${current.path}`, dataPath(files.dir, rec.seq));
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw err;
      }
      await fsyncDir(files.dir);
      files.data.add(rec.seq);
    }
    return true;
  }

  /**
   * Settles the key (version-settle.ts) and rewrites its rows: the current version in `objects`
   * (with its version JSON), the others in `object_versions`; ends `intent` in the same commit.
   */
  async settle(bucket: string, key: string, intent?: JournalEntry): Promise<SettledKey | undefined> {
    const preferred = this.#ctx.index.getObject(bucket, key)?.path;
    const settled = await settleKeyVersions(this, bucket, key, preferred);
    // No records (left): an unversioned key. A row that still speaks of a version keeps its
    // object only if its file is still there (else the last version was just deleted).
    const stale = settled === undefined ? this.#ctx.index.getObject(bucket, key) : undefined;
    const fileLeft =
      stale?.version &&
      (await stat(`${this.#ctx.bucketDir(bucket)}/${stale.path}`).then(
        (st) => st.isFile(),
        () => false,
      ));
    await this.#ctx.commits.run(() => {
      if (settled === undefined) {
        this.#ctx.versions.replaceKey(bucket, key, []);
        if (stale?.version && fileLeft) this.#ctx.index.putObject({ ...stale, version: null });
        else if (stale?.version) this.#ctx.index.deleteObject(bucket, key);
      } else {
        this.#ctx.versions.replaceKey(bucket, key, settled.noncurrent);
        if (settled.current === undefined) {
          this.#ctx.index.deleteObject(bucket, key);
        } else {
          const { record, path } = settled.current;
          this.#ctx.index.putObject(rowOfRecord(bucket, key, path, record));
        }
      }
      if (intent !== undefined) this.#ctx.journal.end(intent);
    });
    return settled;
  }

  // SettleContext, delegated (settleKeyVersions receives this object).
  get placement(): SettleContext['placement'] {
    return this.#ctx.placement;
  }
  bucketDir(bucket: string): string {
    return this.#ctx.bucketDir(bucket);
  }
  versionDir(bucket: string, key: string): string {
    return this.#ctx.versionDir(bucket, key);
  }
  tempPath(): string {
    return this.#ctx.tempPath();
  }
  newVersionId(seq: number): string {
    return this.#ctx.newVersionId(seq);
  }
  nextSeq(floor: number): number {
    return this.#ctx.nextSeq(floor);
  }
}
