/**
 * Helpers for the auth unit tests: building AuthInput from plain data, draining bodies with a
 * deadline, a node:crypto Sha256 for @smithy/signature-v4, and the AWS example credentials.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { AuthConfig, AuthInput } from '../../../src/auth/types.js';
import type { ObjectBody } from '../../../src/s3/body.js';

/** The example key pair used throughout the AWS documentation. */
export const EXAMPLE_KEY = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

/** 2013-05-24T00:00:00Z, the timestamp of every AWS SigV4 S3 example. */
export const EXAMPLE_DATE = new Date('2013-05-24T00:00:00Z');

export function exampleConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    credentials: EXAMPLE_KEY,
    region: 'us-east-1',
    allowSigV2: true,
    now: () => EXAMPLE_DATE,
    ...overrides,
  };
}

/** Headers given as [name, value] pairs, in order, repeats allowed (like the wire). */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Builds an AuthInput: Node-style parsed headers plus rawHeaders, and the body as a stream. */
export function makeInput(
  method: string,
  url: string,
  headerList: HeaderList,
  body: Buffer | Readable = Buffer.alloc(0),
  virtualHostBucket?: string,
): AuthInput {
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  for (const [name, value] of headerList) {
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    const prev = headers[key];
    headers[key] = prev === undefined ? value : `${String(prev)}, ${value}`;
  }
  const stream = Buffer.isBuffer(body) ? Readable.from(body.length > 0 ? [body] : []) : body;
  const input: AuthInput = { method, url, headers, rawHeaders, body: stream };
  if (virtualHostBucket !== undefined) input.virtualHostBucket = virtualHostBucket;
  return input;
}

/** Rejects when `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Reads a body to the end (deadline 5 s); rejects with the stream's error. */
export async function drain(body: ObjectBody): Promise<Buffer> {
  const read = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const chunk of body.stream) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  };
  return withTimeout(read(), 5000, 'reading the body');
}

/** Feeds `data` as a stream of pieces cut at the given sizes (cycled). */
export function pieces(data: Buffer, sizes: readonly number[]): Readable {
  const out: Buffer[] = [];
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]!);
    out.push(data.subarray(pos, pos + n));
    pos += n;
  }
  return Readable.from(out);
}

/** A deterministic pseudo-random generator (mulberry32) so random splits are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A Sha256 constructor for @smithy/signature-v4 backed by node:crypto. */
export class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    if (secret === undefined) this.h = createHash('sha256');
    else {
      const key =
        typeof secret === 'string'
          ? secret
          : ArrayBuffer.isView(secret)
            ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
            : Buffer.from(secret);
      this.h = createHmac('sha256', key);
    }
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    if (typeof data === 'string') this.h.update(data, 'utf8');
    else if (ArrayBuffer.isView(data))
      this.h.update(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    else this.h.update(Buffer.from(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

/** Asserts `fn` rejects with an S3Error of `code` and returns it for further checks. */
export async function rejectsWith(
  fn: () => Promise<unknown>,
  code: string,
): Promise<{ code: string; message: string; extra: Record<string, string> }> {
  try {
    await fn();
  } catch (err) {
    const e = err as { code?: string; message: string; extra?: Record<string, string> };
    if (e.code !== code) {
      throw new Error(`expected ${code}, got ${e.code ?? 'a non-S3 error'}: ${e.message}`);
    }
    return { code: e.code, message: e.message, extra: e.extra ?? {} };
  }
  throw new Error(`expected ${code}, but it succeeded`);
}
