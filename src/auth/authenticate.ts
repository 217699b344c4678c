/**
 * `authenticate(input, config)`: verifies a request's signature from its headers alone (the server
 * calls it before sending `100 Continue`) and hands back the principal and the verified body.
 *
 * Order of precedence, as on AWS: one of an Authorization header (SigV4 or SigV2), SigV4 presign
 * query parameters or SigV2 query parameters; none of them is an anonymous request, refused
 * unless authentication is off (`config.credentials === null`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ObjectBody } from '../s3/body.js';
import { parseChecksumHeaders, parseTrailerHeader } from '../s3/checksums.js';
import { S3Error } from '../s3/errors.js';
import { AwsChunkedDecoder } from './aws-chunked.js';
import { headerValue, requestView, type RequestView } from './canonical.js';
import { hasQueryV2Params, verifyHeaderV2, verifyQueryV2 } from './sigv2.js';
import {
  hasPresignV4Params,
  parsePayloadMode,
  SIGV4_ALGORITHM,
  UNSIGNED_PAYLOAD,
  verifyHeaderV4,
  verifyPresignedV4,
  type ChunkSigningContext,
  type PayloadMode,
} from './sigv4.js';
import type { AuthConfig, AuthInput, AuthResult } from './types.js';
import { createObjectBody, parseContentMd5, VerifiedBody } from './verified-body.js';

interface Verified {
  principal: string | null;
  payload: PayloadMode;
  signing: ChunkSigningContext | null;
}

/** The payload mode of a request not signed with SigV4: from x-amz-content-sha256, if sent. */
function payloadWithoutSigV4(view: RequestView, config: AuthConfig): PayloadMode {
  const payload = parsePayloadMode(headerValue(view, 'x-amz-content-sha256')?.trim() ?? UNSIGNED_PAYLOAD);
  if (payload.kind === 'signed-chunks' && config.credentials !== null) {
    // Chunk signatures chain from a SigV4 seed signature; there is none to verify them against.
    throw new S3Error('InvalidRequest', 'Signed aws-chunked payloads require AWS Signature Version 4.');
  }
  return payload;
}

function verifyRequest(view: RequestView, input: AuthInput, config: AuthConfig, now: Date): Verified {
  // An empty Authorization header is no authorization at all: S3 answers it as an anonymous
  // request (403 AccessDenied; ceph/s3-tests test_object_create_bad_authorization_empty).
  const authorization = headerValue(view, 'authorization') || undefined;
  const v4Query = hasPresignV4Params(view);
  const v2Query = hasQueryV2Params(view);
  if ((authorization !== undefined && (v4Query || v2Query)) || (v4Query && v2Query)) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization', ArgumentValue: authorization ?? '' },
    );
  }

  if (authorization !== undefined) {
    if (authorization.startsWith(SIGV4_ALGORITHM + ' ')) {
      const r = verifyHeaderV4(view, authorization, config, now);
      return { principal: r.principal, payload: r.payload, signing: r.chunkContext };
    }
    if (authorization.startsWith('AWS ')) {
      const principal = verifyHeaderV2(view, authorization, config, now, input.virtualHostBucket);
      return { principal, payload: payloadWithoutSigV4(view, config), signing: null };
    }
    if (config.credentials !== null) {
      throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', {
        ArgumentName: 'Authorization',
        ArgumentValue: authorization,
      });
    }
    return { principal: null, payload: payloadWithoutSigV4(view, config), signing: null };
  }
  if (v4Query) {
    const r = verifyPresignedV4(view, config, now);
    return { principal: r.principal, payload: r.payload, signing: r.chunkContext };
  }
  if (v2Query) {
    const principal = verifyQueryV2(view, config, now, input.virtualHostBucket);
    return { principal, payload: payloadWithoutSigV4(view, config), signing: null };
  }
  if (config.credentials !== null) throw new S3Error('AccessDenied');
  return { principal: null, payload: payloadWithoutSigV4(view, config), signing: null };
}

