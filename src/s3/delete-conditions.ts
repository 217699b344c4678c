/**
 * Conditional deletes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html):
 * DeleteObject's `If-Match`, `x-amz-if-match-size` and `x-amz-if-match-last-modified-time`, and
 * the `<ETag>`, `<Size>` and `<LastModifiedTime>` of an `<Object>` in a DeleteObjects body. They
 * become a precondition the backend runs under the key's lock, against the current version.
 *
 * - `If-Match` (general purpose buckets): an ETag or `*`. When the key has no current object
 *   (absent, or its latest version is a delete marker) S3 answers 404 NoSuchKey — measured on AWS
 *   (ministackorg/ministack#1475); a present object with another ETag is 412 PreconditionFailed.
 * - Size and last-modified time are documented for directory buckets only
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html); a general purpose
 *   bucket on AWS answers them 501. s3local evaluates them as directory buckets do — ignoring a
 *   guard a client asked for would delete what it meant to protect, and versitygw's
 *   DeleteObject_conditional_writes expects 412 on a mismatch: 412 when the object differs, while
 *   a key without an object satisfies them.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { WritePrecondition } from '../storage/backend.js';
import { S3Error } from './errors.js';
import { header, unquoteETag } from './headers.js';

/** The conditions of one delete; an empty object when it has none. */
export interface DeleteConditions {
  /** `If-Match`: a comma-separated list of ETags, or `*`. */
  ifMatch?: string;
  size?: number;
  lastModified?: Date;
}

/** The conditions of a DeleteObject request's headers. */
export function deleteConditionsOfHeaders(headers: IncomingHttpHeaders): DeleteConditions {
  return parseConditions(
    header(headers, 'if-match'),
    header(headers, 'x-amz-if-match-size'),
    header(headers, 'x-amz-if-match-last-modified-time'),
    ['x-amz-if-match-size', 'x-amz-if-match-last-modified-time'],
  );
}

/** The conditions of one `<Object>` of a DeleteObjects body (its parsed XML element). */
export function deleteConditionsOfEntry(entry: Record<string, unknown>): DeleteConditions {
  const text = (name: string): string | undefined => {
    const v = entry[name];
    return typeof v === 'string' ? v : undefined;
  };
  return parseConditions(text('ETag'), text('Size'), text('LastModifiedTime'), ['Size', 'LastModifiedTime']);
}

function parseConditions(
  ifMatch: string | undefined,
  size: string | undefined,
  lastModified: string | undefined,
  names: [size: string, lastModified: string],
): DeleteConditions {
  const conditions: DeleteConditions = {};
  if (ifMatch !== undefined) conditions.ifMatch = ifMatch;
  if (size !== undefined) {
    const trimmed = size.trim();
    if (!/^\d{1,16}$/.test(trimmed)) throw invalidArgument(names[0], size);
    conditions.size = Number(trimmed);
  }
  if (lastModified !== undefined) {
    // Headers carry an HTTP date, the XML body an ISO 8601 timestamp; Date.parse reads both.
    const t = Date.parse(lastModified.trim());
    if (Number.isNaN(t)) throw invalidArgument(names[1], lastModified);
    conditions.lastModified = new Date(t);
  }
  return conditions;
}

function invalidArgument(name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', `Invalid value for ${name}.`, {
    ArgumentName: name,
    ArgumentValue: value,
  });
}

/** The precondition a backend runs for `conditions` on `key`, or undefined when there are none. */
export function deletePrecondition(key: string, conditions: DeleteConditions): WritePrecondition | undefined {
  const { ifMatch, size, lastModified } = conditions;
  if (ifMatch === undefined && size === undefined && lastModified === undefined) return undefined;
  return (current) => {
    if (current === undefined) {
      if (ifMatch !== undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
      return;
    }
    if (ifMatch !== undefined && !etagListMatches(ifMatch, current.etag)) {
      throw preconditionFailed('If-Match');
    }
    if (size !== undefined && current.size !== size) throw preconditionFailed('x-amz-if-match-size');
    // Compared to the second, the resolution of the HTTP dates clients read LastModified from.
    if (lastModified !== undefined && seconds(current.lastModified) !== seconds(lastModified)) {
      throw preconditionFailed('x-amz-if-match-last-modified-time');
    }
  };
}

/** True when `list` (`*` or ETags, quoted or not, comma-separated) names `etag`. */
function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || unquoteETag(v) === etag;
  });
}

function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function preconditionFailed(condition: string): S3Error {
  return new S3Error('PreconditionFailed', undefined, { Condition: condition });
}
