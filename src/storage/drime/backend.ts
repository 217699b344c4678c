/**
 * The Drime Cloud storage backend (DESIGN §3, docs/drime.md). Buckets are the workspace root or
 * `rootFolder` (default mode: the single bucket `default`) or folders under it (advanced mode);
 * keys are folder paths plus a file name (names.ts). Bytes are spooled to a private directory and
 * uploaded only after the body ended cleanly; the MD5 ETag, headers, metadata and checksums live in
 * a local SQLite index validated by the entry's storage name. Drime errors become S3 errors here.
 */
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type Database from 'better-sqlite3';
import { S3Error } from '../../s3/errors.js';
import type { Checksums, ObjectBody } from '../../s3/body.js';
import type {
  BucketInfo,
  ByteRange,
  CopyOptions,
  DeleteBucketOptions,
  DeleteOptions,
  ListOptions,
  ListPage,
  ObjectInfo,
  PutOptions,
  StorageBackend,
} from '../backend.js';
import { DrimeClient, type DrimeClientOptions } from './client.js';
import { openDownload } from './download.js';
import { DrimeError, toS3Error } from './errors.js';
import { FolderTree, type FolderIds } from './folders.js';
import { KeyedLock } from './keyed-lock.js';
import { listObjects, type ListSource } from './listing.js';
import { cleanupIndex, migrateMd5, type MigrateProgress, type MigrateResult } from './maintenance.js';
import { decodeName, foldName, parseKey, type KeyPath } from './names.js';
import { DrimeIndex } from './object-index.js';
import { objectInfo, recordValid, type UploadPolicy } from './objects.js';
import { Retirer } from './retirer.js';
import { prepareSpoolDir, spool } from './spool.js';
import { isFolder, newestFirst, type DrimeEntry } from './types.js';
import { checksumOfEntry, commitCopy, commitPut, type WriteContext, type WriteMeta } from './writes.js';
import { openDrimeMultipart } from './multipart-uploads.js';
import type { StagedMultipart } from '../multipart-staging.js';

export interface DrimeBackendOptions {
  apiKey: string;
  /** 0: the personal space. */
  workspaceId: number;
  /** Default: DRIME_API_URL, else https://app.drime.cloud/api/v1. */
  apiUrl?: string;
  /** A folder path (`backups/s3`) that becomes the S3 root; created when missing. */
  rootFolder?: string;
  /** Advanced mode: buckets are folders under the root. Default mode: one bucket, `default`. */
  advanced: boolean;
  /** What DeleteObject does (default `trash`). */
  deleteMode?: 'trash' | 'permanent';
  /** SQLite file for the ETag/metadata index. */
  indexPath: string;
  /** Private directory for spooled bodies (created mode 0700). */
  spoolDir: string;
  /** Objects up to this size use one upload request (default 30 MiB). */
  simpleUploadMaxBytes?: number;
  /** Preferred part size of Drime multipart uploads (default 32 MiB; at least 5 MiB). */
  partSizeBytes?: number;
  /** How long a resolved folder id is trusted without re-listing (default 30 s). */
  folderCacheTtlMs?: number;
  /** How long a folder listing is reused, kept current by our own writes (default 10 s; 0: never). */
  listingCacheTtlMs?: number;
  /** Grace period before an overwritten entry is deleted (default 30 s; 0: at once). */
  retireDelayMs?: number;
  /** Staged S3 multipart parts and their state (default: `multipart/` beside indexPath). */
  uploadsDir?: string;
  /** Abandoned multipart uploads are removed after this many ms (default 7 days). */
  multipartExpiryMs?: number;
  /** How long a completed multipart upload is remembered for a repeated Complete (default 24 h; 0: not). */
  completedUploadTtlMs?: number;
  /** Client tuning: retries, concurrency, timeouts, page size, test hooks. */
  client?: Omit<DrimeClientOptions, 'apiKey' | 'workspaceId' | 'apiUrl'>;
}

const MiB = 1024 * 1024;
const DEFAULT_BUCKET = 'default';
/** S3 bucket naming rules; other folders under the root are not listed as buckets. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Where a key lives right now. */
interface Located {
  kp: KeyPath;
  base: FolderIds;
  /** The key's folder(s); undefined when the folder path does not exist. */
  dirIds?: FolderIds;
  /** Every file entry standing for the key, newest first. */
  same: DrimeEntry[];
}

