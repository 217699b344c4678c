/**
 * Helpers for the object lock interop tests: lock-enabled buckets, default retention rules, PUTs
 * with lock headers, and date comparison tolerant of a server that keeps whole seconds.
 */
import assert from 'node:assert/strict';
import {
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type ObjectLockLegalHoldStatus,
  type ObjectLockMode,
  type ObjectLockRetention,
  type ObjectLockRetentionMode,
  type PutObjectRetentionCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { newBucket } from './versioning.js';

/** One day in milliseconds. */
export const DAY = 86_400_000;

/** A date `ms` from now, whole seconds (so a server keeping seconds compares equal). */
export function fromNow(ms: number): Date {
  return new Date(Math.floor((Date.now() + ms) / 1000) * 1000);
}

/** Asserts two instants are within `toleranceMs` (default 1 s). */
export function assertSameInstant(
  actual: Date | undefined,
  expected: Date,
  what: string,
  toleranceMs = 1000,
): void {
  assert.ok(actual instanceof Date, `${what}: a date`);
  assert.ok(
    Math.abs(actual.getTime() - expected.getTime()) < toleranceMs,
    `${what}: ${actual.toISOString()} vs ${expected.toISOString()}`,
  );
}

/** A new bucket created with x-amz-bucket-object-lock-enabled: true. */
export async function lockBucket(s3: S3Client, prefix: string): Promise<string> {
  return newBucket(s3, prefix, { create: { ObjectLockEnabledForBucket: true } });
}

/**
 * PutObjectLockConfiguration with a default retention rule. `period` is sent as given: S3 wants
 * exactly one of Days and Years, positive (tests send invalid ones on purpose).
 */
export async function setDefault(
  s3: S3Client,
  Bucket: string,
  Mode: ObjectLockRetentionMode,
  period: { Days?: number; Years?: number },
): Promise<void> {
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode, ...period } },
      },
    }),
  );
}

/** PutObject with optional lock headers; returns the version id. */
export async function putLocked(
  s3: S3Client,
  Bucket: string,
  Key: string,
  Body: string,
  lock: { mode?: ObjectLockMode; until?: Date; hold?: ObjectLockLegalHoldStatus } = {},
): Promise<string> {
  const out = await s3.send(
    new PutObjectCommand({
      Bucket,
      Key,
      Body,
      ...(lock.mode ? { ObjectLockMode: lock.mode } : {}),
      ...(lock.until ? { ObjectLockRetainUntilDate: lock.until } : {}),
      ...(lock.hold ? { ObjectLockLegalHoldStatus: lock.hold } : {}),
    }),
  );
  assert.ok(out.VersionId, `PUT ${Key}: a version id`);
  return out.VersionId;
}

/**
 * PutObjectRetention of `Key` (of version `VersionId` when given) with `Retention` (`{}` removes
 * it); `bypass` adds x-amz-bypass-governance-retention: true.
 */
export function putRetention(
  s3: S3Client,
  Bucket: string,
  Key: string,
  VersionId: string | undefined,
  Retention: ObjectLockRetention,
  bypass = false,
): Promise<PutObjectRetentionCommandOutput> {
  return s3.send(
    new PutObjectRetentionCommand({
      Bucket,
      Key,
      ...(VersionId === undefined ? {} : { VersionId }),
      Retention,
      ...(bypass ? { BypassGovernanceRetention: true } : {}),
    }),
  );
}
