/**
 * ListParts and ListMultipartUploads, paginated.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
 */
import type { Query } from '../endpoint.js';
import { S3Error, isS3Error } from '../errors.js';
import { listPartsXml, listUploadsXml } from '../xml/multipart.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { multipartStore, uploadIdOf } from './multipart.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/** Both listings return at most 1,000 entries per page. */
const MAX_PAGE = 1000;

/** A non-negative integer query parameter (capped at `cap`), `fallback` when absent. */
function parseCount(query: Query, name: string, fallback: number, cap = Number.MAX_SAFE_INTEGER): number {
  const raw = query.get(name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) > 2 ** 31 - 1) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: raw,
    });
  }
  return Math.min(Number(raw), cap);
}

export async function listParts(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = multipartStore(ctx);
  const uploadId = uploadIdOf(query);
  const maxParts = parseCount(query, 'max-parts', MAX_PAGE, MAX_PAGE);
  const partNumberMarker = parseCount(query, 'part-number-marker', 0);
  const page = await store.listParts(bucket, key, uploadId, { partNumberMarker, maxParts });
  const result = xmlResult(listPartsXml(page, partNumberMarker, maxParts));
  if (page.upload.checksumAlgorithm !== undefined) {
    result.headers['x-amz-checksum-algorithm'] = page.upload.checksumAlgorithm;
  }
  if (page.upload.checksumType !== undefined)
    result.headers['x-amz-checksum-type'] = page.upload.checksumType;
  return result;
}

/** `encoding-type=url`: keys and prefixes percent-encoded, `/` kept (as ListObjects does). */
function encoder(query: Query): (s: string) => string {
  const type = query.get('encoding-type');
  if (type === undefined) return (s) => s;
  if (type.toLowerCase() !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: type,
    });
  }
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

export async function listMultipartUploads(
  ctx: HandlerContext,
  bucket: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = multipartStore(ctx);
  const enc = encoder(query);
  const maxUploads = parseCount(query, 'max-uploads', MAX_PAGE, MAX_PAGE);
  const keyMarker = query.get('key-marker') ?? '';
  // upload-id-marker is ignored without a key-marker (API reference).
  const uploadIdMarker = keyMarker !== '' ? (query.get('upload-id-marker') ?? '') : '';
  const request = {
    prefix: query.get('prefix') ?? '',
    delimiter: query.get('delimiter') ?? '',
    keyMarker,
    uploadIdMarker,
    maxUploads,
    encodingType: query.has('encoding-type') ? 'url' : undefined,
  };
  // The upload-id-marker must name an upload of the key-marker (S3: InvalidArgument otherwise,
  // versitygw's ListMultipartUploads tests against AWS).
  if (uploadIdMarker !== '') {
    await store.getUpload(bucket, keyMarker, uploadIdMarker).catch((err: unknown) => {
      if (isS3Error(err) && err.code === 'NoSuchUpload') {
        throw new S3Error('InvalidArgument', 'Invalid uploadId marker', {
          ArgumentName: 'upload-id-marker',
          ArgumentValue: uploadIdMarker,
        });
      }
      throw err;
    });
  }
  const page = await store.listUploads(bucket, request);
  return xmlResult(listUploadsXml(bucket, page, request, enc));
}
