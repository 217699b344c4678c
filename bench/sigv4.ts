/**
 * The benchmark client's own AWS Signature Version 4 signer (node:crypto only), so the harness
 * depends on nothing it measures. Header-based auth for S3 and the chunk signatures of
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
import { createHash, createHmac } from 'node:crypto';

/** SHA-256 of the empty string, hex. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Who signs, and where. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Defaults to `s3`. */
  service?: string;
}

/** One request to sign. `path` is already URI-encoded (see {@link encodePath}). */
export interface RequestToSign {
  method: string;
  path: string;
  /** Decoded query parameters; a parameter without a value is `[name, '']`. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Lower-case header names; every header given here is signed. */
  headers: Readonly<Record<string, string>>;
  /** The value of x-amz-content-sha256 (a hex hash or one of the special payload names). */
  payloadHash: string;
  /** The request time, `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
}

/** The outcome of signing: the Authorization header and what chunk signing continues from. */
export interface SignedRequest {
  authorization: string;
  signature: string;
  scope: string;
  signingKey: Buffer;
}

/** SHA-256 hex of a string or buffer. */
export function sha256Hex(data: string | Buffer | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `YYYYMMDDTHHMMSSZ` of a date. */
export function toAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * RFC 3986 encoding as SigV4 requires: everything but `A-Za-z0-9-._~` is percent-encoded (UTF-8,
 * upper-case hex); `/` is kept when `keepSlash` (object key paths).
 */
export function uriEncode(value: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

/** The encoded path of an object (or of the bucket when `key` is empty), path-style. */
export function encodePath(bucket: string, key: string): string {
  return key === '' ? `/${uriEncode(bucket, false)}` : `/${uriEncode(bucket, false)}/${uriEncode(key, true)}`;
}

/** The query string, encoded and sorted by name then value, as both URL and canonical query. */
export function canonicalQuery(query: ReadonlyArray<readonly [string, string]>): string {
  return query
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** Derives and caches signing keys per day (one HMAC chain per date, not per request). */
export class Signer {
  private readonly service: string;
  private cachedDate = '';
  private cachedKey: Buffer = Buffer.alloc(0);

  constructor(private readonly creds: SigningCredentials) {
    this.service = creds.service ?? 's3';
  }

  /** The signing key of `date8` (`YYYYMMDD`). */
  signingKey(date8: string): Buffer {
    if (date8 !== this.cachedDate) {
      const kDate = hmac(`AWS4${this.creds.secretAccessKey}`, date8);
      const kRegion = hmac(kDate, this.creds.region);
      const kService = hmac(kRegion, this.service);
      this.cachedKey = hmac(kService, 'aws4_request');
      this.cachedDate = date8;
    }
    return this.cachedKey;
  }

  /** Signs a request; every header in `req.headers` is a signed header. */
  sign(req: RequestToSign): SignedRequest {
    const names = Object.keys(req.headers).sort();
    const canonicalHeaders = names
      .map((n) => `${n}:${(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
      .join('');
    const signedHeaders = names.join(';');
    const canonicalRequest = [
      req.method,
      req.path,
      canonicalQuery(req.query),
      canonicalHeaders,
      signedHeaders,
      req.payloadHash,
    ].join('\n');
    const date8 = req.amzDate.slice(0, 8);
    const scope = `${date8}/${this.creds.region}/${this.service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', req.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const signingKey = this.signingKey(date8);
    const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
    const authorization =
      `AWS4-HMAC-SHA256 Credential=${this.creds.accessKeyId}/${scope}, ` +
      `SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return { authorization, signature, scope, signingKey };
  }
}

/**
 * The signature of one aws-chunked chunk (AWS4-HMAC-SHA256-PAYLOAD): it chains the previous
 * signature (the request's own signature for the first chunk) and the chunk's SHA-256.
 */
export function chunkSignature(
  signingKey: Buffer,
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  const stringToSign = `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}
