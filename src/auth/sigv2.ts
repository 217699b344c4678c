/**
 * AWS Signature Version 2 (legacy), header form `Authorization: AWS AKID:signature` and query form
 * `?AWSAccessKeyId=&Expires=&Signature=`.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import { createHmac } from 'node:crypto';
import { S3Error } from '../s3/errors.js';
import type { AuthConfig } from './types.js';
import {
  byteStringBytes,
  byteStringText,
  headerBytes,
  headerValue,
  isNonAscii,
  queryValue,
  type HeaderReading,
  type RequestView,
} from './canonical.js';
import { constantTimeEqual, spacedHex } from './crypto.js';
import { checkSkew, formatIsoSeconds, parseAnyDate } from './time.js';

/**
 * The query parameters that are part of the SigV2 CanonicalizedResource (sub-resources and
 * response overrides), per the RESTAuthentication page and what botocore's HmacV1Auth signs.
 */
export const SIGV2_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'cors',
  'delete',
  'encryption',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'object-lock',
  'partNumber',
  'policy',
  'replication',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'restore',
  'retention',
  'select',
  'select-type',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

/** Variations of the SigV2 string to sign that signers are known to produce (see dateVariants). */
export interface V2Variant {
  /** Leave this x-amz-* header out of CanonicalizedAmzHeaders (it is on the Date line instead). */
  skipAmzHeader?: string | undefined;
  /** Write a sub-resource sent as `name=` as its bare name (canonicalResourceV2). */
  bareEmpty?: boolean | undefined;
  /** How non-ASCII header bytes are read (HeaderReading); `as-sent` by default. */
  reading?: HeaderReading | undefined;
  /** Sign a path-style bucket path `/bucket` as `/bucket/` (isPathStyleBucketOnly). */
  bucketSlash?: boolean | undefined;
}

/**
 * True for a path-style bucket-level request (path `/bucket`, no key): botocore signs it with a
 * trailing slash, `/bucket/`, while sending `/bucket` (botocore handlers.py
 * remove_bucket_from_url_paths_from_model: "the auth_path must be terminated with a '/' character
 * to generate a signature that the server will accept"; https://github.com/boto/boto3/issues/4433).
 */
function isPathStyleBucketOnly(view: RequestView, virtualHostBucket: string | undefined): boolean {
  return virtualHostBucket === undefined && /^\/[^/]+$/.test(view.path);
}

/**
 * CanonicalizedResource as a byte string: `/bucket` for a virtual-hosted bucket, then the path
 * exactly as sent on the wire (AWS's own example signs `/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re`),
 * then the sub-resources sorted by name with decoded values (as UTF-8: botocore signs
 * `unquote(value)`). `bareEmpty` writes a sub-resource sent with an empty value
 * (`?uploads=`) as its bare name (`?uploads`): Go clients put `uploads=` on the wire
 * (url.Values.Encode) while their SigV2 signers (rclone's v2sign.go, minio-go) sign the bare name;
 * botocore signs exactly what it sent. `bucketSlash` appends `/` to a path-style `/bucket`.
 */
