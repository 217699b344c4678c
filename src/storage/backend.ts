/**
 * The StorageBackend contract (DESIGN §3). The S3 layer validates names and parameters, applies
 * the bucket-mode policy and shapes responses; a backend only stores and retrieves. Every backend
 * passes `test/contract/storage-contract.ts`.
 *
 * Errors: backends MUST throw `S3Error` with a code from this closed set — NoSuchBucket, NoSuchKey,
 * NoSuchUpload, BucketAlreadyOwnedByYou, BucketNotEmpty, PreconditionFailed, InvalidArgument,
 * KeyTooLongError, InvalidPart, InsufficientStorage, NotImplemented, InternalError, and for
 * versioning NoSuchVersion, MethodNotAllowed (a delete marker read), AccessDenied (object lock),
 * InvalidBucketState — and MUST
 * NOT return null/undefined for "not found".
 */
import type { Readable } from 'node:stream';
import type { ChecksumAlgorithm, Checksums, ObjectBody } from '../s3/body.js';
import type { MultipartStore } from './multipart.js';

/** Standard headers stored with an object and returned on GET/HEAD. */
export interface ObjectHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  /** The raw `Expires` header value, stored as sent. */
  expires?: string;
}

/** How a multipart object's parts lie in it (for GET/HEAD `?partNumber=`). */
export interface PartLayout {
  /** Size of each part, in part order. */
  sizes: number[];
  /**
   * COMPOSITE multipart objects: each part's checksum, in part order (GET/HEAD `?partNumber=N`
   * with checksum mode answer the part's value, as S3 does).
   */
  checksums?: Checksums[];
}

/** Everything known about a stored object. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Unquoted ETag: hex MD5, or `md5-of-md5s-N` for multipart objects. */
  etag: string;
  lastModified: Date;
  headers: ObjectHeaders;
  /** User metadata, names lower-cased without the `x-amz-meta-` prefix. */
  metadata: Record<string, string>;
  checksums: Checksums;
  /** FULL_OBJECT for single PUTs and full-object multipart checksums; COMPOSITE for `xxx-N` values. */
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  storageClass: 'STANDARD';
  parts?: PartLayout;
  /**
   * The version id (`null` for the null version) when the backend keeps versions
   * ({@link StorageBackend.versioning}); undefined otherwise.
   */
  versionId?: string;
  /** Object lock retention and legal hold of this version, when any was set. */
  lock?: ObjectLockState;
  /**
   * The version's tag set, when it has tags (backends with {@link StorageBackend.tagging});
   * undefined when it has none.
   */
  tags?: ObjectTag[];
}

/**
 * One object tag (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html): keys
 * are unique within a version; keys and values are case-sensitive. The S3 layer validates the
 * limits (at most 10 tags, key 1–128 and value 0–256 Unicode characters) before a backend sees them.
 */
export interface ObjectTag {
  key: string;
  value: string;
}

/** Object lock retention modes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html). */
export type RetentionMode = 'GOVERNANCE' | 'COMPLIANCE';

/** The lock of one object version: a retention period and/or a legal hold. */
export interface ObjectLockState {
  mode?: RetentionMode;
  retainUntil?: Date;
  /** Undefined while no legal hold was ever set on the version (GetObjectLegalHold: 404). */
  legalHold?: boolean;
}

export interface BucketInfo {
  name: string;
  creationDate: Date;
}

/** Options of {@link StorageBackend.deleteBucket}. */
export interface DeleteBucketOptions {
  /**
   * The bucket stays (default bucket mode, where `default` always exists): the same checks, and
   * its multipart uploads are aborted as if it were deleted and created again at once; its other
   * state (versioning and object lock settings) is kept.
   */
  keep?: boolean;
}

/** An inclusive byte range, already resolved against the object size by the S3 layer. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * A check run by the backend against the current object (undefined when absent) atomically with
 * the commit of a write or a delete: it throws (e.g. PreconditionFailed) to refuse it. This is how
 * `If-None-Match: *` / `If-Match` stay race-free between concurrent writers.
 */
export type WritePrecondition = (current: ObjectInfo | undefined) => void;

