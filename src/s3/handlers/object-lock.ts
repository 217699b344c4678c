/**
 * Object lock (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
 * Get/PutObjectLockConfiguration, Get/PutObjectRetention, Get/PutObjectLegalHold, and the lock
 * settings of a new object version (PUT, CopyObject, CreateMultipartUpload).
 */
import { S3Error } from '../errors.js';
import type { Query } from '../endpoint.js';
import { hasIntegrityHeader, header } from '../headers.js';
import type { DefaultRetention, ObjectLockState, VersioningStore } from '../../storage/backend.js';
import {
  legalHoldXml,
  objectLockConfigurationXml,
  parseLegalHold,
  parseObjectLockConfiguration,
  parseRetainUntil,
  parseRetention,
  retentionXml,
} from '../xml/versioning.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { readSmallBody } from './read-body.js';
import { versionSelector } from './object-get.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';
import { versioningOf } from './versioning.js';

const MISSING_LOCK = 'Bucket is missing Object Lock Configuration';

/** The backend's versioning when the bucket has object lock; InvalidRequest otherwise. */
async function lockedBucket(
  ctx: HandlerContext,
  bucket: string,
  operation: string,
): Promise<VersioningStore> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = versioningOf(ctx, operation);
  await assertObjectLockEnabled(store, bucket);
  return store;
}

/** InvalidRequest "Bucket is missing Object Lock Configuration" unless the bucket has object lock. */
async function assertObjectLockEnabled(store: VersioningStore, bucket: string): Promise<void> {
  if (!(await store.getBucketConfig(bucket)).objectLock) throw new S3Error('InvalidRequest', MISSING_LOCK);
}

/**
 * The version a Get*Retention / Get*LegalHold names, then the bucket's object lock: a missing key
 * is NoSuchKey before the bucket's lock is judged (versitygw's tests against AWS).
 */
async function lockedVersion(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
  operation: string,
) {
  assertBucketAllowed(ctx.settings, bucket);
  const store = versioningOf(ctx, operation);
  const info = await ctx.backend.headObject(bucket, key, versionSelector(ctx, query));
  await assertObjectLockEnabled(store, bucket);
  return info;
}

/**
 * Put* lock operations carry `httpChecksumRequired` in the S3 API model: Content-MD5 or an
 * x-amz-checksum must protect the body (the auth layer verifies whichever is sent).
 */
function requireIntegrity(ctx: HandlerContext, operation: string): void {
  if (!hasIntegrityHeader(ctx.headers)) {
    throw new S3Error(
      'InvalidRequest',
      `Content-MD5 OR x-amz-checksum- HTTP header is required for ${operation} requests`,
    );
  }
}

function bypassGovernance(ctx: HandlerContext): boolean {
  return header(ctx.headers, 'x-amz-bypass-governance-retention')?.toLowerCase() === 'true';
}

/** True while a retention protects the version. */
function retained(lock: ObjectLockState, now = Date.now()): boolean {
  return lock.mode !== undefined && lock.retainUntil !== undefined && lock.retainUntil.getTime() > now;
}

function assertFuture(until: Date): void {
  if (until.getTime() <= Date.now()) {
    throw new S3Error('InvalidArgument', 'The retain until date must be in the future!', {
      ArgumentName: 'RetainUntilDate',
    });
  }
}

const OBJECT_LOCK_DENIED = 'Access Denied because object protected by object lock.';

// ---- bucket configuration ------------------------------------------------------------------

/**
 * PutObjectLockConfiguration. Also enables object lock on an existing bucket whose versioning is
 * Enabled (InvalidBucketState otherwise), as S3 allows since 2023.
 */
export async function putObjectLockConfiguration(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = versioningOf(ctx, 'PutObjectLockConfiguration');
  requireIntegrity(ctx, 'PutObjectLockConfiguration');
  const body = await readSmallBody(ctx.body.stream);
  // API_PutObjectLockConfiguration: the configuration is required; S3 answers an empty body so.
  if (body.length === 0) throw new S3Error('MissingRequestBodyError', 'Request Body is empty');
  const conf = parseObjectLockConfiguration(body);
  await store.setObjectLockConfig(bucket, conf.defaultRetention);
  return { status: 200, headers: {} };
}

