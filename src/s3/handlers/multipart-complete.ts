/**
 * CompleteMultipartUpload (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html).
 *
 * Validation errors (NoSuchUpload, InvalidPart, InvalidPartOrder, EntityTooSmall, MalformedXML,
 * a failed If-None-Match / If-Match, ...) are answered with their own status. Once the request is
 * valid, the answer is a keep-alive response, as S3 sends it: `200` and the headers at once, the
 * XML declaration, then a space every few seconds while the parts are assembled, then the
 * result element — or an `<Error>` element when the completion fails late ("a 200 OK response
 * can contain either a success or an error", which SDKs detect in the body).
 */
import { Readable } from 'node:stream';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../body.js';
import { CHECKSUM_HEADERS, isValidObjectChecksumValue } from '../checksums.js';
import { S3Error, isS3Error } from '../errors.js';
import { header, writePrecondition } from '../headers.js';
import type { Query } from '../endpoint.js';
import type { ObjectInfo } from '../../storage/backend.js';
import type { CompleteRequest } from '../../storage/multipart.js';
import { completeResultXml, parseCompleteRequest } from '../xml/multipart.js';
import { errorXml } from '../xml/responses.js';
import { lockAtComplete, writtenVersionHeader } from './object-lock.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { multipartStore, uploadIdOf } from './multipart.js';
import { readSmallBody } from './read-body.js';
import type { HandlerContext, S3Result } from './types.js';

/** 10,000 parts with SHA-256 checksums take about 1.5 MB of XML. */
const MAX_COMPLETE_BODY = 8 * 1024 * 1024;
/** Whitespace interval of the keep-alive response. */
export const KEEPALIVE_INTERVAL_MS = 5000;

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/**
 * The whole-object checksum, type and size headers a Complete request may carry, validated in
 * form (their values against the upload come later, in planCompletion). A malformed checksum
 * value is InvalidRequest "Value for x-amz-checksum-<alg> header is invalid.", and a negative or
 * non-numeric `x-amz-mp-object-size` InvalidRequest too, with the wording versitygw's
 * CompleteMultipartUpload_invalid_final_* and _mpu_object_size tests (run against AWS) expect.
 */
export function completeHeaders(ctx: HandlerContext): Omit<CompleteRequest, 'parts'> {
  const out: Omit<CompleteRequest, 'parts'> = {};
  const found: { algorithm: ChecksumAlgorithm; value: string }[] = [];
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = header(ctx.headers, CHECKSUM_HEADERS[alg]);
    if (v === undefined) continue;
    const value = v.trim();
    if (!isValidObjectChecksumValue(alg, value)) {
      throw new S3Error('InvalidRequest', `Value for ${CHECKSUM_HEADERS[alg]} header is invalid.`);
    }
    found.push({ algorithm: alg, value });
  }
  if (found.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header');
  if (found[0]) out.objectChecksum = found[0];
  const type = header(ctx.headers, 'x-amz-checksum-type');
  if (type !== undefined) {
    const t = type.trim().toUpperCase();
    if (t !== 'FULL_OBJECT' && t !== 'COMPOSITE')
      throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
    out.checksumType = t;
  }
  const size = header(ctx.headers, 'x-amz-mp-object-size')?.trim();
  if (size !== undefined) {
    if (/^-\d{1,15}$/.test(size) && Number(size) < 0) {
      throw new S3Error(
        'InvalidRequest',
        `Value for x-amz-mp-object-size header is less than zero: '${size}'`,
      );
    }
    if (!/^\d{1,15}$/.test(size)) {
      throw new S3Error('InvalidRequest', `Value for x-amz-mp-object-size header is invalid: '${size}'`);
    }
    out.objectSize = Number(size);
  }
  return out;
}

