/**
 * DeleteObject and DeleteObjects.
 */
import {
  deleteConditionsOfEntry,
  deleteConditionsOfHeaders,
  deletePrecondition,
  type DeleteConditions,
} from '../delete-conditions.js';
import { S3Error, isS3Error } from '../errors.js';
import { hasIntegrityHeader, header } from '../headers.js';
import type { DeleteOptions, VersionSelector } from '../../storage/backend.js';
import type { Query } from '../endpoint.js';
import { deleteResultXml, type DeleteOutcome } from '../xml/responses.js';
import { parseXmlBody } from '../xml/xml.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { versionSelector } from './object-get.js';
import { readSmallBody } from './read-body.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/**
 * The DeleteOptions of a request: a version (if any), the governance bypass header and the
 * conditions (delete-conditions.ts) checked against the key's current object.
 */
function deleteOptions(
  ctx: HandlerContext,
  key: string,
  version: VersionSelector,
  conditions: DeleteConditions,
): DeleteOptions {
  const opts: DeleteOptions = { ...version };
  if (header(ctx.headers, 'x-amz-bypass-governance-retention')?.toLowerCase() === 'true') {
    opts.bypassGovernance = true;
  }
  const precondition = deletePrecondition(key, conditions);
  if (precondition) opts.precondition = precondition;
  return opts;
}

/**
 * DeleteObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html): 204
 * whether or not the key existed; in a versioned bucket the delete marker created or the version
 * removed is named in `x-amz-version-id` / `x-amz-delete-marker`. A conditional delete
 * (`If-Match`, ...) that does not hold deletes nothing: 412, or 404 when there is no object.
 */
export async function deleteObject(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  if (header(ctx.headers, 'x-amz-mfa') !== undefined) {
    throw new S3Error('NotImplemented', 'MFA delete is not supported by s3local.', { Header: 'x-amz-mfa' });
  }
  const opts = deleteOptions(ctx, key, versionSelector(ctx, query), deleteConditionsOfHeaders(ctx.headers));
  const result = (await ctx.backend.deleteObject(bucket, key, opts)) ?? {};
  const headers: Record<string, string> = {};
  if (result.versionId !== undefined) headers['x-amz-version-id'] = result.versionId;
  if (result.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  return { status: 204, headers };
}

/** DeleteObjects accepts at most 1,000 keys per request. */
const MAX_DELETE_KEYS = 1000;

/**
 * DeleteObjects (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html): the body
 * must be protected by Content-MD5 or an x-amz-checksum-* (verified by the body stream). Each key
 * is deleted independently; failures are reported per key — among them an `<Object>` whose
 * `<ETag>` (or `<Size>`, `<LastModifiedTime>`) condition does not hold: an `<Error>` of its own,
 * PreconditionFailed or NoSuchKey, while the others proceed
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
 */
export async function deleteObjects(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  if (!hasIntegrityHeader(ctx.headers)) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5');
  }
  const doc = parseXmlBody(await readSmallBody(ctx.body.stream), 'Delete');
  const objects = doc['Object'];
  if (!Array.isArray(objects) || objects.length === 0) throw new S3Error('MalformedXML');
  if (objects.length > MAX_DELETE_KEYS) throw new S3Error('MalformedXML');
  const quietValue = doc['Quiet'];
  const quiet = typeof quietValue === 'string' && quietValue.trim().toLowerCase() === 'true';
  await ctx.backend.headBucket(bucket);

  const outcomes: DeleteOutcome[] = [];
  for (const entry of objects as unknown[]) {
    const obj = (entry ?? {}) as Record<string, unknown>;
    const key = obj['Key'];
    const versionId = typeof obj['VersionId'] === 'string' ? obj['VersionId'] : undefined;
    if (typeof key !== 'string' || key === '') throw new S3Error('MalformedXML');
    const outcome: DeleteOutcome = { key, versionId };
    try {
      const version = versionSelector(
        ctx,
        new Map(versionId === undefined ? [] : [['versionId', versionId]]),
      );
      const opts = deleteOptions(ctx, key, version, deleteConditionsOfEntry(obj));
      const result = (await ctx.backend.deleteObject(bucket, key, opts)) ?? {};
      if (result.deleteMarker) {
        outcome.deleteMarker = true;
        outcome.deleteMarkerVersionId = result.versionId;
      }
    } catch (err) {
      if (!isS3Error(err)) throw err;
      outcome.error = err;
    }
    outcomes.push(outcome);
  }
  return xmlResult(deleteResultXml(outcomes, quiet));
}
