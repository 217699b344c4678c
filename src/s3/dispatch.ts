/**
 * Endpoint -> handler. The one exhaustive switch over every routed S3 operation.
 */
import { S3Error } from './errors.js';
import type { Endpoint } from './endpoint.js';
import { header } from './headers.js';
import { OWNER } from './xml/responses.js';
import { getBucketAcl, getObjectAcl, putBucketAcl, putObjectAcl } from './handlers/acl.js';
import { createBucket, deleteBucket, getBucketLocation, headBucket, listBuckets } from './handlers/bucket.js';
import { copyObject } from './handlers/copy.js';
import { deleteObject, deleteObjects } from './handlers/delete.js';
import { listObjectsV1, listObjectsV2 } from './handlers/list.js';
import { abortMultipartUpload, createMultipartUpload, uploadPart } from './handlers/multipart.js';
import { completeMultipartUpload } from './handlers/multipart-complete.js';
import { uploadPartCopy } from './handlers/multipart-copy.js';
import { listMultipartUploads, listParts } from './handlers/multipart-list.js';
import { getObject, headObject } from './handlers/object-get.js';
import { putObject } from './handlers/object-put.js';
import {
  getObjectLegalHold,
  getObjectLockConfiguration,
  getObjectRetention,
  putObjectLegalHold,
  putObjectLockConfiguration,
  putObjectRetention,
} from './handlers/object-lock.js';
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from './handlers/tagging.js';
import type { HandlerContext, S3Result } from './handlers/types.js';
import { getBucketVersioning, listObjectVersions, putBucketVersioning } from './handlers/versioning.js';

/**
 * `x-amz-expected-bucket-owner` (and `x-amz-source-expected-bucket-owner` for the copy source)
 * names the account the client expects to own the bucket; any other owner is 403 AccessDenied
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html). Every bucket
 * here is owned by the one owner, whose id GetBucketAcl answers.
 */
function assertExpectedOwner(ctx: HandlerContext): void {
  for (const name of ['x-amz-expected-bucket-owner', 'x-amz-source-expected-bucket-owner']) {
    const expected = header(ctx.headers, name);
    if (expected !== undefined && expected !== OWNER.ID) throw new S3Error('AccessDenied');
  }
}

/** Runs the handler of `endpoint`. */
export async function dispatch(ctx: HandlerContext, endpoint: Endpoint): Promise<S3Result> {
  assertExpectedOwner(ctx);
  switch (endpoint.kind) {
    case 'ListBuckets':
      return listBuckets(ctx, endpoint.query);
    case 'CreateBucket':
      return createBucket(ctx, endpoint.bucket);
    case 'HeadBucket':
      return headBucket(ctx, endpoint.bucket);
    case 'DeleteBucket':
      return deleteBucket(ctx, endpoint.bucket);
    case 'GetBucketLocation':
      return getBucketLocation(ctx, endpoint.bucket);
    case 'GetBucketVersioning':
      return getBucketVersioning(ctx, endpoint.bucket);
    case 'PutBucketVersioning':
      return putBucketVersioning(ctx, endpoint.bucket);
    case 'ListObjectVersions':
      return listObjectVersions(ctx, endpoint.bucket, endpoint.query);
    case 'GetObjectLockConfiguration':
      return getObjectLockConfiguration(ctx, endpoint.bucket);
    case 'PutObjectLockConfiguration':
      return putObjectLockConfiguration(ctx, endpoint.bucket);
    case 'GetObjectRetention':
      return getObjectRetention(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'PutObjectRetention':
      return putObjectRetention(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'GetObjectLegalHold':
      return getObjectLegalHold(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'PutObjectLegalHold':
      return putObjectLegalHold(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'GetBucketAcl':
      return getBucketAcl(ctx, endpoint.bucket);
    case 'PutBucketAcl':
      return putBucketAcl(ctx, endpoint.bucket);
    case 'GetObjectAcl':
      return getObjectAcl(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'PutObjectAcl':
      return putObjectAcl(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'GetObjectTagging':
      return getObjectTagging(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'PutObjectTagging':
      return putObjectTagging(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'DeleteObjectTagging':
      return deleteObjectTagging(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'ListObjects':
      return listObjectsV1(ctx, endpoint.bucket, endpoint.query);
    case 'ListObjectsV2':
      return listObjectsV2(ctx, endpoint.bucket, endpoint.query);
    case 'GetObject':
      return getObject(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'HeadObject':
      return headObject(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'PutObject':
      return putObject(ctx, endpoint.bucket, endpoint.key);
    case 'CopyObject':
      return copyObject(ctx, endpoint.bucket, endpoint.key);
    case 'DeleteObject':
      return deleteObject(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'DeleteObjects':
      return deleteObjects(ctx, endpoint.bucket);
    case 'CreateMultipartUpload':
      return createMultipartUpload(ctx, endpoint.bucket, endpoint.key);
    case 'UploadPart':
      return uploadPart(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'UploadPartCopy':
      return uploadPartCopy(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'CompleteMultipartUpload':
      return completeMultipartUpload(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'AbortMultipartUpload':
      return abortMultipartUpload(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'ListParts':
      return listParts(ctx, endpoint.bucket, endpoint.key, endpoint.query);
    case 'ListMultipartUploads':
      return listMultipartUploads(ctx, endpoint.bucket, endpoint.query);
    case 'NotImplemented':
      throw new S3Error('NotImplemented', `${endpoint.operation} is not implemented by s3local.`);
  }
}