export function canonicalResourceV2(
  view: RequestView,
  virtualHostBucket: string | undefined,
  bareEmpty = false,
  reading: HeaderReading = 'as-sent',
  bucketSlash = false,
): string {
  let resource = headerBytes(virtualHostBucket ? `/${virtualHostBucket}${view.path}` : view.path, reading);
  if (bucketSlash && isPathStyleBucketOnly(view, virtualHostBucket)) resource += '/';
  const subs = view.params.filter((p) => SIGV2_SUBRESOURCES.has(p.key));
  if (subs.length > 0) {
    // Stable sort by name keeps repeated names in the order sent.
    const sorted = [...subs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    resource +=
      '?' +
      sorted
        .map((p) =>
          p.rawValue === null || (bareEmpty && p.value === '')
            ? p.key
            : `${p.key}=${Buffer.from(p.value, 'utf8').toString('latin1')}`,
        )
        .join('&');
  }
  return resource;
}

/** True when a sub-resource was sent as `name=` (empty value): both signed forms are then accepted. */
function hasEmptySubresource(view: RequestView): boolean {
  return view.params.some((p) => SIGV2_SUBRESOURCES.has(p.key) && p.rawValue !== null && p.value === '');
}

/**
 * CanonicalizedAmzHeaders as a byte string: x-amz-* names lower-cased and sorted, repeated values
 * joined with ','; values read per `reading` (HeaderReading).
 */
export function canonicalAmzHeadersV2(
  view: RequestView,
  skip?: string,
  reading: HeaderReading = 'as-sent',
): string {
  const names = [...view.rawHeaderValues.keys()].filter((n) => n.startsWith('x-amz-') && n !== skip).sort();
  let out = '';
  for (const name of names) {
    // Unfold obsolete line folding into one space, trim around the value (ASCII whitespace only:
    // a byte such as 0xa0 may be part of a UTF-8 sequence).
    const values = view.rawHeaderValues
      .get(name)!
      .map((v) => headerBytes(v.replace(/[ \t]*\r?\n[ \t]*/g, ' ').replace(/^[ \t]+|[ \t]+$/g, ''), reading));
    out += `${name}:${values.join(',')}\n`;
  }
  return out;
}

/**
 * The SigV2 StringToSign as a byte string (sign its bytes: signV2). `dateLine` is the Date header,
 * '' when only x-amz-date is sent, or Expires for the query form; `variant` as in V2Variant.
 */
export function stringToSignV2(
  view: RequestView,
  dateLine: string,
  virtualHostBucket: string | undefined,
  variant: V2Variant = {},
): string {
  const reading = variant.reading ?? 'as-sent';
  const header = (name: string): string => headerBytes(headerValue(view, name) ?? '', reading);
  return (
    `${view.method}\n` +
    `${header('content-md5')}\n` +
    `${header('content-type')}\n` +
    `${headerBytes(dateLine, reading)}\n` +
    canonicalAmzHeadersV2(view, variant.skipAmzHeader, reading) +
    canonicalResourceV2(view, virtualHostBucket, variant.bareEmpty, reading, variant.bucketSlash)
  );
}

/**
 * The variants a request may have been signed with, each combined with the others: a sub-resource
 * sent as `name=` signed bare; non-ASCII header bytes read as latin1 (HeaderReading); a path-style
 * `/bucket` signed as `/bucket/` (botocore).
 */
function shapeVariants(view: RequestView, virtualHostBucket: string | undefined): V2Variant[] {
  let out: V2Variant[] = [{}];
  const widen = (key: 'bareEmpty' | 'bucketSlash'): V2Variant[] => [
    ...out,
    ...out.map((v) => ({ ...v, [key]: true })),
  ];
  if (hasEmptySubresource(view)) out = widen('bareEmpty');
  if (hasNonAsciiSigned(view)) out = [...out, ...out.map((v) => ({ ...v, reading: 'latin1' as const }))];
  if (isPathStyleBucketOnly(view, virtualHostBucket)) out = widen('bucketSlash');
  return out;
}

/** True when a signed header (or the path) holds a non-ASCII byte: both readings are then tried. */
function hasNonAsciiSigned(view: RequestView): boolean {
  if (isNonAscii(view.path)) return true;
  for (const [name, values] of view.rawHeaderValues) {
    if (
      (name.startsWith('x-amz-') || name === 'content-type' || name === 'content-md5' || name === 'date') &&
      values.some(isNonAscii)
    ) {
      return true;
    }
  }
  return false;
}

/**
 * The strings to sign a header-signed request may have used. Clients disagree when x-amz-date is
 * sent: botocore and MinIO put the Date header (or '') on the Date line with x-amz-date among the
 * amz headers; the RESTAuthentication text says the Date line is then empty; its DELETE example
 * puts the x-amz-date value on the Date line instead. All bind the same method, resource, headers
 * and time, so each is accepted; the first is the one echoed on failure.
 */
function dateVariants(view: RequestView, virtualHostBucket: string | undefined): string[] {
  const date = headerValue(view, 'date') ?? '';
  const amzDate = headerValue(view, 'x-amz-date');
  const out: string[] = [];
  for (const shape of shapeVariants(view, virtualHostBucket)) {
    out.push(stringToSignV2(view, date, virtualHostBucket, shape));
    if (amzDate !== undefined) {
      if (date !== '') out.push(stringToSignV2(view, '', virtualHostBucket, shape));
      out.push(stringToSignV2(view, amzDate, virtualHostBucket, { ...shape, skipAmzHeader: 'x-amz-date' }));
    }
  }
  return out;
}

/**
 * Base64 HMAC-SHA1 signature of a SigV2 string to sign given as a byte string (stringToSignV2);
 * a string holding a char above U+00FF is signed as its UTF-8 bytes.
 */
export function signV2(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret)
    .update(byteStringBytes(headerBytes(stringToSign)))
    .digest('base64');
}

