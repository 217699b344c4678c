/**
 * ListObjects (V1) and ListObjectsV2.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */
import { S3Error } from '../errors.js';
import type { Query } from '../endpoint.js';
import { isoDate, quoteETag } from '../headers.js';
import type { ListPage, ObjectInfo } from '../../storage/backend.js';
import { compareUtf8 } from '../../storage/listing.js';
import { OWNER } from '../xml/responses.js';
import { xmlDocument, type XmlTree } from '../xml/xml.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/** S3 returns at most 1,000 keys per page. */
export const MAX_KEYS = 1000;

/** Parses max-keys: an integer >= 0, capped at 1000; 1000 when absent. */
export function parseMaxKeys(raw: string | undefined, name = 'max-keys'): number {
  if (raw === undefined || raw === '') return MAX_KEYS;
  if (!/^\d+$/.test(raw)) {
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      ArgumentName: name,
      ArgumentValue: raw,
    });
  }
  return Math.min(Number(raw), MAX_KEYS);
}

/**
 * `encoding-type=url` encodes keys and prefixes in the response. botocore decodes them with
 * unquote_plus, so `+` must be escaped and a space may not be sent raw; '/' stays readable.
 */
export function listEncoder(query: Query): (s: string) => string {
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

/** Continuation tokens are opaque to clients: base64url of the position to resume after. */
export function encodeContinuationToken(after: string): string {
  return Buffer.from('1:' + after, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith('1:')) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      ArgumentName: 'continuation-token',
    });
  }
  return text.slice(2);
}

function contents(objects: ObjectInfo[], enc: (s: string) => string, withOwner: boolean): XmlTree[] {
  return objects.map((o) => {
    const algs = Object.keys(o.checksums);
    return {
      Key: enc(o.key),
      LastModified: isoDate(o.lastModified),
      ETag: quoteETag(o.etag),
      ChecksumAlgorithm: algs.length ? algs : undefined,
      ChecksumType: algs.length ? o.checksumType : undefined,
      Size: o.size,
      Owner: withOwner ? OWNER : undefined,
      StorageClass: o.storageClass,
    };
  });
}

function prefixes(page: ListPage, enc: (s: string) => string): XmlTree[] | undefined {
  return page.commonPrefixes.length ? page.commonPrefixes.map((p) => ({ Prefix: enc(p) })) : undefined;
}

async function listPage(ctx: HandlerContext, bucket: string, query: Query, after: string, maxKeys: number) {
  assertBucketAllowed(ctx.settings, bucket);
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const page = await ctx.backend.listObjects(bucket, { prefix, delimiter, after, maxKeys });
  // max-keys=0 returns an empty, untruncated page (as AWS and the s3-tests suite expect).
  if (maxKeys === 0) page.isTruncated = false;
  return { page, prefix, delimiter };
}

export async function listObjectsV1(ctx: HandlerContext, bucket: string, query: Query): Promise<S3Result> {
  const enc = listEncoder(query);
  const maxKeys = parseMaxKeys(query.get('max-keys'));
  // start-after is ListObjectsV2's; S3 refuses it on V1 rather than ignore it (versitygw#2004).
  if (query.has('start-after')) {
    throw new S3Error('InvalidArgument', 'startAfter only supported in REST.GET.BUCKET with list-type=2', {
      ArgumentName: 'start-after',
      ArgumentValue: query.get('start-after') ?? '',
    });
  }
  const marker = query.get('marker') ?? '';
  const { page, prefix, delimiter } = await listPage(ctx, bucket, query, marker, maxKeys);
  return xmlResult(
    xmlDocument('ListBucketResult', {
      Name: bucket,
      Prefix: enc(prefix),
      Marker: enc(marker),
      // NextMarker is returned only with a delimiter; without one clients resume after the last key.
      NextMarker:
        page.isTruncated && delimiter !== '' && page.nextAfter !== undefined
          ? enc(page.nextAfter)
          : undefined,
      MaxKeys: maxKeys,
      Delimiter: delimiter !== '' ? enc(delimiter) : undefined,
      IsTruncated: page.isTruncated,
      EncodingType: query.has('encoding-type') ? 'url' : undefined,
      Contents: contents(page.objects, enc, true),
      CommonPrefixes: prefixes(page, enc),
    }),
  );
}

export async function listObjectsV2(ctx: HandlerContext, bucket: string, query: Query): Promise<S3Result> {
  const enc = listEncoder(query);
  const maxKeys = parseMaxKeys(query.get('max-keys'));
  const token = query.get('continuation-token');
  const startAfter = query.get('start-after');
  // Both may be sent: the listing resumes after the later of the two positions (each excludes
  // everything up to it).
  const resumeAt = token !== undefined ? decodeContinuationToken(token) : '';
  const after = startAfter !== undefined && compareUtf8(startAfter, resumeAt) > 0 ? startAfter : resumeAt;
  const fetchOwner = query.get('fetch-owner')?.toLowerCase() === 'true';
  const { page, prefix, delimiter } = await listPage(ctx, bucket, query, after, maxKeys);
  return xmlResult(
    xmlDocument('ListBucketResult', {
      Name: bucket,
      Prefix: enc(prefix),
      Delimiter: delimiter !== '' ? enc(delimiter) : undefined,
      MaxKeys: maxKeys,
      EncodingType: query.has('encoding-type') ? 'url' : undefined,
      KeyCount: page.objects.length + page.commonPrefixes.length,
      IsTruncated: page.isTruncated,
      ContinuationToken: token,
      NextContinuationToken:
        page.isTruncated && page.nextAfter !== undefined
          ? encodeContinuationToken(page.nextAfter)
          : undefined,
      StartAfter: startAfter !== undefined ? enc(startAfter) : undefined,
      Contents: contents(page.objects, enc, fetchOwner),
      CommonPrefixes: prefixes(page, enc),
    }),
  );
}
