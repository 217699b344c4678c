/**
 * ObjectBody adapters for multipart: adding the upload's checksum to a part that did not carry
 * it, hashing the bytes of UploadPartCopy, and the assembled body Complete hands to `putObject`.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { BodyDigests, ChecksumAlgorithm, Checksums, ObjectBody } from '../s3/body.js';
import { createChecksum, type StreamingChecksum } from '../s3/checksums.js';

/**
 * `body` plus `algorithm` computed over its bytes (S3 computes the upload's checksum of a part
 * sent without one). The digests are the original ones with the new checksum added.
 */
export function withChecksum(body: ObjectBody, algorithm: ChecksumAlgorithm): ObjectBody {
  const hasher = createChecksum(algorithm);
  let value: string | undefined;
  const pass = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hasher.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      value = hasher.digest();
      cb();
    },
  });
  pass.on('error', () => {});
  body.stream.on('error', (err) => pass.destroy(err));
  pass.on('close', () => {
    if (!body.stream.destroyed && !body.stream.readableEnded) body.stream.destroy();
  });
  if (body.stream.destroyed) pass.destroy(body.stream.errored ?? new Error('the body was destroyed'));
  else body.stream.pipe(pass);
  return {
    stream: pass,
    digests(): BodyDigests {
      const inner = body.digests();
      if (value === undefined) throw new Error('digests are not available before the body has ended');
      return { ...inner, checksums: { ...inner.checksums, [algorithm]: value } };
    },
  };
}

/**
 * A body over a trusted stream (bytes read from storage, for UploadPartCopy): MD5 and the given
 * checksums are computed as the bytes pass.
 */
export function hashedBody(source: Readable, algorithms: readonly ChecksumAlgorithm[]): ObjectBody {
  const md5 = createHash('md5');
  const hashers: StreamingChecksum[] = algorithms.map(createChecksum);
  let size = 0;
  let result: BodyDigests | undefined;
  const pass = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      md5.update(chunk);
      for (const h of hashers) h.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const checksums: Checksums = {};
      for (const h of hashers) checksums[h.algorithm] = h.digest();
      result = { size, md5: md5.digest('hex'), checksums };
      cb();
    },
  });
  pass.on('error', () => {});
  source.on('error', (err) => pass.destroy(err));
  pass.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  if (source.destroyed) pass.destroy(source.errored ?? new Error('the source was destroyed'));
  else source.pipe(pass);
  return {
    stream: pass,
    digests() {
      if (result === undefined) throw new Error('digests are not available before the body has ended');
      return result;
    },
  };
}

/**
 * The assembled object of a Complete: `stream` yields the parts' bytes in order; `digests()`
 * reports the multipart ETag in place of an MD5 (backends store `PutOptions.etag` anyway) and
 * the object's COMPOSITE or FULL_OBJECT checksums, which were derived from the part checksums.
 */
export function assembledBody(
  stream: Readable,
  size: number,
  etag: string,
  checksums: Checksums,
): ObjectBody {
  return { stream, digests: () => ({ size, md5: etag, checksums }) };
}

/** A Readable over async chunks, in byte mode. */
export function readableOf(chunks: AsyncIterable<Buffer>): Readable {
  return Readable.from(chunks, { objectMode: false });
}
