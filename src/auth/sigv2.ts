/**
 * AWS Signature Version 2 (legacy), header form `Authorization: AWS AKID:signature` and query form
 * `?AWSAccessKeyId=&Expires=&Signature=`.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import { createHmac } from 'node:crypto';
import { S3Error } from '../s3/errors.js';
import type { AuthConfig } from './types.js';
import { headerValue, queryValue, type RequestView } from './canonical.js';
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

/**
 * CanonicalizedResource: `/bucket` for a virtual-hosted bucket, then the path exactly as sent on
 * the wire (AWS's own example signs `/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re`), then the
 * sub-resources sorted by name with decoded values. `bareEmpty` writes a sub-resource sent with an
 * empty value (`?uploads=`) as its bare name (`?uploads`): Go clients put `uploads=` on the wire
 * (url.Values.Encode) while their SigV2 signers (rclone's v2sign.go, minio-go) sign the bare name;
 * botocore signs exactly what it sent.
 */
export function canonicalResourceV2(
  view: RequestView,
  virtualHostBucket: string | undefined,
  bareEmpty = false,
): string {
  let resource = virtualHostBucket ? `/${virtualHostBucket}${view.path}` : view.path;
  const subs = view.params.filter((p) => SIGV2_SUBRESOURCES.has(p.key));
  if (subs.length > 0) {
    // Stable sort by name keeps repeated names in the order sent.
    const sorted = [...subs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    resource +=
      '?' +
      sorted
        .map((p) => (p.rawValue === null || (bareEmpty && p.value === '') ? p.key : `${p.key}=${p.value}`))
        .join('&');
  }
  return resource;
}

/** True when a sub-resource was sent as `name=` (empty value): both signed forms are then accepted. */
function hasEmptySubresource(view: RequestView): boolean {
  return view.params.some((p) => SIGV2_SUBRESOURCES.has(p.key) && p.rawValue !== null && p.value === '');
}

/** CanonicalizedAmzHeaders: x-amz-* names lower-cased and sorted, repeated values joined with ','. */
export function canonicalAmzHeadersV2(view: RequestView, skip?: string): string {
  const names = [...view.rawHeaderValues.keys()].filter((n) => n.startsWith('x-amz-') && n !== skip).sort();
  let out = '';
  for (const name of names) {
    // Unfold obsolete line folding into one space, trim around the value.
    const values = view.rawHeaderValues.get(name)!.map((v) => v.replace(/\s*\r?\n\s*/g, ' ').trim());
    out += `${name}:${values.join(',')}\n`;
  }
  return out;
}

/**
 * The SigV2 StringToSign. `dateLine` is the Date header, '' when only x-amz-date is sent, or
 * Expires for the query form; `skipAmzHeader` leaves one x-amz-* header out (see dateVariants).
 */
export function stringToSignV2(
  view: RequestView,
  dateLine: string,
  virtualHostBucket: string | undefined,
  skipAmzHeader?: string,
  bareEmpty = false,
): string {
  return (
    `${view.method}\n` +
    `${headerValue(view, 'content-md5') ?? ''}\n` +
    `${headerValue(view, 'content-type') ?? ''}\n` +
    `${dateLine}\n` +
    canonicalAmzHeadersV2(view, skipAmzHeader) +
    canonicalResourceV2(view, virtualHostBucket, bareEmpty)
  );
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
  for (const bare of hasEmptySubresource(view) ? [false, true] : [false]) {
    out.push(stringToSignV2(view, date, virtualHostBucket, undefined, bare));
    if (amzDate !== undefined) {
      if (date !== '') out.push(stringToSignV2(view, '', virtualHostBucket, undefined, bare));
      out.push(stringToSignV2(view, amzDate, virtualHostBucket, 'x-amz-date', bare));
    }
  }
  return out;
}

/** Base64 HMAC-SHA1 signature of a SigV2 string to sign. */
export function signV2(secret: string, stringToSign: string): string {
  return createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64');
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
    const stringToSign = candidates[0]!;
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: signature,
      StringToSignBytes: spacedHex(stringToSign),
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
  if (date === undefined || parsed === undefined) {
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
  const candidates = [stringToSignV2(view, expires, virtualHostBucket)];
  if (hasEmptySubresource(view))
    candidates.push(stringToSignV2(view, expires, virtualHostBucket, undefined, true));
  return check(config, accessKeyId, signature, candidates);
}