export interface PutOptions {
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  /** The object's declared size when known (Content-Length / x-amz-decoded-content-length). */
  size?: number;
  precondition?: WritePrecondition;
  signal?: AbortSignal;
  /**
   * Set by CompleteMultipartUpload, which hands the assembled parts to `putObject`: the ETag to
   * store (`md5-of-md5s-N`) instead of the MD5 of the bytes, the part layout, and the checksum
   * type of the body's checksums (COMPOSITE `xxx-N` values or FULL_OBJECT). A backend MUST store
   * them when given; they are absent for plain PUTs.
   */
  etag?: string;
  parts?: PartLayout;
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE';
  /** Object lock settings of the new version (already validated against the bucket by the S3 layer). */
  lock?: ObjectLockState;
  /**
   * The new version's tags (`x-amz-tagging`), validated. Only given to a backend with
   * {@link StorageBackend.tagging}, which MUST store them; the S3 layer refuses tags (501) otherwise.
   */
  tags?: ObjectTag[];
}

export interface CopyOptions {
  /** REPLACE semantics when set: these headers/metadata replace the source's. COPY otherwise. */
  replace?: { headers: ObjectHeaders; metadata: Record<string, string> };
  /** Checked against the source object before copying (x-amz-copy-source-if-*); throws to refuse. */
  sourcePrecondition?: (source: ObjectInfo) => void;
  /** Checked against the destination at commit, as for PutOptions.precondition. */
  precondition?: WritePrecondition;
  signal?: AbortSignal;
  /** Object lock settings of the new version, as for PutOptions.lock. */
  lock?: ObjectLockState;
  /**
   * `x-amz-tagging-directive: REPLACE`: the copy's tags (empty: none). Absent (COPY, the default):
   * a backend with {@link StorageBackend.tagging} MUST give the copy the source version's tags.
   */
  tags?: ObjectTag[];
  /**
   * `x-amz-checksum-algorithm`: the copy MUST get a FULL_OBJECT checksum of this algorithm, of
   * its bytes, in place of the source's checksums (a self-copy too). A backend reads the bytes
   * for it, unless the source already holds a FULL_OBJECT value of that algorithm. Absent: the
   * source's checksums are kept (a COMPOSITE one is dropped: it describes parts the copy lacks).
   */
  checksumAlgorithm?: ChecksumAlgorithm;
}

/** Where a read or a copy source points: the current version unless `versionId` is given. */
export interface VersionSelector {
  /** A version id, or `null` for the null version. */
  versionId?: string;
}

export interface DeleteOptions extends VersionSelector {
  /** `x-amz-bypass-governance-retention: true`: GOVERNANCE retention does not block the delete. */
  bypassGovernance?: boolean;
  /**
   * A conditional delete (`If-Match` and the like): run against the current object — undefined
   * when the key has none or its latest version is a delete marker — under the key's lock,
   * atomically with the delete, also when `versionId` names another version ("conditional
   * delete evaluations only apply to the current version of the object",
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html). When it
   * throws (PreconditionFailed, NoSuchKey) the backend MUST change nothing and rethrow.
   */
  precondition?: WritePrecondition;
}

/** What a DELETE did: in a versioned bucket, the delete marker it added or the version it removed. */
export interface DeleteResult {
  /** The version removed, or the id of the delete marker created. */
  versionId?: string;
  /** True when a delete marker was created, or the version removed was a delete marker. */
  deleteMarker?: boolean;
}

export interface ListOptions {
  prefix: string;
  /** Empty string: no delimiter. */
  delimiter: string;
  /** Exclusive lower bound: only keys (and prefixes) strictly greater than this are returned. */
  after: string;
  /** 0..1000; objects and common prefixes together. */
  maxKeys: number;
}

export interface ListPage {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /**
   * When truncated: the last key or common prefix returned; passing it back as `after` continues
   * the listing without repeating anything (a common prefix as `after` skips every key under it).
   */
  nextAfter?: string;
}

/** Counts a backend reports for `GET /_s3local/metrics` (see StorageBackend.stats). */
export interface BackendStats {
  /** Every bucket with its object count and total object bytes, by name. */
  buckets: { name: string; objects: number; bytes: number }[];
  /** Multipart uploads created and neither completed nor aborted, when the backend tracks them. */
  multipartUploads?: number;
}