export async function getObjectLockConfiguration(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const config = await versioningOf(ctx, 'GetObjectLockConfiguration').getBucketConfig(bucket);
  if (!config.objectLock) {
    throw new S3Error('ObjectLockConfigurationNotFoundError', undefined, { BucketName: bucket });
  }
  return xmlResult(objectLockConfigurationXml(config.defaultRetention));
}

// ---- a new version's lock --------------------------------------------------------------------

/** The retention a bucket's default gives a version created at `now`. */
function retentionFrom(
  rule: DefaultRetention,
  now: Date,
): Required<Pick<ObjectLockState, 'mode' | 'retainUntil'>> {
  const at = new Date(now);
  if (rule.days !== undefined) at.setTime(at.getTime() + rule.days * 86_400_000);
  if (rule.years !== undefined) at.setUTCFullYear(at.getUTCFullYear() + rule.years);
  return { mode: rule.mode, retainUntil: at };
}

/**
 * The lock a multipart upload's object gets at CompleteMultipartUpload: the explicit headers of
 * Create (kept by the upload), and, when they set no retention, the bucket's default retention
 * counted from now. The object is created by Complete (S3-compatible stores such as StorageGRID
 * and HCP document Complete as the point of creation and of the retention's start); counting the
 * default from Create would shorten the protection by however long the upload took.
 */
export async function lockAtComplete(
  ctx: HandlerContext,
  bucket: string,
  created: ObjectLockState | undefined,
): Promise<ObjectLockState | undefined> {
  if (created?.mode !== undefined) return created;
  const config = ctx.backend.versioning ? await ctx.backend.versioning.getBucketConfig(bucket) : undefined;
  if (!config?.objectLock || config.defaultRetention === undefined) return created;
  return { ...created, ...retentionFrom(config.defaultRetention, new Date()) };
}

/**
 * The lock of a new object version from the `x-amz-object-lock-*` headers, else the bucket's
 * default retention (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).
 * Lock headers on a bucket without object lock: InvalidRequest. With `requireChecksum` (PutObject),
 * a locked version needs Content-MD5 or an x-amz-checksum, as S3 requires.
 */
export async function lockForNewVersion(
  ctx: HandlerContext,
  bucket: string,
  requireChecksum: boolean,
  applyDefault = true,
): Promise<ObjectLockState | undefined> {
  const mode = header(ctx.headers, 'x-amz-object-lock-mode');
  const until = header(ctx.headers, 'x-amz-object-lock-retain-until-date');
  const hold = header(ctx.headers, 'x-amz-object-lock-legal-hold');
  const explicit = mode !== undefined || until !== undefined || hold !== undefined;
  const store = ctx.backend.versioning;
  const config = store ? await store.getBucketConfig(bucket) : undefined;
  if (!config?.objectLock) {
    if (explicit) throw new S3Error('InvalidRequest', MISSING_LOCK);
    return undefined;
  }
  const lock: ObjectLockState = {};
  if (mode !== undefined || until !== undefined) {
    if (mode === undefined || until === undefined) {
      throw new S3Error(
        'InvalidArgument',
        'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
      );
    }
    if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') {
      throw new S3Error('InvalidArgument', 'Unknown wormMode directive.', {
        ArgumentName: 'x-amz-object-lock-mode',
        ArgumentValue: mode,
      });
    }
    lock.mode = mode;
    lock.retainUntil = parseRetainUntil(until);
    assertFuture(lock.retainUntil);
  } else if (applyDefault && config.defaultRetention !== undefined) {
    Object.assign(lock, retentionFrom(config.defaultRetention, new Date()));
  }
  if (hold !== undefined) {
    if (hold !== 'ON' && hold !== 'OFF') {
      throw new S3Error('InvalidArgument', 'Legal Hold must be either of ON or OFF', {
        ArgumentName: 'x-amz-object-lock-legal-hold',
        ArgumentValue: hold,
      });
    }
    lock.legalHold = hold === 'ON';
  }
  if (Object.keys(lock).length === 0) return undefined;
  if (requireChecksum && !hasIntegrityHeader(ctx.headers)) {
    // https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html: "The Content-MD5 or
    // x-amz-sdk-checksum-algorithm header is required for any request to upload an object with a
    // retention period configured using Amazon S3 Object Lock."
    throw new S3Error(
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
  }
  return lock;
}

// ---- retention and legal hold of a version ----------------------------------------------------

