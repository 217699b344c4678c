/**
 * ObjectBody values for backend tests: the bytes stream through a Transform that computes the MD5
 * as they pass, like the verified bodies `auth/` hands to backends.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { BodyDigests, Checksums, ObjectBody } from '../../src/s3/body.js';
import { S3Error } from '../../src/s3/errors.js';

export interface BodyFromOptions {
  /**
   * Fail at the very end, after every byte passed, as a digest mismatch does: the stream is
   * destroyed with BadDigest instead of ending.
   */
  failAtEnd?: boolean;
  /** Checksums to report as requested and verified. */
  checksums?: Checksums;
}

/** An ObjectBody streaming `source` (a Buffer is sent in 64 KiB chunks). */
export function bodyFrom(source: Buffer | string | Readable, opts: BodyFromOptions = {}): ObjectBody {
  const input = typeof source === 'string' ? Buffer.from(source) : source;
  const readable = Buffer.isBuffer(input) ? Readable.from(chunks(input)) : input;
  const md5 = createHash('md5');
  let size = 0;
  let digests: BodyDigests | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      md5.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      if (opts.failAtEnd) {
        cb(new S3Error('BadDigest'));
        return;
      }
      digests = { size, md5: md5.digest('hex'), checksums: opts.checksums ?? {} };
      cb();
    },
  });
  readable.on('error', (err) => stream.destroy(err));
  stream.on('close', () => {
    if (!readable.destroyed) readable.destroy();
  });
  readable.pipe(stream);
  return {
    stream,
    digests() {
      if (digests === undefined) throw new Error('digests() called before the body ended cleanly');
      return digests;
    },
  };
}

function* chunks(buf: Buffer): Generator<Buffer> {
  if (buf.length === 0) return;
  for (let i = 0; i < buf.length; i += 64 * 1024) yield buf.subarray(i, i + 64 * 1024);
}

/** Hex MD5 of a buffer or string. */
export function md5Hex(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

/** Reads a stream to the end, with a deadline. */
export async function readAll(stream: Readable, timeoutMs = 10_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  const timer = setTimeout(
    () => stream.destroy(new Error(`readAll: no end after ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    for await (const chunk of stream)
      parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(parts);
}
