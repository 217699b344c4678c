/**
 * DeleteObject and DeleteObjects.
 */
import { S3Error, isS3Error } from '../errors.js';
import { header } from '../headers.js';
import type { Query } from '../endpoint.js';
import { deleteResultXml, type DeleteOutcome } from '../xml/responses.js';
import { parseXmlBody } from '../xml/xml.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { assertNullVersion } from './object-get.js';
import { readSmallBody } from './read-body.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/** DeleteObject: 204 whether or not the key existed. */
export async function deleteObject(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  assertNullVersion(query);
  await ctx.backend.deleteObject(bucket, key);
  return { status: 204, headers: {} };
}

/** DeleteObjects accepts at most 1,000 keys per request. */
const MAX_DELETE_KEYS = 1000;

/**
 * DeleteObjects (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html): the body
 * must be protected by Content-MD5 or an x-amz-checksum-* (verified by the body stream). Each key
 * is deleted independently; failures are reported per key.
 */
export async function deleteObjects(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const hasIntegrity =
    header(ctx.headers, 'content-md5') !== undefined ||
    Object.keys(ctx.headers).some((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type') ||
    (header(ctx.headers, 'x-amz-trailer') ?? '').toLowerCase().startsWith('x-amz-checksum-');
  if (!hasIntegrity) {
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
      if (versionId !== undefined && versionId !== 'null') {
        throw new S3Error('NoSuchVersion', 'The specified version does not exist.');
      }
      await ctx.backend.deleteObject(bucket, key);
    } catch (err) {
      if (!isS3Error(err)) throw err;
      outcome.error = err;
    }
    outcomes.push(outcome);
  }
  return xmlResult(deleteResultXml(outcomes, quiet));
}