export class DrimeBackend implements StorageBackend {
  readonly kind = 'drime';
  private readonly locks = new KeyedLock();
  private readonly w: WriteContext;
  private readonly retirer: Retirer;
  /** S3 multipart uploads, staged locally (multipart-uploads.ts); set by {@link DrimeBackend.open}. */
  multipart!: StagedMultipart;
  private multipartDb: Database.Database | undefined;

  private constructor(
    readonly client: DrimeClient,
    private readonly index: DrimeIndex,
    private readonly tree: FolderTree,
    private readonly rootId: number | null,
    private readonly rootCreated: Date,
    private readonly advanced: boolean,
    readonly spoolDir: string,
    permanent: boolean,
    policy: UploadPolicy,
    retireDelayMs: number,
  ) {
    const ws = client.workspaceId;
    this.retirer = new Retirer(client, tree.listings, permanent, retireDelayMs, (ids) =>
      index.delete(ws, ids),
    );
    this.w = { client, tree, index, ws, spoolDir, permanent, policy, retire: (e) => this.retirer.retire(e) };
  }

  /** Checks the token (`/cli/loggedUser`), opens the index and resolves (creates) the root folder. */
  static async open(opts: DrimeBackendOptions): Promise<DrimeBackend> {
    const client = new DrimeClient({
      ...opts.client,
      apiKey: opts.apiKey,
      workspaceId: opts.workspaceId,
      ...(opts.apiUrl !== undefined ? { apiUrl: opts.apiUrl } : {}),
    });
    try {
      await client.loggedUser();
      await prepareSpoolDir(opts.spoolDir);
    } catch (err) {
      throw toS3Error(err);
    }
    const index = DrimeIndex.open(opts.indexPath);
    try {
      const tree = new FolderTree(client, opts.folderCacheTtlMs, opts.listingCacheTtlMs);
      const rootDirs = (opts.rootFolder ?? '').split('/').filter((s) => s !== '');
      const rootId = rootDirs.length ? await tree.ensure([null], rootDirs, opts.rootFolder ?? '') : null;
      const metaKey = `root-created:${rootId ?? 'root'}`;
      let created = Number(index.getMeta(opts.workspaceId, metaKey));
      if (!Number.isFinite(created) || created <= 0) {
        created = Date.now();
        index.setMeta(opts.workspaceId, metaKey, String(created));
      }
      const backend = new DrimeBackend(
        client,
        index,
        tree,
        rootId,
        new Date(created),
        opts.advanced,
        opts.spoolDir,
        opts.deleteMode === 'permanent',
        {
          simpleMaxBytes: opts.simpleUploadMaxBytes ?? 30 * MiB,
          partSizeBytes: opts.partSizeBytes ?? 32 * MiB,
        },
        opts.retireDelayMs ?? 30_000,
      );
      const mp = await openDrimeMultipart(backend, {
        dir: opts.uploadsDir ?? join(dirname(opts.indexPath), 'multipart'),
        ...(opts.multipartExpiryMs !== undefined ? { expiryMs: opts.multipartExpiryMs } : {}),
        ...(opts.completedUploadTtlMs !== undefined
          ? { completedUploadTtlMs: opts.completedUploadTtlMs }
          : {}),
        requireBucket: async (bucket) => {
          try {
            await backend.bucketIds(bucket);
          } catch (err) {
            throw toS3Error(err, 'NoSuchBucket');
          }
        },
      });
      backend.multipart = mp.store;
      backend.multipartDb = mp.db;
      return backend;
    } catch (err) {
      index.close();
      throw toS3Error(err);
    }
  }

  // ---- buckets ----

  /** The folder ids a bucket maps to; NoSuchBucket when it does not exist. */
  private async bucketIds(bucket: string, signal?: AbortSignal): Promise<FolderIds> {
    if (!this.advanced) {
      if (bucket === DEFAULT_BUCKET) return [this.rootId];
      throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
    }
    const ids = await this.tree.resolve([this.rootId], [bucket], signal);
    if (!ids) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
    return ids;
  }

  /** Bucket folders under the root by (decoded) name, with their creation dates. */
  private async bucketFolders(): Promise<Map<string, { ids: number[]; created: Date }>> {
    const out = new Map<string, { ids: number[]; created: Date }>();
    for (const e of await this.client.listChildren(this.rootId)) {
      if (!isFolder(e)) continue;
      const name = decodeName(e.name);
      const cur = out.get(name);
      if (!cur) out.set(name, { ids: [e.id], created: e.createdAt });
      else {
        cur.ids.push(e.id);
        if (e.createdAt < cur.created) cur.created = e.createdAt;
      }
    }
    return out;
  }