function disabled(): S3Error {
  return new S3Error(
    'AccessDenied',
    'Signature Version 2 is disabled on this server (--no-sigv2); sign requests with AWS Signature Version 4.',
  );
}

function check(
  config: AuthConfig,
  accessKeyId: string,
  signature: string,
  candidates: readonly string[],
): string {
  const secret = config.credentials!.secretAccessKey;
  let ok = false;
  // Every candidate is computed and compared, so timing does not reveal which one matched.
  for (const stringToSign of candidates) {
    if (constantTimeEqual(signV2(secret, stringToSign), signature)) ok = true;
  }
  if (!ok) {
    // Echoed as the client signed it: the bytes decoded as UTF-8, and the exact bytes.
    const stringToSign = candidates[0]!;
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: accessKeyId,
      StringToSign: byteStringText(stringToSign),
      SignatureProvided: signature,
      StringToSignBytes: spacedHex(byteStringBytes(stringToSign)),
    });
  }
  return accessKeyId;
}

/** Verifies `Authorization: AWS AKID:signature`; returns the access key id. */
export function verifyHeaderV2(
  view: RequestView,
  authorization: string,
  config: AuthConfig,
  now: Date,
  virtualHostBucket: string | undefined,
): string | null {
  if (!config.allowSigV2) throw disabled();
  const rest = authorization.slice('AWS '.length).trim();
  const colon = rest.lastIndexOf(':');
  const accessKeyId = colon > 0 ? rest.slice(0, colon) : '';
  const signature = colon > 0 ? rest.slice(colon + 1).trim() : '';
  if (config.credentials === null) return accessKeyId === '' ? null : accessKeyId;
  if (accessKeyId === '' || signature === '') {
    throw new S3Error(
      'InvalidArgument',
      'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature',
      {
        ArgumentName: 'Authorization',
        ArgumentValue: authorization,
      },
    );
  }
  // The request time is x-amz-date when sent (it takes precedence over Date), else Date.
  const amzDate = headerValue(view, 'x-amz-date');
  const date = amzDate ?? headerValue(view, 'date');
  const parsed = date === undefined ? undefined : parseAnyDate(date);
  // A date before 1970 is not a valid request time (ceph/s3-tests *_bad_date_before_epoch_aws2).
  if (date === undefined || parsed === undefined || parsed.getTime() < 0) {
    throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  if (!constantTimeEqual(accessKeyId, config.credentials.accessKeyId)) {
    throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKeyId });
  }
  checkSkew(parsed, date, now);
  return check(config, accessKeyId, signature, dateVariants(view, virtualHostBucket));
}

/** True when the query carries SigV2 query-auth parameters. */
export function hasQueryV2Params(view: RequestView): boolean {
  return view.params.some((p) => p.key === 'AWSAccessKeyId' || p.key === 'Signature');
}

/** Verifies `?AWSAccessKeyId=&Expires=&Signature=`; returns the access key id. */
export function verifyQueryV2(
  view: RequestView,
  config: AuthConfig,
  now: Date,
  virtualHostBucket: string | undefined,
): string | null {
  if (!config.allowSigV2) throw disabled();
  const accessKeyId = queryValue(view, 'AWSAccessKeyId');
  const signature = queryValue(view, 'Signature');
  const expires = queryValue(view, 'Expires');
  if (config.credentials === null) return accessKeyId ?? null;
  if (accessKeyId === undefined || signature === undefined || expires === undefined) {
    throw new S3Error(
      'AccessDenied',
      'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
    );
  }
  if (!/^\d+$/.test(expires)) {
    throw new S3Error('AccessDenied', 'Invalid date (should be seconds since epoch): ' + expires);
  }
  const expiry = new Date(Number(expires) * 1000);
  if (!constantTimeEqual(accessKeyId, config.credentials.accessKeyId)) {
    throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: accessKeyId });
  }
  if (now.getTime() > expiry.getTime()) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      Expires: formatIsoSeconds(expiry),
      ServerTime: formatIsoSeconds(now),
    });
  }
  const candidates = shapeVariants(view, virtualHostBucket).map((shape) =>
    stringToSignV2(view, expires, virtualHostBucket, shape),
  );
  return check(config, accessKeyId, signature, candidates);
}