/** The object's URL for `<Location>`, path or virtual-host style as the request was. */
function locationOf(ctx: HandlerContext, bucket: string, key: string): string {
  const host = header(ctx.headers, 'host') ?? 'localhost';
  const path = encodeURIComponent(key).replace(/%2F/g, '/');
  const hostname = host.replace(/:\d+$/, '');
  return hostname.startsWith(bucket + '.') ? `http://${host}/${path}` : `http://${host}/${bucket}/${path}`;
}

/**
 * The `<Error>` document of a failure after the 200 was sent (AWS: "a request could fail after the
 * initial 200 OK response has been sent ... the error is embedded in the 200 OK response",
 * API_CompleteMultipartUpload). Anything but an S3Error is an InternalError without its message
 * (no path, no stack).
 */
export function lateErrorXml(err: unknown, resource: string, requestId: string, hostId: string): string {
  return errorXml(isS3Error(err) ? err : new S3Error('InternalError'), resource, requestId, hostId);
}

/**
 * The keep-alive body: the XML declaration at once, a space every `intervalMs` until `result`
 * settles, then its document (declaration stripped) or the `<Error>` document of its failure.
 */
export function keepAliveBody(
  result: Promise<string>,
  onError: (err: unknown) => string,
  intervalMs = KEEPALIVE_INTERVAL_MS,
): Readable {
  const stream = new Readable({ read() {} });
  stream.push(XML_DECLARATION);
  const timer = setInterval(() => stream.push(' '), intervalMs);
  const finish = (xml: string): void => {
    clearInterval(timer);
    if (stream.destroyed) return;
    stream.push(xml.startsWith(XML_DECLARATION) ? xml.slice(XML_DECLARATION.length) : xml);
    stream.push(null);
  };
  result.then(finish, (err: unknown) => finish(onError(err)));
  stream.on('close', () => clearInterval(timer));
  return stream;
}

export async function completeMultipartUpload(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
  keepAliveMs = KEEPALIVE_INTERVAL_MS,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = multipartStore(ctx);
  const uploadId = uploadIdOf(query);
  const precondition = writePrecondition(ctx.headers);
  const extra = completeHeaders(ctx);
  const parts = parseCompleteRequest(await readSmallBody(ctx.body.stream, MAX_COMPLETE_BODY));
  const request: CompleteRequest = { parts, ...extra };

  let validated!: () => void;
  const ready = new Promise<'validated'>((resolve) => (validated = () => resolve('validated')));
  // The client's disconnect does not cancel a completion that passed validation: it finishes,
  // and a retried Complete then gets the same answer from the remembered completion (200, the
  // same ETag, checksums and version id; storage/multipart-completions.ts), never a torn object.
  const done = store.completeUpload(bucket, key, uploadId, request, {
    ...(precondition ? { precondition } : {}),
    onValidated: validated,
    lockAtComplete: (created) => lockAtComplete(ctx, bucket, created),
  });
  const toXml = (info: ObjectInfo): string =>
    completeResultXml({
      location: locationOf(ctx, bucket, key),
      bucket,
      key,
      etag: info.etag,
      checksums: info.checksums,
      checksumType: info.checksumType,
    });
  const headers: Record<string, string> = { 'content-type': 'application/xml' };
  if (ctx.backend.versioning && (await ctx.backend.versioning.getBucketConfig(bucket)).status !== undefined) {
    // A versioned bucket names the new version in `x-amz-version-id`, a header: the answer waits
    // for the commit instead of starting early with keep-alive whitespace.
    const info = await done;
    return {
      status: 200,
      headers: { ...headers, ...writtenVersionHeader(info.versionId) },
      body: toXml(info),
    };
  }
  const first = await Promise.race([ready, done]);
  if (first !== 'validated') {
    // A store that never reported validation finished already: a plain answer.
    return { status: 200, headers, body: toXml(first) };
  }
  return {
    status: 200,
    headers,
    body: keepAliveBody(
      done.then(toXml),
      (err) => lateErrorXml(err, `/${bucket}/${key}`, ctx.requestId, ctx.hostId),
      keepAliveMs,
    ),
  };
}