/**
 * PutObjectRetention (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html):
 * a retention may always be extended in its mode; COMPLIANCE is never shortened, removed or
 * changed; GOVERNANCE only with `x-amz-bypass-governance-retention: true` (which also allows
 * turning it into COMPLIANCE).
 */
export async function putObjectRetention(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  const store = await lockedBucket(ctx, bucket, 'PutObjectRetention');
  requireIntegrity(ctx, 'PutObjectRetention');
  const next = parseRetention(await readSmallBody(ctx.body.stream));
  if (next !== undefined) assertFuture(next.retainUntil);
  const bypass = bypassGovernance(ctx);
  const versionId = await store.updateObjectLock(bucket, key, versionSelector(ctx, query), (current) => {
    if (retained(current)) {
      // Only extending the date in the same mode is free. Changing the mode is altering the lock
      // settings too, which governance mode allows only with the bypass (userguide/object-lock.html,
      // "Retention modes"; AWS refuses GOVERNANCE -> COMPLIANCE without it: ceph/s3-tests
      // test_object_lock_changing_mode_from_governance_without_bypass).
      const altered =
        next === undefined ||
        next.retainUntil.getTime() < current.retainUntil!.getTime() ||
        next.mode !== current.mode;
      if (altered && (current.mode === 'COMPLIANCE' || !bypass))
        throw new S3Error('AccessDenied', OBJECT_LOCK_DENIED);
    }
    const out: ObjectLockState = {};
    if (next !== undefined) {
      out.mode = next.mode;
      out.retainUntil = next.retainUntil;
    }
    if (current.legalHold !== undefined) out.legalHold = current.legalHold;
    return out;
  });
  return { status: 200, headers: versionHeader(versionId) };
}

export async function getObjectRetention(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  const info = await lockedVersion(ctx, bucket, key, query, 'GetObjectRetention');
  if (info.lock?.mode === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  return xmlResult(retentionXml(info.lock));
}

/** PutObjectLegalHold: a hold may be placed and removed freely; it blocks every delete while ON. */
export async function putObjectLegalHold(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  // The body is judged before the bucket's lock (MalformedXML first; versitygw's tests against AWS).
  assertBucketAllowed(ctx.settings, bucket);
  const store = versioningOf(ctx, 'PutObjectLegalHold');
  requireIntegrity(ctx, 'PutObjectLegalHold');
  const on = parseLegalHold(await readSmallBody(ctx.body.stream));
  await assertObjectLockEnabled(store, bucket);
  const versionId = await store.updateObjectLock(bucket, key, versionSelector(ctx, query), (current) => ({
    ...current,
    legalHold: on,
  }));
  return { status: 200, headers: versionHeader(versionId) };
}

export async function getObjectLegalHold(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  const info = await lockedVersion(ctx, bucket, key, query, 'GetObjectLegalHold');
  if (info.lock?.legalHold === undefined) throw new S3Error('NoSuchObjectLockConfiguration');
  return xmlResult(legalHoldXml(info.lock.legalHold));
}

/** `x-amz-version-id` when the backend reports one. */
export function versionHeader(versionId: string | undefined): Record<string, string> {
  return versionId === undefined ? {} : { 'x-amz-version-id': versionId };
}

/**
 * `x-amz-version-id` of a version just written (PutObject, CopyObject, CompleteMultipartUpload):
 * none for the `null` version a versioning-suspended bucket writes. AWS answers those writes
 * without the header (the PutObject reference's suspended-bucket example; ceph/s3-tests
 * test_versioning_bucket_atomic_upload_return_version_id), though GET and HEAD of that version
 * do send `x-amz-version-id: null`.
 */
export function writtenVersionHeader(versionId: string | undefined): Record<string, string> {
  return versionId === 'null' ? {} : versionHeader(versionId);
}

/** Response headers describing a version's lock (GET/HEAD). */
export function lockHeaders(lock: ObjectLockState | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (lock?.mode !== undefined && lock.retainUntil !== undefined) {
    h['x-amz-object-lock-mode'] = lock.mode;
    h['x-amz-object-lock-retain-until-date'] = lock.retainUntil.toISOString();
  }
  if (lock?.legalHold !== undefined) h['x-amz-object-lock-legal-hold'] = lock.legalHold ? 'ON' : 'OFF';
  return h;
}
