/**
 * UploadPartCopy: a part made of (a range of) an existing object, with the source conditions
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html). The bytes stream
 * from the backend's GetObject into its UploadPart, hashed on the way (MD5 for the part ETag and
 * the upload's checksum algorithm).
 */
import type { Readable } from 'node:stream';
import type { Query } from '../endpoint.js';
import { S3Error } from '../errors.js';
import { checkCopySourceConditions, header } from '../headers.js';
import type { ByteRange, VersionSelector } from '../../storage/backend.js';
import { hashedBody } from '../../storage/multipart-body.js';
import { MAX_PART_SIZE, type UploadPartOptions } from '../../storage/multipart.js';
import { copyPartResultXml } from '../xml/multipart.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { parseCopySource } from './copy.js';
import { multipartStore, requiredPartNumber, uploadIdOf } from './multipart.js';
import { versionSelector } from './object-get.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/**
 * Parses `x-amz-copy-source-range: bytes=first-last` against the source size (both offsets
 * inclusive and inside the object). Undefined when absent: the whole object.
 */
export function parseCopySourceRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes=(\d{1,15})-(\d{1,15})\s*$/.exec(value);
  if (!m) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: value },
    );
  }
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (start > end || end >= size) {
    throw new S3Error('InvalidArgument', `Range specified is not valid for source object of size: ${size}`, {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: value,
    });
  }
  return { start, end };
}

/**
 * A delete marker named by version id cannot be a copy source: 400 InvalidRequest, not HEAD's 405
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html).
 */
function notADeleteMarker(err: unknown): never {
  if (err instanceof S3Error && err.code === 'MethodNotAllowed') {
    throw new S3Error(
      'InvalidRequest',
      'The source of a copy request may not specifically refer to a delete marker by version id.',
    );
  }
  throw err;
}

/**
 * Opens the source (range): conditions and range checked against the object's HEAD, then its
 * bytes opened; if the object was replaced in between, everything is checked again.
 */
async function openSource(
  ctx: HandlerContext,
  source: { bucket: string; key: string },
  version: VersionSelector,
): Promise<{ body: Readable; length: number; versionId: string | undefined }> {
  for (let attempt = 0; ; attempt++) {
    const head = await ctx.backend.headObject(source.bucket, source.key, version).catch(notADeleteMarker);
    checkCopySourceConditions(ctx.headers, head);
    const range = parseCopySourceRange(header(ctx.headers, 'x-amz-copy-source-range'), head.size);
    const length = range ? range.end - range.start + 1 : head.size;
    if (length > MAX_PART_SIZE) {
      throw new S3Error(
        'InvalidRequest',
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_SIZE}`,
      );
    }
    const { info, body } = await ctx.backend.getObject(source.bucket, source.key, {
      ...version,
      ...(range ? { range } : {}),
      signal: ctx.signal,
    });
    if ((info.etag === head.etag && info.size === head.size) || attempt >= 3) {
      if (info.size !== head.size) {
        body.destroy();
        throw new S3Error('InternalError', 'The copy source keeps changing; retry.');
      }
      return { body, length, versionId: info.versionId };
    }
    body.destroy();
  }
}

export async function uploadPartCopy(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = multipartStore(ctx);
  const partNumber = requiredPartNumber(query);
  const uploadId = uploadIdOf(query);
  // The destination bucket is checked before the copy source is parsed (NoSuchBucket first).
  await ctx.backend.headBucket(bucket);
  const source = parseCopySource(header(ctx.headers, 'x-amz-copy-source') ?? '');
  assertBucketAllowed(ctx.settings, source.bucket);
  // `?versionId=` in x-amz-copy-source names the source version, as for CopyObject.
  const version = versionSelector(
    ctx,
    new Map(source.versionId === undefined ? [] : [['versionId', source.versionId]]),
  );
  const upload = await store.getUpload(bucket, key, uploadId);
  const { body, length, versionId } = await openSource(ctx, source, version);
  const alg = upload.checksumAlgorithm;
  const opts: UploadPartOptions = { size: length, signal: ctx.signal };
  if (alg !== undefined) opts.checksumAlgorithm = alg;
  const part = await store.uploadPart(
    bucket,
    key,
    uploadId,
    partNumber,
    hashedBody(body, alg !== undefined ? [alg] : []),
    opts,
  );
  const result = xmlResult(copyPartResultXml(part.etag, part.lastModified, part.checksums));
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html: the version of the source copied.
  if (versionId !== undefined) result.headers['x-amz-copy-source-version-id'] = versionId;
  return result;
}