/** Bucket versioning states (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html). */
export type VersioningStatus = 'Enabled' | 'Suspended';

/** The default retention of an object lock configuration: `days` or `years`, never both. */
export interface DefaultRetention {
  mode: RetentionMode;
  days?: number;
  years?: number;
}

/** A bucket's versioning and object lock settings. */
export interface BucketVersioningConfig {
  /** Undefined while versioning was never enabled. */
  status?: VersioningStatus;
  /** Object lock enabled (then versioning is Enabled and cannot be suspended). */
  objectLock: boolean;
  defaultRetention?: DefaultRetention;
}

/** One entry of ListObjectVersions: an object version or a delete marker. */
export interface VersionEntry extends ObjectInfo {
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
}

export interface VersionListOptions {
  prefix: string;
  delimiter: string;
  /** Exclusive: list after this key, or after `versionIdMarker` within it when that is given. */
  keyMarker: string;
  versionIdMarker?: string;
  /** 0..1000: versions, delete markers and common prefixes together. */
  maxKeys: number;
}

export interface VersionPage {
  versions: VersionEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

/**
 * Versioning and object lock (the local backend; Drime has none, and the S3 layer then answers
 * the versioning and lock operations 501 NotImplemented). With it, `putObject`, `copyObject` and
 * `deleteObject` follow the bucket's versioning state: a new version per write when Enabled, the
 * `null` version when Suspended, delete markers — as AWS documents them.
 */
export interface VersioningStore {
  /** MUST throw NoSuchBucket. */
  getBucketConfig(bucket: string): Promise<BucketVersioningConfig>;
  /** MUST throw InvalidBucketState when suspending a bucket with object lock. */
  setBucketVersioning(bucket: string, status: VersioningStatus): Promise<void>;
  /**
   * Enables object lock (MUST throw InvalidBucketState unless versioning is Enabled) and sets or
   * clears the default retention.
   */
  setObjectLockConfig(bucket: string, defaultRetention: DefaultRetention | undefined): Promise<void>;
  /** One page of versions and delete markers: keys in UTF-8 byte order, each key newest first. */
  listObjectVersions(bucket: string, opts: VersionListOptions): Promise<VersionPage>;
  /**
   * Replaces the version's lock state (retention and legal hold) through `update`, which sees the
   * current state and throws (AccessDenied) to refuse. Returns the version id.
   */
  updateObjectLock(
    bucket: string,
    key: string,
    version: VersionSelector,
    update: (current: ObjectLockState, info: ObjectInfo) => ObjectLockState,
  ): Promise<string>;
}

/**
 * Object tagging (the local backend; Drime has none, and the S3 layer then answers the tagging
 * operations, and writes carrying a non-empty `x-amz-tagging`, 501 NotImplemented). A backend with
 * it stores the tags of PutOptions, CopyOptions and multipart uploads with each version, returns
 * them in ObjectInfo.tags, and keeps a noncurrent version's tags with it. GetObjectTagging reads
 * them through `headObject`.
 */
export interface TaggingStore {
  /**
   * Replaces the whole tag set of one version (empty: removes every tag; DeleteObjectTagging).
   * Tags are not protected by object lock: a locked version's tags can change. MUST throw as
   * `headObject` does for a missing key or version and for delete markers. Returns the version id
   * (undefined when the backend keeps no versions).
   */
  putObjectTagging(
    bucket: string,
    key: string,
    version: VersionSelector,
    tags: ObjectTag[],
  ): Promise<{ versionId?: string }>;
}

/** A storage backend (local directory, Drime Cloud, ...). All methods are async and may run concurrently. */
export interface StorageBackend {
  /** Short name for logs and the banner ("local", "drime"). */
  readonly kind: string;

