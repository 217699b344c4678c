/**
 * Header helpers: user metadata <-> x-amz-meta-*, standard object headers, Range, conditionals,
 * ETag quoting, HTTP dates.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';
import type { ByteRange, ObjectHeaders, ObjectInfo } from '../storage/backend.js';
import { decodeMetadataValue, encodeMetadataValue } from './metadata-values.js';

/** A header's single value (Node joins most repeated headers with ", "). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * AWS limits user metadata to 2 KB, "measured by taking the sum of the number of bytes in the UTF-8
 * encoding of each key and value" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html).
 */
const MAX_METADATA_BYTES = 2048;

/**
 * Reads `x-amz-meta-*` headers: names lower-cased without the prefix, values as Unicode text (their
 * UTF-8 bytes and RFC 2047 encoded-words decoded, see decodeMetadataValue), measured in UTF-8.
 */
export function readMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const metadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const key = name.slice('x-amz-meta-'.length);
    const v = decodeMetadataValue(Array.isArray(value) ? value.join(',') : value);
    metadata[key] = v;
    bytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(v, 'utf8');
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', undefined, {
      Size: String(bytes),
      MaxSizeAllowed: String(MAX_METADATA_BYTES),
    });
  }
  return metadata;
}

const STANDARD_HEADERS: ReadonlyArray<[keyof ObjectHeaders, string]> = [
  ['contentType', 'content-type'],
  ['contentEncoding', 'content-encoding'],
  ['contentDisposition', 'content-disposition'],
  ['contentLanguage', 'content-language'],
  ['cacheControl', 'cache-control'],
  ['expires', 'expires'],
];

/**
 * Reads the standard headers stored with an object. `aws-chunked` is a transfer framing, not a
 * content coding: it is removed from Content-Encoding before storing
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html).
 */
export function readObjectHeaders(headers: IncomingHttpHeaders): ObjectHeaders {
  const out: ObjectHeaders = {};
  for (const [prop, name] of STANDARD_HEADERS) {
    let v = header(headers, name);
    if (prop === 'contentEncoding' && v !== undefined) {
      v = v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked')
        .join(',');
      if (v === '') v = undefined;
    }
    if (v !== undefined) out[prop] = v;
  }
  if (out.contentType === undefined) out.contentType = 'binary/octet-stream';
  return out;
}

/**
 * True when the request protects its body with Content-MD5 or a flexible checksum (a header, a
 * trailer, or the SDK's algorithm header), as S3 requires for DeleteObjects and object lock writes.
 */
export function hasIntegrityHeader(headers: IncomingHttpHeaders): boolean {
  return (
    header(headers, 'content-md5') !== undefined ||
    Object.keys(headers).some((h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type') ||
    (header(headers, 'x-amz-trailer') ?? '').toLowerCase().startsWith('x-amz-checksum-')
  );
}

/** Response headers for a stored object (GET/HEAD), including metadata and checksums when asked. */
export function objectResponseHeaders(info: ObjectInfo, withChecksums: boolean): Record<string, string> {
  const h: Record<string, string> = {
    etag: quoteETag(info.etag),
    'last-modified': httpDate(info.lastModified),
    'accept-ranges': 'bytes',
  };
  for (const [prop, name] of STANDARD_HEADERS) {
    const v = info.headers[prop];
    if (v !== undefined) h[name] = v;
  }
  // Non-ASCII values go out RFC 2047-encoded, as S3 returns them (encodeMetadataValue).
  for (const [k, v] of Object.entries(info.metadata)) h['x-amz-meta-' + k] = encodeMetadataValue(v);
  if (info.parts && info.parts.sizes.length > 0) h['x-amz-mp-parts-count'] = String(info.parts.sizes.length);
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html: "The number of tags, if any".
  if (info.tags && info.tags.length > 0) h['x-amz-tagging-count'] = String(info.tags.length);
  if (withChecksums) Object.assign(h, checksumHeaders(info));
  return h;
}

/** `x-amz-checksum-*` headers (and the checksum type) of an object. */
export function checksumHeaders(
  info: Pick<ObjectInfo, 'checksums' | 'checksumType'>,
): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [alg, v] of Object.entries(info.checksums)) {
    if (v !== undefined) h['x-amz-checksum-' + alg.toLowerCase()] = v;
  }
  if (Object.keys(h).length > 0 && info.checksumType) h['x-amz-checksum-type'] = info.checksumType;
  return h;
}

/** GetObject's response-* query overrides (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). */
export const RESPONSE_OVERRIDES: ReadonlyArray<[string, string]> = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

export function quoteETag(etag: string): string {
  return `"${etag}"`;
}

/** Strips the quotes (and a weak prefix) of an ETag as clients send it. */
export function unquoteETag(value: string): string {
  let v = value.trim();
  if (v.startsWith('W/')) v = v.slice(2);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  return v;
}

/** RFC 7231 IMF-fixdate, e.g. `Sat, 21 Nov 2026 20:42:46 GMT`. */
export function httpDate(d: Date): string {
  return d.toUTCString();
}

/** Millisecond ISO-8601 with `Z`, as S3 XML uses. */
export function isoDate(d: Date): string {
  return d.toISOString();
}

