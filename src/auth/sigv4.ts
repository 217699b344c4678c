/**
 * AWS Signature Version 4 for S3: the Authorization header form and the presigned query form.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
import { S3Error } from '../s3/errors.js';
import type { AuthConfig } from './types.js';
import {
  byteStringBytes,
  byteStringText,
  canonicalHeaderValue,
  canonicalQuery,
  canonicalUri,
  headerValue,
  isNonAscii,
  queryValue,
  type HeaderReading,
  type RequestView,
} from './canonical.js';
import { constantTimeEqual, hmacSha256, sha256Hex, signingKey, spacedHex } from './crypto.js';
import { requireSignedHeaders } from './signed-headers.js';
import {
  checkSkew,
  formatAmzDate,
  formatIsoSeconds,
  MAX_SKEW_MS,
  parseAmzDate,
  parseHttpDate,
} from './time.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
const SERVICE = 's3';
const TERMINAL = 'aws4_request';
/** Presigned URLs live at most seven days. */
export const MAX_PRESIGN_EXPIRES = 604800;

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';

/** How the request body is protected, from `x-amz-content-sha256` (or `X-Amz-Content-Sha256`). */
export type PayloadMode =
  | { kind: 'unsigned' }
  | { kind: 'sha256'; hex: string }
  | { kind: 'signed-chunks'; trailer: boolean }
  | { kind: 'unsigned-trailer' };

/**
 * Parses an `x-amz-content-sha256` value. SigV4a streaming (ECDSA) is NotImplemented; anything else
 * unknown is InvalidArgument, as on AWS.
 */
export function parsePayloadMode(value: string): PayloadMode {
  switch (value) {
    case UNSIGNED_PAYLOAD:
      return { kind: 'unsigned' };
    case STREAMING_SIGNED:
      return { kind: 'signed-chunks', trailer: false };
    case STREAMING_SIGNED_TRAILER:
      return { kind: 'signed-chunks', trailer: true };
    case STREAMING_UNSIGNED_TRAILER:
      return { kind: 'unsigned-trailer' };
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD':
    case 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER':
      throw new S3Error(
        'NotImplemented',
        'Signature Version 4A (ECDSA) streaming payloads are not implemented.',
      );
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { kind: 'sha256', hex: value.toLowerCase() };
  throw new S3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value },
  );
}

/** What the aws-chunked decoder needs to verify chunk and trailer signatures. */
export interface ChunkSigningContext {
  key: Buffer;
  /** The request timestamp line of the string to sign (`20130524T000000Z`). */
  amzDate: string;
  /** `20130524/us-east-1/s3/aws4_request` */
  scope: string;
  /** The request's own signature, which the first chunk signature chains from. */
  seedSignature: string;
}

/** Outcome of a SigV4 check. */
export interface SigV4Result {
  /** The access key id; null under --no-auth when none could be parsed. */
  principal: string | null;
  payload: PayloadMode;
  /** null under --no-auth: chunk framing is parsed but signatures are not checked. */
  chunkContext: ChunkSigningContext | null;
}

interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminal: string;
}

/** Splits `AKID/date/region/service/aws4_request` from the right (an access key may contain '/'). */
function parseCredential(value: string): Credential | undefined {
  const parts = value.split('/');
  if (parts.length < 5) return undefined;
  const [date, region, service, terminal] = parts.slice(-4) as [string, string, string, string];
  const accessKeyId = parts.slice(0, -4).join('/');
  if (accessKeyId === '' || !/^\d{8}$/.test(date)) return undefined;
  return { accessKeyId, date, region, service, terminal };
}

type ErrorForm = {
  code: 'AuthorizationHeaderMalformed' | 'AuthorizationQueryParametersError';
  prefix: string;
};
const HEADER_FORM: ErrorForm = {
  code: 'AuthorizationHeaderMalformed',
  prefix: 'The authorization header is malformed; ',
};
const QUERY_FORM: ErrorForm = {
  code: 'AuthorizationQueryParametersError',
  prefix: 'Error parsing the X-Amz-Credential parameter; ',
};