  /** Buckets sorted by name. */
  listBuckets(): Promise<BucketInfo[]>;
  /**
   * MUST throw BucketAlreadyOwnedByYou when the bucket exists. `objectLock` (only asked of a
   * backend with `versioning`): versioning Enabled and object lock on from the start.
   */
  createBucket(bucket: string, opts?: { objectLock?: boolean }): Promise<void>;
  /** MUST throw NoSuchBucket when absent. */
  headBucket(bucket: string): Promise<BucketInfo>;
  /**
   * MUST throw NoSuchBucket when absent, and BucketNotEmpty when it holds any object (current or
   * noncurrent version, delete marker); never recursive over objects. Open multipart uploads do
   * not make it non-empty: deleting the bucket MUST abort them (rows and staged parts gone), as S3
   * does for general purpose buckets — DeleteBucket requires only that "all objects (including all
   * object versions and delete markers) in the bucket must be deleted"
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html); only directory
   * buckets refuse while uploads are in progress
   * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html). When it
   * throws, no upload is touched. An upload created, completed or given a part concurrently MUST
   * NOT leave an object, an upload or staged data in a deleted bucket.
   */
  deleteBucket(bucket: string, opts?: DeleteBucketOptions): Promise<void>;

  /**
   * MUST throw NoSuchBucket / NoSuchKey (NoSuchVersion for an unknown `versionId`). When the latest
   * version is a delete marker: NoSuchKey with `x-amz-delete-marker: true` and its
   * `x-amz-version-id`; a delete marker asked for by id: MethodNotAllowed with the same headers.
   */
  headObject(bucket: string, key: string, opts?: VersionSelector): Promise<ObjectInfo>;
  /**
   * The object's bytes, or the given inclusive range of them. The caller consumes or destroys
   * `body`; the backend releases its handles when it ends or is destroyed.
   */
  getObject(
    bucket: string,
    key: string,
    opts?: { range?: ByteRange; signal?: AbortSignal } & VersionSelector,
  ): Promise<{ info: ObjectInfo; body: Readable }>;
  /**
   * Stores `body` under `key`, replacing any previous object only after the body ended cleanly
   * (all digests verified). On any error or abort the previous object stays and no temp data is left.
   */
  putObject(bucket: string, key: string, body: ObjectBody, opts: PutOptions): Promise<ObjectInfo>;
  /**
   * Succeeds when the key is absent (S3 answers 204 either way); NoSuchBucket when the bucket is.
   * With versioning: adds a delete marker, or removes the version given (AccessDenied when its
   * object lock forbids it). `opts.precondition` MUST run under the key's lock before anything
   * is removed or added.
   */
  deleteObject(bucket: string, key: string, opts?: DeleteOptions): Promise<DeleteResult | void>;
  /** Server-side copy, streamed; the destination may equal the source (metadata REPLACE). */
  copyObject(
    src: { bucket: string; key: string } & VersionSelector,
    dst: { bucket: string; key: string },
    opts: CopyOptions,
  ): Promise<ObjectInfo>;
  /** One page of a listing in UTF-8 byte order of keys. */
  listObjects(bucket: string, opts: ListOptions): Promise<ListPage>;

  /**
   * Multipart uploads (see storage/multipart.ts). Optional: without it the multipart operations
   * answer 501 NotImplemented. `deleteBucket` aborts the bucket's open uploads.
   */
  readonly multipart?: MultipartStore;

  /** Versioning and object lock; absent: the bucket is never versioned (see VersioningStore). */
  readonly versioning?: VersioningStore;

  /** Object tags; absent: tagging answers 501 NotImplemented (see TaggingStore). */
  readonly tagging?: TaggingStore;

  /**
   * Optional health probe for `GET /_s3local/health`: resolves when the store can take writes now
   * (the local backend writes, fsyncs and removes a probe file and takes the index's write lock);
   * rejects otherwise, with a message fit for an unauthenticated caller (no paths, no secrets).
   * Backends without it are probed with `listBuckets()`.
   */
  health?(): Promise<void>;
  /**
   * Optional counts for `GET /_s3local/metrics`. SHOULD be cheap (an index aggregate, never a
   * directory walk) and MUST NOT block the event loop for long; the server caches the answer.
   */
  stats?(): Promise<BackendStats>;

  /** Releases files, database handles and timers. */
  close(): Promise<void>;
}
