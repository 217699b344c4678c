/**
 * Object tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging, and the `x-amz-tagging`
 * header of PutObject, CopyObject (with `x-amz-tagging-directive`) and CreateMultipartUpload.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
 *
 * Limits, as S3 checks them (user guide "Categorizing your storage using tags"): at most 10 tags
 * per object (more: 400 BadRequest "Object tags cannot be greater than 10", what S3 answers for
 * both the header and PutObjectTagging), unique keys, a key of 1–128 and a value of 0–256
 * characters counted in UTF-16 ("Amazon S3 object tags are internally represented in UTF-16"),
 * keys and values of Unicode letters, numbers, white space and `_ . : / = + - @`, and no key
 * starting with the reserved `aws:` prefix; anything else is 400 InvalidTag. Tags are returned
 * in key order, as S3 lists them.
 *
 * Backends without tagging (Drime) answer the tagging operations, and writes carrying a non-empty
 * `x-amz-tagging`, 501 NotImplemented: s3local never drops tags a client believes were kept.
 */
import { S3Error } from '../errors.js';
import type { Query } from '../endpoint.js';
import { hasIntegrityHeader, header } from '../headers.js';
import type { ObjectTag, TaggingStore } from '../../storage/backend.js';
import { parseTagging, taggingXml } from '../xml/tagging.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { versionSelector } from './object-get.js';
import { versionHeader } from './object-lock.js';
import { assertSupportedWriteHeaders } from './object-put.js';
import { readSmallBody } from './read-body.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/** At most 10 tags per object. */
export const MAX_TAGS = 10;
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;
/** The characters S3 allows in tag keys and values (IAM's Tag pattern, which S3 shares). */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** The backend's tagging; 501 for a backend without it. */
function taggingStore(ctx: HandlerContext): TaggingStore {
  const store = ctx.backend.tagging;
  if (!store) {
    throw new S3Error('NotImplemented', `The ${ctx.backend.kind} backend does not store object tags.`);
  }
  return store;
}

/** The answer to an `x-amz-tagging` that is not a URL query (S3's own words). */
function badTaggingHeader(): S3Error {
  return new S3Error(
    'InvalidArgument',
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
    { ArgumentName: 'x-amz-tagging' },
  );
}

/**
 * Parses an `x-amz-tagging` value: URL query parameters (`k1=v1&k2=v2`), form-decoded (`+` is a
 * space). A name without `=` has the empty value (ceph s3-tests `test_put_obj_with_tags`). A
 * duplicate name, a second `=` in a pair or a broken escape: InvalidArgument, as S3 answers.
 */
export function parseTaggingHeader(value: string): ObjectTag[] {
  const tags: ObjectTag[] = [];
  const seen = new Set<string>();
  for (const part of value.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    // A second '=' or an empty key (`=v`, `=`) is not the URL-encoded query form S3 asks for.
    if (eq === 0 || (eq >= 0 && part.indexOf('=', eq + 1) >= 0)) throw badTaggingHeader();
    const decode = (s: string): string => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        throw badTaggingHeader();
      }
    };
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    if (seen.has(key)) throw badTaggingHeader();
    seen.add(key);
    tags.push({ key, value: eq < 0 ? '' : decode(part.slice(eq + 1)) });
  }
  return tags;
}