  async listBuckets(): Promise<BucketInfo[]> {
    if (!this.advanced) return [{ name: DEFAULT_BUCKET, creationDate: this.rootCreated }];
    try {
      const folders = await this.bucketFolders();
      return [...folders]
        .filter(([name]) => BUCKET_NAME.test(name))
        .map(([name, f]) => ({ name, creationDate: f.created }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      throw toS3Error(err);
    }
  }

  async createBucket(bucket: string): Promise<void> {
    if (!this.advanced) {
      if (bucket === DEFAULT_BUCKET)
        throw new S3Error('BucketAlreadyOwnedByYou', undefined, { BucketName: bucket });
      throw new S3Error(
        'InvalidArgument',
        `Only the bucket "${DEFAULT_BUCKET}" exists in default bucket mode.`,
      );
    }
    await this.locks.run(`bucket\u0000${foldName(bucket)}`, async () => {
      try {
        if ((await this.bucketFolders()).has(bucket)) {
          throw new S3Error('BucketAlreadyOwnedByYou', undefined, { BucketName: bucket });
        }
        this.tree.invalidate([this.rootId], [bucket]);
        await this.tree.ensure([this.rootId], [bucket], bucket);
      } catch (err) {
        throw toS3Error(err);
      }
    });
  }

  async headBucket(bucket: string): Promise<BucketInfo> {
    if (!this.advanced) {
      await this.bucketIds(bucket);
      return { name: bucket, creationDate: this.rootCreated };
    }
    try {
      const f = (await this.bucketFolders()).get(bucket);
      if (!f) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
      return { name: bucket, creationDate: f.created };
    } catch (err) {
      throw toS3Error(err);
    }
  }

  /**
   * Refuses a bucket holding any object; otherwise removes its folder and aborts its multipart
   * uploads (StorageBackend.deleteBucket). In default mode (and with `keep`) the bucket is the root,
   * which stays: only the uploads go.
   *
   * The check and the folder removal run with the bucket's uploads held (multipart-staging.ts
   * abortBucketUploads): no upload is created, completed or given a part meanwhile. The folder goes
   * first, the upload rows after: a failed removal leaves the uploads; a crash between the two
   * leaves uploads of a missing bucket, removed after `--multipart-expiry`.
   */
  async deleteBucket(bucket: string, opts: DeleteBucketOptions = {}): Promise<void> {
    try {
      await this.multipart.abortBucketUploads(bucket, {
        before: async () => {
          this.tree.invalidate([this.rootId], [bucket]);
          const ids = await this.bucketIds(bucket);
          const probe = await listObjects(this.listSource(), ids, {
            prefix: '',
            delimiter: '',
            after: '',
            maxKeys: 0,
          });
          if (probe.isTruncated) throw new S3Error('BucketNotEmpty', undefined, { BucketName: bucket });
          // Default mode: the bucket is the root itself, which stays (it holds nothing).
          if (!this.advanced || opts.keep) return;
          await this.client.deleteEntries(
            ids.filter((id): id is number => id !== null),
            this.w.permanent,
          );
          this.tree.invalidate([this.rootId], [bucket]);
          this.tree.listings.invalidate(this.rootId);
        },
      });
    } catch (err) {
      throw toS3Error(err, 'NoSuchBucket');
    }
  }

  // ---- objects ----

  private lockKey(bucket: string, kp: KeyPath): string {
    return JSON.stringify([bucket, kp.dirs, foldName(kp.name)]);
  }

  private async locate(bucket: string, key: string, signal?: AbortSignal): Promise<Located> {
    const kp = parseKey(key);
    const base = await this.bucketIds(bucket, signal);
    const dirIds = kp.dirs.length ? await this.tree.resolve(base, kp.dirs, signal) : base;
    if (!dirIds) return { kp, base, same: [] };
    const same = (await this.tree.children(dirIds, signal))
      .filter((e) => !isFolder(e) && decodeName(e.name) === kp.name)
      .sort(newestFirst);
    return { kp, base, dirIds, same };
  }

  /**
   * The current entry of a key and its info. A write of the key in progress here may already be
   * visible on Drime before its index record is written: then wait for it and look again, so a
   * reader never pairs new bytes with an old (or fallback) ETag.
   */
  private async current(
    bucket: string,
    key: string,
    signal?: AbortSignal,
  ): Promise<{ loc: Located; e?: DrimeEntry; info?: ObjectInfo }> {
    const lock = this.lockKey(bucket, parseKey(key));
    for (let attempt = 0; ; attempt++) {
      const loc = await this.locate(bucket, key, signal);
      const e = loc.same[0];
      if (!e) return { loc };
      const rec = this.index.get(this.w.ws, e.id);
      if (!recordValid(e, rec) && this.locks.isHeld(lock) && attempt < 3) {
        await this.locks.settled(lock);
        continue;
      }
      return { loc, e, info: objectInfo(key, e, rec) };
    }
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo> {
    try {
      const { info } = await this.current(bucket, key);
      if (!info) throw new S3Error('NoSuchKey', undefined, { Key: key });
      return info;
    } catch (err) {
      throw toS3Error(err, 'NoSuchKey');
    }
  }

  async getObject(
    bucket: string,
    key: string,
    opts: { range?: ByteRange; signal?: AbortSignal } = {},
  ): Promise<{ info: ObjectInfo; body: Readable }> {
    try {
      // The entry may be replaced between the listing and the download: look again then.
      for (let attempt = 0; ; attempt++) {
        const { loc, e, info } = await this.current(bucket, key, opts.signal);
        if (!e || !info) throw new S3Error('NoSuchKey', undefined, { Key: key });
        if (e.fileSize === 0) return { info, body: Readable.from([]) };
        try {
          const body = await openDownload(
            this.client,
            { hash: e.hash, size: e.fileSize, name: e.name, fileName: e.fileName },
            opts.range,
            opts.signal,
          );
          return { info, body };
        } catch (err) {
          if (!(err instanceof DrimeError) || err.kind !== 'gone' || attempt >= 5) throw err;
          // Our cached listing is behind the server: fetch it again (and let a local write finish).
          for (const id of loc.dirIds ?? []) this.tree.listings.invalidate(id);
          await this.locks.settled(this.lockKey(bucket, loc.kp));
        }
      }
    } catch (err) {
      throw toS3Error(err, 'NoSuchKey');
    }
  }

  async putObject(bucket: string, key: string, body: ObjectBody, opts: PutOptions): Promise<ObjectInfo> {
    // The body may fail (a digest mismatch) before we start reading it: keep that error for later
    // instead of letting it go unhandled.
    let early: unknown;
    const onError = (err: unknown): void => {
      early ??= err;
    };
    body.stream.on('error', onError);
    try {
      return await this.put(bucket, key, body, opts, () => early);
    } finally {
      body.stream.off('error', onError);
    }
  }

  private async put(
    bucket: string,
    key: string,
    body: ObjectBody,
    opts: PutOptions,
    early: () => unknown,
  ): Promise<ObjectInfo> {
    opts.signal?.throwIfAborted();
    const kp = parseKey(key);
    let base: FolderIds;
    try {
      base = await this.bucketIds(bucket, opts.signal);
    } catch (err) {
      throw toS3Error(err, 'NoSuchBucket');
    }
    let spooled;
    try {
      spooled = await spool(this.spoolDir, body.stream, opts.signal);
    } catch (err) {
      throw early() ?? err;
    }
    try {
      const digests = body.digests();
      // CompleteMultipartUpload passes the multipart ETag, part layout and checksum type.
      const meta: WriteMeta = {
        etag: opts.etag ?? digests.md5,
        headers: opts.headers,
        metadata: opts.metadata,
        checksums: digests.checksums,
      };
      if (opts.parts) meta.parts = opts.parts.sizes;
      if (opts.checksumType) meta.checksumType = opts.checksumType;
      return await this.locks.run(this.lockKey(bucket, kp), () =>
        commitPut(this.w, { key, kp, base }, spooled, meta, opts.precondition, opts.signal),
      );
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw toS3Error(err);
    } finally {
      await spooled.remove();
    }
  }

  async deleteObject(bucket: string, key: string, opts: DeleteOptions = {}): Promise<void> {
    try {
      const kp = parseKey(key);
      await this.locks.run(this.lockKey(bucket, kp), async () => {
        // Every entry standing for the key: the current one and any it superseded that still wait
        // for their deferred deletion (retirer.ts). The listing cache mirrors Drime, so they are
        // all here, and all of them go now: a DELETE that answered leaves nothing to list again.
        const same = (await this.locate(bucket, key)).same;
        // A conditional delete sees the newest entry, as a read does; our own writes of the key
        // hold this lock, so its index record is written.
        const current = same[0];
        opts.precondition?.(current && objectInfo(key, current, this.index.get(this.w.ws, current.id)));
        const ids = same.map((e) => e.id);
        if (ids.length === 0) return;
        // Ids deleted meanwhile by someone else are skipped (deleteEach); the cache forgets the
        // entries once Drime deleted them.
        await this.tree.listings.removing(same, () => this.client.deleteEach(ids, this.w.permanent));
        this.retirer.forget(ids);
        this.index.delete(this.w.ws, ids);
      });
    } catch (err) {
      if (err instanceof S3Error && err.code === 'KeyTooLongError') {
        await this.bucketIds(bucket);
        opts.precondition?.(undefined); // such a key cannot exist
        return;
      }
      throw toS3Error(err, 'NoSuchBucket');
    }
  }

  async copyObject(
    src: { bucket: string; key: string },
    dst: { bucket: string; key: string },
    opts: CopyOptions,
  ): Promise<ObjectInfo> {
    opts.signal?.throwIfAborted();
    try {
      const from = (await this.locate(src.bucket, src.key, opts.signal)).same[0];
      if (!from) throw new S3Error('NoSuchKey', undefined, { Key: src.key });
      const rec = this.index.get(this.w.ws, from.id);
      const srcInfo = objectInfo(src.key, from, rec);
      opts.sourcePrecondition?.(srcInfo);
      const kp = parseKey(dst.key);
      const base = await this.bucketIds(dst.bucket, opts.signal);
      // x-amz-checksum-algorithm: the source's FULL_OBJECT value of it, else one computed from its
      // bytes (streamed before the destination's lock is taken).
      const algorithm = opts.checksumAlgorithm;
      let checksums: Checksums | undefined;
      if (algorithm !== undefined) {
        const held = srcInfo.checksumType === 'COMPOSITE' ? undefined : srcInfo.checksums[algorithm];
        checksums = {
          [algorithm]: held ?? (await checksumOfEntry(this.client, from, algorithm, opts.signal)),
        };
      }
      return await this.locks.run(this.lockKey(dst.bucket, kp), () =>
        commitCopy(this.w, { key: dst.key, kp, base }, from, srcInfo, rec, opts, checksums),
      );
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw toS3Error(err, 'NoSuchKey');
    }
  }

  private listSource(): ListSource {
    return {
      tree: this.tree,
      fileInfos: (files) => {
        const recs = this.index.getMany(
          this.w.ws,
          files.map((f) => f.entry.id),
        );
        return new Map(files.map((f) => [f.entry.id, objectInfo(f.key, f.entry, recs.get(f.entry.id))]));
      },
    };
  }

  async listObjects(bucket: string, opts: ListOptions): Promise<ListPage> {
    try {
      return await listObjects(this.listSource(), await this.bucketIds(bucket), opts);
    } catch (err) {
      throw toS3Error(err, 'NoSuchBucket');
    }
  }

  // ---- for `s3local cache stats|cleanup|migrate` ----

  /** The folder ids of every bucket (default mode: the root), or of one. */
  private async maintenanceRoots(bucket?: string): Promise<FolderIds> {
    if (bucket !== undefined || !this.advanced) return this.bucketIds(bucket ?? DEFAULT_BUCKET);
    return [this.rootId];
  }

  /** Index records of this workspace and the bytes they describe. */
  indexStats(): { workspaceId: number; objects: number; bytes: number } {
    return { workspaceId: this.w.ws, ...this.index.stats(this.w.ws) };
  }

  /** Drops index records of entries that are gone or were replaced outside s3local. */
  async cleanupIndex(): Promise<{ kept: number; removed: number }> {
    return cleanupIndex(this.w, await this.maintenanceRoots());
  }

  /** Fills missing MD5 ETags by downloading the files that lack one (see maintenance.ts). */
  async migrateMd5(
    opts: {
      bucket?: string;
      dryRun?: boolean;
      signal?: AbortSignal;
      onProgress?: (p: MigrateProgress) => void;
    } = {},
  ): Promise<MigrateResult> {
    return migrateMd5(this.w, await this.maintenanceRoots(opts.bucket), opts);
  }

  /** Runs pending deletions of overwritten entries and closes the index. */
  async close(): Promise<void> {
    await this.retirer.flush();
    this.multipart?.close();
    this.multipartDb?.close();
    this.index.close();
  }
}