function checkCredential(raw: string, form: ErrorForm, config: AuthConfig): Credential {
  const cred = parseCredential(raw);
  if (!cred) {
    throw new S3Error(
      form.code,
      `${form.prefix}the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  if (cred.region !== config.region) {
    throw new S3Error(
      form.code,
      `${form.prefix}the region '${cred.region}' is wrong; expecting '${config.region}'`,
      { Region: config.region },
    );
  }
  if (cred.service !== SERVICE) {
    throw new S3Error(
      form.code,
      `${form.prefix}incorrect service "${cred.service}". This endpoint belongs to "s3".`,
    );
  }
  if (cred.terminal !== TERMINAL) {
    throw new S3Error(
      form.code,
      `${form.prefix}incorrect terminal "${cred.terminal}". This endpoint uses "aws4_request".`,
    );
  }
  return cred;
}

function checkAccessKey(cred: Credential, config: AuthConfig): string {
  const expected = config.credentials;
  if (expected === null) return cred.accessKeyId;
  if (!constantTimeEqual(cred.accessKeyId, expected.accessKeyId)) {
    throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: cred.accessKeyId });
  }
  return expected.secretAccessKey;
}

/** The parsed `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`. */
export interface AuthorizationV4 {
  credential: string;
  signedHeaders: string[];
  signature: string;
}

/**
 * Parses a SigV4 Authorization header. Tolerates spaces around `=` and after `,` (clients differ).
 */
export function parseAuthorizationV4(header: string): AuthorizationV4 {
  const rest = header.slice(SIGV4_ALGORITHM.length);
  const fields = new Map<string, string>();
  for (const part of rest.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
    );
  }
  return { credential, signedHeaders: signedHeaders.split(';'), signature };
}

/**
 * Builds the SigV4 canonical request as a byte string (one char per byte: header values are read
 * per `reading`, see HeaderReading; everything else is ASCII).
 */
export function buildCanonicalRequest(
  view: RequestView,
  canonicalQueryString: string,
  signedHeaders: readonly string[],
  payloadHash: string,
  uri: string = canonicalUri(view.path),
  reading: HeaderReading = 'as-sent',
): string {
  let headers = '';
  for (const name of signedHeaders) headers += `${name}:${canonicalHeaderValue(view, name, reading)}\n`;
  return [view.method, uri, canonicalQueryString, headers, signedHeaders.join(';'), payloadHash].join('\n');
}

/** The SigV4 string to sign of a canonical request given as a byte string (buildCanonicalRequest). */
export function buildStringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(byteStringBytes(canonicalRequest))}`;
}

/**
 * Verifies `provided` against every candidate canonical request (byte strings); all are computed
 * and compared in constant time, so timing does not tell which one matched. On failure the first
 * candidate is echoed, its text decoded as UTF-8 (as the client signed it) and its exact bytes in
 * CanonicalRequestBytes.
 */
function verifySignature(
  key: Buffer,
  amzDate: string,
  scope: string,
  candidates: readonly string[],
  provided: string,
  accessKeyId: string,
): void {
  const wanted = provided.toLowerCase();
  let ok = false;
  for (const canonicalRequest of candidates) {
    const stringToSign = buildStringToSign(amzDate, scope, canonicalRequest);
    if (constantTimeEqual(hmacSha256(key, stringToSign).toString('hex'), wanted)) ok = true;
  }
  if (!ok) {
    const canonicalRequest = candidates[0]!;
    const stringToSign = buildStringToSign(amzDate, scope, canonicalRequest);
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: provided,
      StringToSignBytes: spacedHex(stringToSign),
      CanonicalRequest: byteStringText(canonicalRequest),
      CanonicalRequestBytes: spacedHex(byteStringBytes(canonicalRequest)),
    });
  }
}

/**
 * Verifies against the canonical URI (each path segment decoded once and re-encoded), then, when
 * the path as sent differs from it (a client escaping unreserved characters such as `%2e`), against
 * the path exactly as sent, as some signers canonicalise it. When a signed header holds non-ASCII
 * bytes, each is tried with both readings of those bytes (HeaderReading). Every candidate is a
 * signature by the key holder over this very request; the first one is reported on failure.
 */
