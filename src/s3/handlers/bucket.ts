/**
 * Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation.
 */
import { S3Error, isS3Error } from '../errors.js';
import { assertOwnerOnlyAclHeaders } from './acl.js';
import { readSmallBody } from './read-body.js';
import { header } from '../headers.js';
import { versioningOf } from './versioning.js';
import { assertBucketAllowed, assertBucketCreationAllowed } from './bucket-mode.js';
import { DEFAULT_BUCKET, xmlResult, type HandlerContext, type S3Result } from './types.js';
import type { Query } from '../endpoint.js';
import { listBucketsXml, locationXml } from '../xml/responses.js';
import { decodeContinuationToken, encodeContinuationToken } from './list.js';
import { parseXmlBody } from '../xml/xml.js';

/** The values of `x-amz-object-ownership` (API_CreateBucket.html). */
const OBJECT_OWNERSHIPS = new Set(['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced']);

/** ListBuckets pages hold at most 10,000 buckets (API_ListBuckets.html, `max-buckets`). */
const MAX_BUCKETS = 10_000;

/** `max-buckets`: an integer from 1 to 10,000 (S3: InvalidArgument otherwise). */
function parseMaxBuckets(raw: string | undefined): number {
  if (raw === undefined) return MAX_BUCKETS;
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_BUCKETS)) {
    throw new S3Error('InvalidArgument', 'Argument max-buckets must be an integer between 1 and 10000', {
      ArgumentName: 'max-buckets',
      ArgumentValue: raw,
    });
  }
  return n;
}

/**
 * ListBuckets (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html): `prefix`,
 * `bucket-region` (every bucket is in this server's region), and pages of `max-buckets` (1 to
 * 10,000) resumed with the opaque `continuation-token` of the previous page.
 */
export async function listBuckets(ctx: HandlerContext, query: Query): Promise<S3Result> {
  const prefix = query.get('prefix');
  const region = query.get('bucket-region');
  const max = parseMaxBuckets(query.get('max-buckets'));
  const token = query.get('continuation-token');
  const after = token !== undefined && token !== '' ? decodeContinuationToken(token) : '';
  const all = await ctx.backend.listBuckets();
  const matching = all.filter(
    (b) =>
      (ctx.settings.allowBucketCreation || b.name === DEFAULT_BUCKET) &&
      (prefix === undefined || b.name.startsWith(prefix)) &&
      (region === undefined || region === ctx.settings.region) &&
      b.name > after,
  );
  const page = matching.slice(0, max);
  const next = matching.length > max ? encodeContinuationToken(page[page.length - 1]!.name) : undefined;
  return xmlResult(listBucketsXml(page, { region: ctx.settings.region, next, prefix }));
}

/**
 * CreateBucket. A bucket that exists already answers 409 BucketAlreadyOwnedByYou, except in
 * us-east-1, where S3 answers 200 and changes nothing "for legacy compatibility"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html, BucketAlreadyOwnedByYou;
 * ceph/s3-tests test_bucket_recreate_not_overriding). rclone, awscli and the SDKs take either as
 * "already there". A CreateBucketConfiguration body is accepted; its LocationConstraint must name
 * our region.
 */
export async function createBucket(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketCreationAllowed(ctx.settings, bucket);
  assertOwnerOnlyAclHeaders(ctx);
  const body = await readSmallBody(ctx.body.stream);
  if (body.length > 0) {
    const conf = parseXmlBody(body, 'CreateBucketConfiguration');
    const location = conf['LocationConstraint'];
    // us-east-1 is the region without a constraint: naming it is refused, as S3 refuses it
    // (API_CreateBucket.html: "If you don't specify a Region, the bucket is created in us-east-1").
    if (
      typeof location === 'string' &&
      location !== '' &&
      (location !== ctx.settings.region || location === 'us-east-1')
    ) {
      throw new S3Error(
        'InvalidLocationConstraint',
        location === 'us-east-1'
          ? 'The specified location-constraint is not valid'
          : `The specified location-constraint is not valid: this server's region is ${ctx.settings.region}.`,
        { LocationConstraint: location },
      );
    }
    // Bucket tags at creation: bucket tagging is not implemented, so they are refused, never dropped.
    if (conf['Tags'] !== undefined) {
      throw new S3Error(
        'NotImplemented',
        'Bucket tagging (CreateBucketConfiguration Tags) is not implemented by s3local.',
      );
    }
  }
  // Object ownership has one meaning on a one-owner server, but a value S3 does not know is an error.
  const ownership = header(ctx.headers, 'x-amz-object-ownership');
  if (ownership !== undefined && !OBJECT_OWNERSHIPS.has(ownership)) {
    throw new S3Error('InvalidArgument', `Invalid x-amz-object-ownership header: ${ownership}`, {
      ArgumentName: 'x-amz-object-ownership',
      ArgumentValue: ownership,
    });
  }
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html: object lock (and with it
  // versioning) enabled at creation.
  const lockHeader = header(ctx.headers, 'x-amz-bucket-object-lock-enabled')?.toLowerCase();
  const objectLock = lockHeader === 'true';
  if (objectLock) versioningOf(ctx, 'CreateBucket with object lock');
  try {
    await ctx.backend.createBucket(bucket, ...(objectLock ? [{ objectLock }] : []));
  } catch (err) {
    if (!(isS3Error(err) && err.code === 'BucketAlreadyOwnedByYou' && ctx.settings.region === 'us-east-1'))
      throw err;
  }
  return { status: 200, headers: { location: `/${bucket}` } };
}

export async function headBucket(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.headBucket(bucket);
  return { status: 200, headers: { 'x-amz-bucket-region': ctx.settings.region } };
}

/**
 * DeleteBucket: never recursive over objects; the bucket's multipart uploads are aborted, as S3
 * does (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html asks only that its
 * objects, versions and delete markers be gone). In default mode the `default` bucket is virtual
 * and always exists: deleting it when empty succeeds without removing it (so `rclone purge` ends
 * cleanly), and ends its uploads as deleting and re-creating it would (`keep`).
 */
export async function deleteBucket(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.deleteBucket(bucket, { keep: !ctx.settings.allowBucketCreation });
  return { status: 204, headers: {} };
}

export async function getBucketLocation(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.headBucket(bucket);
  return xmlResult(locationXml(ctx.settings.region));
}
