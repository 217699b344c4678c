/**
 * Endpoint -> handler. The one exhaustive switch over every routed S3 operation.
 */
import { S3Error } from './errors.js';
import type { Endpoint } from './endpoint.js';
import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
} from './handlers/bucket.js';
import { copyObject } from './handlers/copy.js';
import { deleteObject, deleteObjects } from './handlers/delete.js';
import { listObjectsV1, listObjectsV2 } from './handlers/list.js';
import { getObject, headObject } from './handlers/object-get.js';
import { putObject } from './handlers/object-put.js';
import type { HandlerContext, S3Result } from './handlers/types.js';

/** Runs the handler of `endpoint`. */
export async function dispatch(ctx: HandlerContext, endpoint: Endpoint): Promise<S3Result> {
  switch (endpoint.kind) {
    case 'ListBuckets':
      return listBuckets(ctx);
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
    case 'UploadPart':
    case 'UploadPartCopy':
    case 'CompleteMultipartUpload':
    case 'AbortMultipartUpload':
    case 'ListParts':
    case 'ListMultipartUploads':
      throw new S3Error('NotImplemented', `${endpoint.kind} is not implemented yet by s3local.`);
    case 'NotImplemented':
      throw new S3Error('NotImplemented', `${endpoint.operation} is not implemented by s3local.`);
  }
}