function verifyRequestSignature(
  view: RequestView,
  query: string,
  signedHeaders: readonly string[],
  payloadHash: string,
  key: Buffer,
  amzDate: string,
  scope: string,
  provided: string,
  accessKeyId: string,
): void {
  const normalized = canonicalUri(view.path);
  const uris = normalized === view.path || view.path === '' ? [normalized] : [normalized, view.path];
  const readings: HeaderReading[] = signedHeaders.some((name) => isNonAscii(canonicalHeaderValue(view, name)))
    ? ['as-sent', 'latin1']
    : ['as-sent'];
  const candidates: string[] = [];
  for (const uri of uris) {
    for (const reading of readings) {
      candidates.push(buildCanonicalRequest(view, query, signedHeaders, payloadHash, uri, reading));
    }
  }
  verifySignature(key, amzDate, scope, candidates, provided, accessKeyId);
}

/** The request time of a header-signed request: x-amz-date, else Date. */
function requestTime(view: RequestView): { date: Date; raw: string } {
  const amz = headerValue(view, 'x-amz-date');
  if (amz !== undefined) {
    const date = parseAmzDate(amz.trim());
    if (date) return { date, raw: amz.trim() };
  } else {
    const http = headerValue(view, 'date');
    const date = http === undefined ? undefined : parseHttpDate(http);
    if (date && http !== undefined) return { date, raw: http };
  }
  throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
}

/** Verifies a request signed with `Authorization: AWS4-HMAC-SHA256 ...`. */
export function verifyHeaderV4(
  view: RequestView,
  authorization: string,
  config: AuthConfig,
  now: Date,
): SigV4Result {
  const noAuth = config.credentials === null;
  const contentSha = headerValue(view, 'x-amz-content-sha256')?.trim();

  let parsed: AuthorizationV4;
  let cred: Credential;
  try {
    parsed = parseAuthorizationV4(authorization);
    cred = checkCredential(parsed.credential, HEADER_FORM, config);
  } catch (err) {
    if (!noAuth) throw err;
    // --no-auth: any signature is accepted; only the payload mode matters.
    return { principal: null, payload: parsePayloadMode(contentSha ?? UNSIGNED_PAYLOAD), chunkContext: null };
  }
  if (noAuth) {
    return {
      principal: cred.accessKeyId,
      payload: parsePayloadMode(contentSha ?? UNSIGNED_PAYLOAD),
      chunkContext: null,
    };
  }

  const secret = checkAccessKey(cred, config);
  const time = requestTime(view);
  const amzDate = formatAmzDate(time.date);
  if (amzDate.slice(0, 8) !== cred.date) {
    throw new S3Error(
      'AuthorizationHeaderMalformed',
      'The authorization header is malformed; Invalid credential date. Date is not the same as X-Amz-Date.',
    );
  }
  checkSkew(time.date, time.raw, now);

  // S3 requires the payload hash header with SigV4 header auth.
  if (contentSha === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  const payload = parsePayloadMode(contentSha);
  // host and every x-amz-* header must be signed (AccessDenied + HeadersNotSigned otherwise).
  requireSignedHeaders(view, parsed.signedHeaders);

  const scope = `${cred.date}/${cred.region}/${cred.service}/${cred.terminal}`;
  const key = signingKey(secret, cred.date, cred.region, cred.service);
  verifyRequestSignature(
    view,
    canonicalQuery(view.params),
    parsed.signedHeaders,
    contentSha,
    key,
    amzDate,
    scope,
    parsed.signature,
    cred.accessKeyId,
  );

  return {
    principal: cred.accessKeyId,
    payload,
    chunkContext: { key, amzDate, scope, seedSignature: parsed.signature.toLowerCase() },
  };
}

const PRESIGN_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Expires',
] as const;