function parseLength(headers: IncomingHttpHeaders, name: string): number | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  if (!/^\d{1,15}$/.test(value)) {
    throw new S3Error('InvalidArgument', `Invalid ${name} header.`, {
      ArgumentName: name,
      ArgumentValue: value,
    });
  }
  return Number(value);
}

function isAwsChunkedEncoding(headers: IncomingHttpHeaders): boolean {
  const raw = headers['content-encoding'];
  if (raw === undefined) return false;
  const value = Array.isArray(raw) ? raw.join(',') : raw;
  return value.split(',').some((c) => c.trim().toLowerCase() === 'aws-chunked');
}

/**
 * CompleteMultipartUpload (POST ?uploadId=) carries `x-amz-checksum-<alg>` as the checksum of the
 * whole object, not of its XML body: those headers are the handler's, not the body's.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 */
function isCompleteMultipartUpload(view: RequestView): boolean {
  return view.method === 'POST' && view.params.some((p) => p.key === 'uploadId');
}

/** Builds the decoded, verified body for a request whose signature passed. */
function buildBody(view: RequestView, source: Readable, verified: Verified): ObjectBody {
  const headers = view.headers;
  const checksum = isCompleteMultipartUpload(view) ? null : parseChecksumHeaders(headers);
  const declaredTrailers = parseTrailerHeader(headers);
  const contentMd5 = parseContentMd5(headers);
  const decodedLength = parseLength(headers, 'x-amz-decoded-content-length');
  const payload = verified.payload;

  let decoder: AwsChunkedDecoder | null = null;
  let sha256: string | undefined;
  if (payload.kind === 'signed-chunks' || payload.kind === 'unsigned-trailer') {
    if (decodedLength === undefined) {
      throw new S3Error(
        'MissingContentLength',
        'You must provide the x-amz-decoded-content-length HTTP header.',
      );
    }
    const signed = payload.kind === 'signed-chunks';
    const trailer = signed ? (payload.trailer ? 'signed' : 'none') : 'unsigned';
    if (trailer === 'none' && declaredTrailers.length > 0) {
      throw new S3Error(
        'InvalidRequest',
        'x-amz-trailer requires a payload with trailers (...-PAYLOAD-TRAILER).',
      );
    }
    decoder = new AwsChunkedDecoder({
      signedChunks: signed,
      trailer,
      signing: signed ? verified.signing : null,
      decodedLength,
      declaredTrailers,
    });
  } else if (isAwsChunkedEncoding(headers)) {
    // `Content-Encoding: aws-chunked` without a streaming x-amz-content-sha256: unsigned framing;
    // a plain hash, if any, covers the framed bytes as sent.
    decoder = new AwsChunkedDecoder({
      signedChunks: false,
      trailer: 'unsigned',
      signing: null,
      decodedLength,
      declaredTrailers,
      wireSha256: payload.kind === 'sha256' ? payload.hex : undefined,
    });
  } else {
    if (declaredTrailers.length > 0) {
      throw new S3Error('InvalidRequest', 'x-amz-trailer requires an aws-chunked request body.');
    }
    if (payload.kind === 'sha256') sha256 = payload.hex;
  }

  const verifier = new VerifiedBody({
    sha256,
    contentMd5,
    checksum,
    trailers: decoder ? () => decoder.trailers : undefined,
    expectedSize: decoder ? undefined : parseLength(headers, 'content-length'),
  });
  return createObjectBody(source, decoder, verifier);
}

/**
 * Authenticates a request and wraps its body. Throws an S3Error (AccessDenied, InvalidAccessKeyId,
 * SignatureDoesNotMatch, RequestTimeTooSkewed, AuthorizationHeaderMalformed, ...) before reading
 * any body byte. The returned body verifies payload hash, chunk signatures, decoded length,
 * Content-MD5 and flexible checksums as it streams (see ObjectBody).
 */
export function authenticate(input: AuthInput, config: AuthConfig): Promise<AuthResult> {
  try {
    const now = config.now ? config.now() : new Date();
    const view = requestView(input.method, input.url, input.headers, input.rawHeaders);
    const verified = verifyRequest(view, input, config, now);
    const body = buildBody(view, input.body, verified);
    return Promise.resolve({ principal: verified.principal, body });
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
