/**
 * The verified body: a pass-through Transform that computes MD5 (the ETag), the requested flexible
 * checksum and, when asked, SHA-256, and checks them all in its flush callback, so a mismatch
 * destroys the stream with an S3Error before 'end' is ever emitted.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { BodyDigests, Checksums, ObjectBody } from '../s3/body.js';
import {
  CHECKSUM_HEADERS,
  checksumMismatchMessage,
  createChecksum,
  isValidChecksumValue,
  type ChecksumRequest,
  type StreamingChecksum,
} from '../s3/checksums.js';
import { S3Error } from '../s3/errors.js';

export interface VerifiedBodyOptions {
  /** Hex SHA-256 the body must have (x-amz-content-sha256 on a plain body). */
  sha256?: string | undefined;
  /** The Content-MD5 header (validated beforehand with parseContentMd5). */
  contentMd5?: string | undefined;
  /** The flexible checksum the request asked for, if any. */
  checksum?: ChecksumRequest | null | undefined;
  /** Where a `trailer` checksum's value is found once the body has ended. */
  trailers?: (() => ReadonlyMap<string, string>) | undefined;
  /** The exact size the body must have (Content-Length of a plain body), when known. */
  expectedSize?: number | undefined;
}

/**
 * Reads and validates `Content-MD5` (base64 of 16 bytes); InvalidDigest when malformed.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
export function parseContentMd5(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers['content-md5'];
  if (raw === undefined) return undefined;
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== 16 || bytes.toString('base64') !== value) {
    throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', {
      'Content-MD5': value,
    });
  }
  return value;
}

/** The pass-through that hashes and verifies; see the file comment. */
export class VerifiedBody extends Transform {
  private readonly opts: VerifiedBodyOptions;
  private readonly md5: Hash = createHash('md5');
  private readonly sha256: Hash | null;
  private readonly checksum: StreamingChecksum | null;
  private size = 0;
  private result: BodyDigests | undefined;

  constructor(opts: VerifiedBodyOptions) {
    super();
    this.opts = opts;
    this.sha256 = opts.sha256 !== undefined ? createHash('sha256') : null;
    // An MD5 flexible checksum is the MD5 this pass computes anyway (the ETag): no second hash.
    const alg = opts.checksum?.algorithm;
    this.checksum = alg !== undefined && alg !== 'MD5' ? createChecksum(alg) : null;
  }

  /** The digests; throws until the body has been fully received and verified. */
  digests(): BodyDigests {
    if (!this.result) throw new Error('body digests are not available before the body has ended cleanly');
    return this.result;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.opts.expectedSize !== undefined && this.size > this.opts.expectedSize) {
      callback(new S3Error('IncompleteBody', 'The request body is longer than its Content-Length.'));
      return;
    }
    this.md5.update(chunk);
    this.sha256?.update(chunk);
    this.checksum?.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.result = this.verify();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private verify(): BodyDigests {
    const o = this.opts;
    if (o.expectedSize !== undefined && this.size !== o.expectedSize) {
      throw new S3Error('IncompleteBody', undefined, {
        NumberBytesExpected: String(o.expectedSize),
        NumberBytesProvided: String(this.size),
      });
    }
    if (this.sha256) {
      const computed = this.sha256.digest('hex');
      if (computed !== o.sha256) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          ClientComputedContentSHA256: o.sha256 ?? '',
          S3ComputedContentSHA256: computed,
        });
      }
    }
    const md5 = this.md5.digest();
    if (o.contentMd5 !== undefined && md5.toString('base64') !== o.contentMd5) {
      throw new S3Error('BadDigest', undefined, {
        ExpectedDigest: o.contentMd5,
        CalculatedDigest: md5.toString('base64'),
      });
    }
    const checksums: Checksums = {};
    const req = o.checksum;
    if (req) {
      const computed = this.checksum ? this.checksum.digest() : md5.toString('base64');
      let expected: string | undefined;
      if (req.source === 'header') expected = req.value;
      if (req.source === 'trailer') {
        const header = CHECKSUM_HEADERS[req.algorithm];
        expected = o.trailers?.().get(header);
        if (expected === undefined) {
          throw new S3Error(
            'InvalidRequest',
            `The ${header} trailer declared in x-amz-trailer was not sent.`,
          );
        }
        if (!isValidChecksumValue(req.algorithm, expected)) {
          throw new S3Error('InvalidRequest', `Value for ${header} trailing header is invalid.`);
        }
      }
      if (expected !== undefined && expected !== computed) {
        throw new S3Error('BadDigest', checksumMismatchMessage(req.algorithm));
      }
      checksums[req.algorithm] = computed;
    }
    return { size: this.size, md5: md5.toString('hex'), checksums };
  }
}

/**
 * Wires `source -> [decoder] -> verifier` and returns the ObjectBody.
 *
 * The source (the IncomingMessage) is piped, never destroyed: when verification fails midway it is
 * unpiped and left paused, so the server can still answer with the S3 error and then drain or close
 * the connection. An error or premature close of the source destroys the chain.
 */
export function createObjectBody(
  source: Readable,
  decoder: Transform | null,
  verifier: VerifiedBody,
): ObjectBody {
  const first: Transform = decoder ?? verifier;
  // A body nobody reads must not crash the process when it errors; real consumers (pipeline,
  // async iteration) attach their own listeners and still see the error.
  verifier.on('error', () => {});
  if (decoder) {
    decoder.on('error', (err) => verifier.destroy(err));
    decoder.pipe(verifier);
  }
  const onSourceError = (err: Error): void => {
    first.destroy(err);
  };
  const onSourceClose = (): void => {
    if (!source.readableEnded) {
      first.destroy(
        new S3Error('IncompleteBody', 'The connection closed before the request body was complete.'),
      );
    }
  };
  source.on('error', onSourceError);
  source.once('close', onSourceClose);
  let detached = false;
  const detach = (): void => {
    if (detached) return;
    detached = true;
    source.unpipe(first);
    source.removeListener('close', onSourceClose);
    // Keep a no-op error listener on the source: it is the server's to handle from here.
    source.removeListener('error', onSourceError);
    source.on('error', () => {});
  };
  first.once('close', detach);
  verifier.once('close', () => {
    if (decoder && !decoder.destroyed) decoder.destroy();
    detach();
  });
  source.pipe(first);
  return { stream: verifier, digests: () => verifier.digests() };
}