function queryError(message: string): S3Error {
  return new S3Error('AuthorizationQueryParametersError', message);
}

/** True when the query carries SigV4 presign parameters. */
export function hasPresignV4Params(view: RequestView): boolean {
  return view.params.some(
    (p) => p.key === 'X-Amz-Algorithm' || p.key === 'X-Amz-Credential' || p.key === 'X-Amz-Signature',
  );
}

/** The body mode of a presigned request: X-Amz-Content-Sha256 if signed in, else the header, else unsigned. */
function presignPayload(view: RequestView): { payload: PayloadMode; canonicalHash: string } {
  const signed = queryValue(view, 'X-Amz-Content-Sha256');
  const header = headerValue(view, 'x-amz-content-sha256')?.trim();
  return {
    payload: parsePayloadMode(signed ?? header ?? UNSIGNED_PAYLOAD),
    canonicalHash: signed ?? UNSIGNED_PAYLOAD,
  };
}

/**
 * Verifies a presigned URL (query-string SigV4): as produced by @aws-sdk/s3-request-presigner,
 * boto3 `generate_presigned_url` and `aws s3 presign`.
 */
export function verifyPresignedV4(view: RequestView, config: AuthConfig, now: Date): SigV4Result {
  const noAuth = config.credentials === null;
  if (noAuth) {
    const cred = parseCredential(queryValue(view, 'X-Amz-Credential') ?? '');
    return {
      principal: cred?.accessKeyId ?? null,
      payload: presignPayload(view).payload,
      chunkContext: null,
    };
  }

  const values = new Map<string, string>();
  for (const name of PRESIGN_PARAMS) {
    const v = queryValue(view, name);
    if (v === undefined) {
      throw queryError(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    values.set(name, v);
  }
  const get = (name: (typeof PRESIGN_PARAMS)[number]): string => values.get(name)!;

  if (get('X-Amz-Algorithm') !== SIGV4_ALGORITHM) {
    throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  const rawDate = get('X-Amz-Date');
  const date = parseAmzDate(rawDate);
  if (!date) throw queryError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  const rawExpires = get('X-Amz-Expires');
  if (!/^-?\d+$/.test(rawExpires)) throw queryError('X-Amz-Expires should be a number');
  const expires = Number(rawExpires);
  if (expires < 0) throw queryError('X-Amz-Expires must be non-negative');
  if (expires > MAX_PRESIGN_EXPIRES) {
    throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGN_EXPIRES}`);
  }
  const cred = checkCredential(get('X-Amz-Credential'), QUERY_FORM, config);
  if (cred.date !== rawDate.slice(0, 8)) {
    throw queryError(
      `Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${rawDate.slice(0, 8)}".`,
    );
  }
  const secret = checkAccessKey(cred, config);

  if (date.getTime() - now.getTime() > MAX_SKEW_MS) {
    throw new S3Error('AccessDenied', 'Request is not valid yet');
  }
  const expiry = new Date(date.getTime() + expires * 1000);
  if (now.getTime() > expiry.getTime()) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': rawExpires,
      Expires: formatIsoSeconds(expiry),
      ServerTime: formatIsoSeconds(now),
    });
  }

  const { payload, canonicalHash } = presignPayload(view);
  const signedHeaders = get('X-Amz-SignedHeaders').split(';');
  // As with header auth: a presigned URL cannot be widened with unsigned x-amz-* headers.
  requireSignedHeaders(view, signedHeaders);
  const signature = get('X-Amz-Signature');
  const scope = `${cred.date}/${cred.region}/${cred.service}/${cred.terminal}`;
  const key = signingKey(secret, cred.date, cred.region, cred.service);
  verifyRequestSignature(
    view,
    canonicalQuery(view.params, 'X-Amz-Signature'),
    signedHeaders,
    canonicalHash,
    key,
    rawDate,
    scope,
    signature,
    cred.accessKeyId,
  );
  return {
    principal: cred.accessKeyId,
    payload,
    chunkContext: { key, amzDate: rawDate, scope, seedSignature: signature.toLowerCase() },
  };
}