/** Checks a tag set against S3's limits (see the module comment) and returns it in key order. */
export function validateTagSet(tags: ObjectTag[]): ObjectTag[] {
  const keys = new Set<string>();
  // Each tag is checked before the count, and the error names the key, as S3 answers
  // (versitygw's PutObjectTagging tests against AWS).
  for (const { key, value } of tags) {
    const invalid = (message: string): S3Error => new S3Error('InvalidTag', message, { TagKey: key });
    if (key.length === 0 || !TAG_CHARS.test(key)) throw invalid('The TagKey you have provided is invalid');
    if (key.length > MAX_KEY_LENGTH) throw invalid('The TagKey you have provided is too long, max 128');
    if (key.toLowerCase().startsWith('aws:')) throw invalid('Your TagKey cannot be prefixed with aws:');
    if (!TAG_CHARS.test(value)) throw invalid('The TagValue you have provided is invalid');
    if (value.length > MAX_VALUE_LENGTH) throw invalid('The TagValue you have provided is too long, max 256');
    if (keys.has(key)) throw invalid('Cannot provide multiple Tags with the same key');
    keys.add(key);
  }
  if (tags.length > MAX_TAGS) throw new S3Error('BadRequest', 'Object tags cannot be greater than 10');
  return [...tags].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * The tags of a write's `x-amz-tagging` header, validated; undefined when absent or empty. A
 * non-empty header sent to a backend without tagging: 501 NotImplemented (the header would be
 * silently dropped otherwise).
 */
export function requestTags(ctx: HandlerContext): ObjectTag[] | undefined {
  const value = header(ctx.headers, 'x-amz-tagging') ?? '';
  if (value === '') return undefined;
  assertSupportedWriteHeaders(ctx);
  return validateTagSet(parseTaggingHeader(value));
}

/**
 * CopyObject's tags (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html):
 * `x-amz-tagging-directive: REPLACE` gives the request's `x-amz-tagging` (none when absent);
 * COPY, the default, leaves them undefined, so the backend copies the source version's.
 */
export function copyTags(ctx: HandlerContext): ObjectTag[] | undefined {
  const directive = (header(ctx.headers, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown tagging directive.', {
      ArgumentName: 'x-amz-tagging-directive',
      ArgumentValue: directive,
    });
  }
  if (directive === 'COPY') return undefined;
  const tags = requestTags(ctx) ?? [];
  // REPLACE with no tags on a backend without tagging is what it would do anyway.
  return ctx.backend.tagging ? tags : undefined;
}

/**
 * GetObjectTagging (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html):
 * the version is looked up as HeadObject looks it up, so the errors are HeadObject's (NoSuchKey,
 * NoSuchVersion, the delete-marker answers). An untagged object has an empty TagSet. The
 * response names the version in `x-amz-version-id` in a versioned bucket.
 */
export async function getObjectTagging(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  taggingStore(ctx);
  const info = await ctx.backend.headObject(bucket, key, versionSelector(ctx, query));
  const result = xmlResult(taggingXml(info.tags ?? []));
  Object.assign(result.headers, versionHeader(info.versionId));
  return result;
}

/**
 * PutObjectTagging (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html):
 * replaces the whole tag set of the version. The operation is `httpChecksumRequired` in the S3
 * API model (the SDKs always send a checksum): Content-MD5 or an x-amz-checksum must protect the
 * body, as for DeleteObjects. Object lock does not protect tags (see
 * storage/local/object-tagging.ts), so a locked version's tags can change.
 */
export async function putObjectTagging(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = taggingStore(ctx);
  if (!hasIntegrityHeader(ctx.headers)) {
    throw new S3Error(
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for PutObjectTagging requests',
    );
  }
  const version = versionSelector(ctx, query);
  await ctx.backend.headObject(bucket, key, version);
  const tags = validateTagSet(parseTagging(await readSmallBody(ctx.body.stream)));
  const { versionId } = await store.putObjectTagging(bucket, key, version, tags);
  return { status: 200, headers: versionHeader(versionId) };
}

/**
 * DeleteObjectTagging (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjectTagging.html):
 * removes every tag of the version; 204, with `x-amz-version-id` in a versioned bucket.
 */
export async function deleteObjectTagging(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = taggingStore(ctx);
  const version = versionSelector(ctx, query);
  await ctx.backend.headObject(bucket, key, version);
  const { versionId } = await store.putObjectTagging(bucket, key, version, []);
  return { status: 204, headers: versionHeader(versionId) };
}