/** Parses an HTTP date; undefined when absent or invalid (an invalid conditional date is ignored, as S3 does). */
export function parseHttpDate(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/**
 * Parses a `Range` header against an object size. Returns undefined when the header is absent or
 * not a single byte range S3 would honour (S3 ignores multiple ranges and bad syntax, serving the
 * whole object); throws InvalidRange (416) when the range cannot be satisfied.
 */
export function parseRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  // RFC 9110 §14.1.2 allows no whitespace inside a range: `bytes= -1` or `bytes=0 -1` is not one and
  // is ignored (the whole object, 200), as S3 does (versitygw's range tables, taken from AWS).
  const m = /^bytes=(\d*)-(\d*)$/i.exec(value.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  let start: number;
  let end: number;
  if (a === '') {
    if (b === '') return undefined;
    const suffix = Number(b);
    if (suffix === 0) throw invalidRange(value, size);
    // The last N > 0 bytes of an empty object are the empty object: S3 answers it whole (200).
    if (size === 0) return undefined;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return undefined; // syntactically invalid: ignored (RFC 7233 §2.1)
    if (start >= size) throw invalidRange(value, size);
  }
  return { start, end };
}

function invalidRange(value: string, size: number): S3Error {
  return new S3Error(
    'InvalidRange',
    undefined,
    { RangeRequested: value, ActualObjectSize: String(size) },
    { 'content-range': `bytes */${size}` },
  );
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || unquoteETag(v) === etag;
  });
}

/** Seconds since the epoch: HTTP dates have one-second resolution. */
function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

/**
 * GetObject/HeadObject conditionals (RFC 7232 order, with S3's documented combinations:
 * If-Match true + If-Unmodified-Since false → 200; If-None-Match false + If-Modified-Since true → 304).
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 */
export function checkReadConditions(headers: IncomingHttpHeaders, info: ObjectInfo): void {
  const ifMatch = header(headers, 'if-match');
  const ifNoneMatch = header(headers, 'if-none-match');
  const ifUnmodified = parseHttpDate(header(headers, 'if-unmodified-since'));
  const ifModified = parseHttpDate(header(headers, 'if-modified-since'));
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, info.etag)) throw preconditionFailed('If-Match');
  } else if (ifUnmodified && seconds(info.lastModified) > seconds(ifUnmodified)) {
    throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, info.etag)) throw notModified(info);
  } else if (ifModified && seconds(info.lastModified) <= seconds(ifModified)) {
    throw notModified(info);
  }
}

/**
 * CopyObject's `x-amz-copy-source-if-*` conditions: all failures are 412 PreconditionFailed
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
 */
export function checkCopySourceConditions(headers: IncomingHttpHeaders, info: ObjectInfo): void {
  const ifMatch = header(headers, 'x-amz-copy-source-if-match');
  const ifNoneMatch = header(headers, 'x-amz-copy-source-if-none-match');
  const ifUnmodified = parseHttpDate(header(headers, 'x-amz-copy-source-if-unmodified-since'));
  const ifModified = parseHttpDate(header(headers, 'x-amz-copy-source-if-modified-since'));
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, info.etag)) throw preconditionFailed('x-amz-copy-source-If-Match');
  } else if (ifUnmodified && seconds(info.lastModified) > seconds(ifUnmodified)) {
    throw preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, info.etag)) throw preconditionFailed('x-amz-copy-source-If-None-Match');
  } else if (ifModified && seconds(info.lastModified) <= seconds(ifModified)) {
    throw preconditionFailed('x-amz-copy-source-If-Modified-Since');
  }
}

/**
 * Conditional writes on PutObject/CompleteMultipartUpload: `If-None-Match: *` (create only) and
 * `If-Match: <etag>` (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
 * Returns a precondition the backend runs atomically with its commit, or undefined.
 */
export function writePrecondition(
  headers: IncomingHttpHeaders,
): ((current: ObjectInfo | undefined) => void) | undefined {
  const ifNoneMatch = header(headers, 'if-none-match');
  const ifMatch = header(headers, 'if-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', 'If-None-Match on writes supports only the value *.', {
      Header: 'If-None-Match',
    });
  }
  // Both at once is not a write condition S3 supports: 501, as for an ETag in If-None-Match
  // (versitygw's PutObject/CompleteMultipartUpload conditional-write tables, taken from AWS).
  if (ifNoneMatch !== undefined && ifMatch !== undefined) {
    throw new S3Error('NotImplemented', 'If-Match and If-None-Match together are not supported on writes.', {
      Header: 'If-Match',
    });
  }
  if (ifNoneMatch === undefined && ifMatch === undefined) return undefined;
  return (current) => {
    if (ifNoneMatch !== undefined && current !== undefined) throw preconditionFailed('If-None-Match');
    if (ifMatch !== undefined) {
      if (current === undefined) throw new S3Error('NoSuchKey');
      if (!etagMatches(ifMatch, current.etag)) throw preconditionFailed('If-Match');
    }
  };
}

function preconditionFailed(condition: string): S3Error {
  return new S3Error('PreconditionFailed', undefined, { Condition: condition });
}

function notModified(info: ObjectInfo): S3Error {
  return new S3Error(
    'NotModified',
    undefined,
    {},
    {
      etag: quoteETag(info.etag),
      'last-modified': httpDate(info.lastModified),
    },
  );
}
