/**
 * CreateMultipartUpload, UploadPart and AbortMultipartUpload.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html
 */
import type { Checksums } from '../body.js';
import { CHECKSUM_HEADERS, parseChecksumHeaders } from '../checksums.js';
import type { Query } from '../endpoint.js';
import { S3Error } from '../errors.js';
import { header, quoteETag, readMetadata, readObjectHeaders } from '../headers.js';
import {
  noSuchUpload,
  resolveChecksumSettings,
  type MultipartStore,
  type UploadPartOptions,
} from '../../storage/multipart.js';
import { initiateResultXml } from '../xml/multipart.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { parsePartNumber } from './object-get.js';
import { assertOwnerOnlyAclHeaders } from './acl.js';
import { assertSupportedWriteHeaders, declaredSize } from './object-put.js';
import { lockForNewVersion } from './object-lock.js';
import { requestTags } from './tagging.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/** The backend's multipart store; 501 for a backend without one. */
export function multipartStore(ctx: HandlerContext): MultipartStore {
  const store = ctx.backend.multipart;
  if (!store) {
    throw new S3Error(
      'NotImplemented',
      `The ${ctx.backend.kind} backend does not support multipart uploads.`,
    );
  }
  return store;
}

/** `uploadId` of the query; an empty one can name no upload. */
export function uploadIdOf(query: Query): string {
  const id = query.get('uploadId') ?? '';
  if (id === '') throw noSuchUpload(id);
  return id;
}

/** `partNumber` of UploadPart / UploadPartCopy: required, 1..10000. */
export function requiredPartNumber(query: Query): number {
  const n = parsePartNumber(query);
  if (n === undefined) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: '',
    });
  }
  return n;
}

/** `x-amz-checksum-<alg>` response headers for a part's checksums. */
export function partChecksumHeaders(checksums: Checksums): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [alg, v] of Object.entries(checksums) as [keyof typeof CHECKSUM_HEADERS, string][]) {
    h[CHECKSUM_HEADERS[alg]] = v;
  }
  return h;
}

export async function createMultipartUpload(
  ctx: HandlerContext,
  bucket: string,
  key: string,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  assertSupportedWriteHeaders(ctx);
  assertOwnerOnlyAclHeaders(ctx);
  const store = multipartStore(ctx);
  const settings = resolveChecksumSettings(
    header(ctx.headers, 'x-amz-checksum-algorithm'),
    header(ctx.headers, 'x-amz-checksum-type'),
  );
  // The bucket's default retention is counted from Complete, when the object is created (lockAtComplete).
  const lock = await lockForNewVersion(ctx, bucket, false, false);
  const tags = requestTags(ctx);
  const upload = await store.createUpload(bucket, key, {
    headers: readObjectHeaders(ctx.headers),
    metadata: readMetadata(ctx.headers),
    ...settings,
    ...(lock ? { lock } : {}),
    ...(tags ? { tags } : {}),
  });
  const result = xmlResult(initiateResultXml(bucket, key, upload.uploadId));
  if (upload.checksumAlgorithm !== undefined) {
    result.headers['x-amz-checksum-algorithm'] = upload.checksumAlgorithm;
  }
  if (upload.checksumType !== undefined) result.headers['x-amz-checksum-type'] = upload.checksumType;
  return result;
}

export async function uploadPart(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  assertSupportedWriteHeaders(ctx);
  const store = multipartStore(ctx);
  const partNumber = requiredPartNumber(query);
  const uploadId = uploadIdOf(query);
  const size = declaredSize(ctx);
  const opts: UploadPartOptions = { signal: ctx.signal };
  if (size !== undefined) opts.size = size;
  const requested = parseChecksumHeaders(ctx.headers);
  if (requested) opts.checksumAlgorithm = requested.algorithm;
  const part = await store.uploadPart(bucket, key, uploadId, partNumber, ctx.body, opts);
  return { status: 200, headers: { etag: quoteETag(part.etag), ...partChecksumHeaders(part.checksums) } };
}

export async function abortMultipartUpload(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = multipartStore(ctx);
  const uploadId = uploadIdOf(query);
  // API_AbortMultipartUpload: x-amz-if-match-initiated-time aborts only the upload initiated at
  // that time (to the second); any other is 412 PreconditionFailed.
  const initiatedTime = header(ctx.headers, 'x-amz-if-match-initiated-time');
  if (initiatedTime !== undefined) {
    const wanted = Date.parse(initiatedTime);
    if (Number.isNaN(wanted)) {
      throw new S3Error('InvalidArgument', 'Invalid x-amz-if-match-initiated-time header.', {
        ArgumentName: 'x-amz-if-match-initiated-time',
        ArgumentValue: initiatedTime,
      });
    }
    const upload = await store.getUpload(bucket, key, uploadId);
    if (Math.floor(upload.initiated.getTime() / 1000) !== Math.floor(wanted / 1000)) {
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'x-amz-if-match-initiated-time' });
    }
  }
  await store.abortUpload(bucket, key, uploadId);
  return { status: 204, headers: {} };
}
