/**
 * Which headers a SigV4 request must sign: `host`, and every `x-amz-*` header it carries, for the
 * Authorization header form and for presigned URLs alike.
 *
 * AWS: "The host header must be included as a signed header" and "Any x-amz-* headers that you plan
 * to add to the request are also required to be signed"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html). S3 answers a request
 * that breaks the rule with AccessDenied "There were headers present in the request which were not
 * signed" and a `<HeadersNotSigned>` element naming them, comma-separated, e.g. for a presigned PUT
 * with an extra `x-amz-acl` (https://github.com/soto-project/soto/issues/374) or `x-amz-meta-*`
 * headers. MinIO refuses a SignedHeaders list without `host` with the same code and message
 * (cmd/signature-v4-utils.go, extractSignedHeaders: ErrUnsignedHeaders).
 *
 * Without this, a captured signed request or a presigned URL could be replayed with headers its
 * signer never authorised (`x-amz-copy-source` turns a PUT into a copy, `x-amz-meta-*`,
 * `x-amz-checksum-*`, `x-amz-object-lock-*` ...).
 *
 * What real clients sign (checked in their sources): botocore (awscli, boto3, s3transfer, duplicity)
 * signs every header but connection, expect, keep-alive, proxy-*, te, trailer, transfer-encoding,
 * upgrade, user-agent and x-amzn-trace-id (auth.py SIGNED_HEADERS_BLACKLIST), after flexible
 * checksums added x-amz-trailer / x-amz-decoded-content-length / x-amz-sdk-checksum-algorithm;
 * @smithy/signature-v4 (AWS SDK v3) signs all but a list with no x-amz-* header in it
 * (ALWAYS_UNSIGNABLE_HEADERS; x-amzn-trace-id is not x-amz-*), its checksum middleware runs
 * before signing; aws-sdk-go v1 (rclone) leaves only Authorization, User-Agent and
 * X-Amzn-Trace-Id unsigned (aws/signer/v4 ignoredHeaders), aws-sdk-go-v2 those and Expect,
 * Transfer-Encoding, and adds its aws-chunked trailer headers before its Signing step
 * (service/internal/checksum/middleware_add.go); minio-go (restic) and minio-js skip only
 * authorization, content-type, content-length and user-agent; s3cmd signs every header it sends.
 * Content-Type, Content-MD5 and the other non-x-amz headers are not required (minio-go and minio-js
 * never sign Content-Type).
 */
import { S3Error } from '../s3/errors.js';
import type { RequestView } from './canonical.js';

/** AWS's message for a request carrying headers its signature does not cover. */
export const HEADERS_NOT_SIGNED_MESSAGE = 'There were headers present in the request which were not signed';

/**
 * `x-amz-*` headers a SigV4 request may carry unsigned.
 *
 * `x-amz-content-sha256`: AWS does not require it signed (Scality ARSN-551 "In practice AWS does
 * not require x-amz-content-sha256 to be signed", https://github.com/scality/Arsenal/pull/2590;
 * a client leaving it unsigned works against AWS, https://github.com/zengularity/benji/pull/309).
 * With header auth its value is the last line of the canonical request, so the signature covers it
 * anyway; on a presigned URL it only picks how the (unsigned) body is framed and checked.
 *
 * Nothing else: x-amz-decoded-content-length, x-amz-trailer, x-amz-sdk-checksum-algorithm and
 * x-amz-checksum-* are signed by every client above, and they change how the body is read.
 */
export const UNSIGNED_AMZ_HEADERS_ALLOWED: ReadonlySet<string> = new Set(['x-amz-content-sha256']);

/**
 * The headers of `view` that must be signed and are not in `signedHeaders`: `host` first when the
 * list lacks it (present in the request or not), then each `x-amz-*` header present, once, in the
 * order received. Names compare case-insensitively. `x-amzn-*` headers are not `x-amz-*`.
 */
export function unsignedRequiredHeaders(view: RequestView, signedHeaders: readonly string[]): string[] {
  const signed = new Set(signedHeaders.map((h) => h.trim().toLowerCase()));
  const missing: string[] = [];
  if (!signed.has('host')) missing.push('host');
  const names = new Set<string>(view.rawHeaderValues.keys());
  for (const name of Object.keys(view.headers)) names.add(name.toLowerCase());
  for (const name of names) {
    if (name.startsWith('x-amz-') && !signed.has(name) && !UNSIGNED_AMZ_HEADERS_ALLOWED.has(name)) {
      missing.push(name);
    }
  }
  return missing;
}

/**
 * Throws AccessDenied "There were headers present in the request which were not signed" with
 * `HeadersNotSigned` (names joined with ", ", as S3 lists them) when a required header is unsigned.
 */
export function requireSignedHeaders(view: RequestView, signedHeaders: readonly string[]): void {
  const missing = unsignedRequiredHeaders(view, signedHeaders);
  if (missing.length > 0) {
    throw new S3Error('AccessDenied', HEADERS_NOT_SIGNED_MESSAGE, { HeadersNotSigned: missing.join(', ') });
  }
}
