/**
 * PutObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html).
 */
import { S3Error } from '../errors.js';
import {
  checksumHeaders,
  header,
  quoteETag,
  readMetadata,
  readObjectHeaders,
  writePrecondition,
} from '../headers.js';
import type { PutOptions } from '../../storage/backend.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { assertOwnerOnlyAclHeaders } from './acl.js';
import { lockForNewVersion, writtenVersionHeader } from './object-lock.js';
import { requestTags } from './tagging.js';
import type { HandlerContext, S3Result } from './types.js';

/** The largest single PUT S3 accepts: 5 GiB. */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;

/** The storage classes S3 knows (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-StorageClass). */
const STORAGE_CLASSES = new Set([
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'SNOW',
  'EXPRESS_ONEZONE',
  'FSX_OPENZFS',
  'FSX_ONTAP',
]);

/** The values of `x-amz-server-side-encryption` S3 accepts. */
const SSE_METHODS = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);

/**
 * Refuses request headers that ask for something s3local would silently not do: server-side
 * encryption with keys it does not have, and object tags (`x-amz-tagging`) on a backend that does
 * not store them (Drime: dropping them would let a client believe they were kept; backends with
 * tagging read them with requestTags, tagging.ts). Malformed ones get S3's 400 first. A storage
 * class S3 knows is accepted (every object is kept, and listed, as STANDARD); `AES256` is accepted
 * (the data directory's encryption is the file system's). ACL headers are checked by the handlers
 * that create objects (acl.ts); object lock headers against the bucket by lockForNewVersion
 * (object-lock.ts).
 */
export function assertSupportedWriteHeaders(ctx: HandlerContext): void {
  const storageClass = header(ctx.headers, 'x-amz-storage-class');
  if (storageClass !== undefined && !STORAGE_CLASSES.has(storageClass)) {
    throw new S3Error('InvalidStorageClass', undefined, { StorageClassRequested: storageClass });
  }
  const sse = header(ctx.headers, 'x-amz-server-side-encryption');
  const customerKey = header(ctx.headers, 'x-amz-server-side-encryption-customer-algorithm');
  const kmsKey = header(ctx.headers, 'x-amz-server-side-encryption-aws-kms-key-id');
  // The messages are S3's own for these requests.
  if (sse !== undefined && !SSE_METHODS.has(sse)) {
    throw new S3Error('InvalidArgument', 'The encryption method specified is not supported', {
      ArgumentName: 'x-amz-server-side-encryption',
      ArgumentValue: sse,
    });
  }
  if (sse !== undefined && customerKey !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with Customer provided key is incompatible with the encryption method specified',
      { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse },
    );
  }
  if (kmsKey !== undefined && !sse?.startsWith('aws:kms')) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms',
      { ArgumentName: 'x-amz-server-side-encryption', ArgumentValue: sse ?? 'null' },
    );
  }
  const unsupported =
    customerKey !== undefined ? 'SSE-C' : sse !== undefined && sse !== 'AES256' ? sse : undefined;
  if (unsupported !== undefined) {
    throw new S3Error('NotImplemented', `s3local does not implement server-side encryption ${unsupported}.`, {
      Header:
        customerKey !== undefined
          ? 'x-amz-server-side-encryption-customer-algorithm'
          : 'x-amz-server-side-encryption',
    });
  }
  // Kept by S3 for website hosting, which s3local does not do: refused rather than dropped.
  if (header(ctx.headers, 'x-amz-website-redirect-location') !== undefined) {
    throw new S3Error(
      'NotImplemented',
      's3local does not store x-amz-website-redirect-location (website hosting).',
      {
        Header: 'x-amz-website-redirect-location',
      },
    );
  }
  if (!ctx.backend.tagging && (header(ctx.headers, 'x-amz-tagging') ?? '') !== '') {
    throw new S3Error(
      'NotImplemented',
      `The ${ctx.backend.kind} backend does not store object tags (x-amz-tagging).`,
      { Header: 'x-amz-tagging' },
    );
  }
}

/**
 * The declared size of the object bytes: `x-amz-decoded-content-length` for aws-chunked bodies,
 * else Content-Length. A body of unknown length must be chunked; otherwise 411.
 */
export function declaredSize(ctx: HandlerContext): number | undefined {
  const decoded = header(ctx.headers, 'x-amz-decoded-content-length');
  const length = decoded ?? header(ctx.headers, 'content-length');
  if (length === undefined) {
    if (header(ctx.headers, 'transfer-encoding') === undefined) throw new S3Error('MissingContentLength');
    return undefined;
  }
  if (!/^\d+$/.test(length))
    throw new S3Error('InvalidArgument', 'Invalid Content-Length', { ArgumentName: 'Content-Length' });
  const size = Number(length);
  if (size > MAX_PUT_SIZE) {
    throw new S3Error('EntityTooLarge', undefined, {
      ProposedSize: length,
      MaxSizeAllowed: String(MAX_PUT_SIZE),
    });
  }
  return size;
}

export async function putObject(ctx: HandlerContext, bucket: string, key: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  assertSupportedWriteHeaders(ctx);
  assertOwnerOnlyAclHeaders(ctx);
  const size = declaredSize(ctx);
  const opts: PutOptions = {
    headers: readObjectHeaders(ctx.headers),
    metadata: readMetadata(ctx.headers),
    signal: ctx.signal,
  };
  if (size !== undefined) opts.size = size;
  const tags = requestTags(ctx);
  if (tags) opts.tags = tags;
  const precondition = writePrecondition(ctx.headers);
  if (precondition) opts.precondition = precondition;
  const lock = await lockForNewVersion(ctx, bucket, true);
  if (lock) opts.lock = lock;
  const info = await ctx.backend.putObject(bucket, key, ctx.body, opts);
  return {
    status: 200,
    headers: {
      etag: quoteETag(info.etag),
      ...checksumHeaders(info),
      ...writtenVersionHeader(info.versionId),
    },
  };
}
