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
import { listBucketsXml, locationXml } from '../xml/responses.js';
import { parseXmlBody } from '../xml/xml.js';

export async function listBuckets(ctx: HandlerContext): Promise<S3Result> {
  const all = await ctx.backend.listBuckets();
  const buckets = ctx.settings.allowBucketCreation ? all : all.filter((b) => b.name === DEFAULT_BUCKET);
  return xmlResult(listBucketsXml(buckets));
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
    if (typeof location === 'string' && location !== '' && location !== ctx.settings.region) {
      throw new S3Error(
        'InvalidLocationConstraint',
        `The specified location-constraint is not valid: this server's region is ${ctx.settings.region}.`,
        { LocationConstraint: location },
      );
    }
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
 * DeleteBucket: never recursive. In default mode the `default` bucket is virtual and always
 * exists: deleting it when empty succeeds without removing it (so `rclone purge` ends cleanly).
 */
export async function deleteBucket(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  if (!ctx.settings.allowBucketCreation) {
    const page = await ctx.backend.listObjects(bucket, { prefix: '', delimiter: '', after: '', maxKeys: 1 });
    if (page.objects.length > 0) throw new S3Error('BucketNotEmpty', undefined, { BucketName: bucket });
    return { status: 204, headers: {} };
  }
  await ctx.backend.deleteBucket(bucket);
  return { status: 204, headers: {} };
}

export async function getBucketLocation(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.headBucket(bucket);
  return xmlResult(locationXml(ctx.settings.region));
}
