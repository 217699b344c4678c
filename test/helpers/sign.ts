/**
 * signRaw(): signs an arbitrary HTTP request with @smithy/signature-v4 (an independent signer),
 * for raw-HTTP tests that need malformed or unusual requests a real SDK would not send.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request } from 'node:http';
import { TEST_CREDENTIALS } from './server.js';

function toBytes(d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof d === 'string') return d;
  if (d instanceof ArrayBuffer) return new Uint8Array(d);
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** The Checksum shape @smithy/signature-v4 expects, over node:crypto (HMAC when given a secret). */
export class Sha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.h.update(toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.h.digest());
  }
  reset(): void {
    throw new Error('not supported');
  }
}

export interface RawRequest {
  method: string;
  /** Path with query, already encoded as it should appear on the wire. */
  path: string;
  headers?: Record<string, string> | undefined;
  body?: Buffer | string | undefined;
  /** Payload hash to sign (default: UNSIGNED-PAYLOAD). */
  payloadHash?: string | undefined;
  region?: string | undefined;
  unsigned?: boolean | undefined;
  /**
   * Send non-ASCII header values as their UTF-8 bytes (what botocore puts on the wire and signs).
   * Without it Node writes header strings as latin1 (and refuses chars above U+00FF), while the
   * signer signs their UTF-8: a latin1-range value then goes out as one byte per char.
   */
  utf8Headers?: boolean | undefined;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/** Sends one request to `endpoint`, signed unless `unsigned`, and collects the whole response. */
export async function rawRequest(
  endpoint: string,
  req: RawRequest,
  deadlineMs = 15_000,
): Promise<RawResponse> {
  const url = new URL(endpoint);
  const q = req.path.indexOf('?');
  const path = q < 0 ? req.path : req.path.slice(0, q);
  const query: Record<string, string | string[]> = {};
  if (q >= 0) {
    for (const part of req.path.slice(q + 1).split('&')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
  }
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  let headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': req.payloadHash ?? 'UNSIGNED-PAYLOAD',
    ...(body ? { 'content-length': String(body.length) } : {}),
    ...req.headers,
  };
  if (!req.unsigned) {
    const signer = new SignatureV4({
      credentials: TEST_CREDENTIALS,
      region: req.region ?? 'us-east-1',
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const signed = await signer.sign({
      method: req.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query,
      headers,
      body,
    });
    headers = signed.headers;
  }
  if (req.utf8Headers) {
    // Node writes header strings as latin1: a string of the UTF-8 bytes puts those bytes on the wire.
    headers = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('latin1')]),
    );
  }
  return sendRequest(url, req.method, req.path, headers, body, deadlineMs);
}

/**
 * Sends one request exactly as given (method, request-target, headers, body) and collects the
 * answer; fails after `deadlineMs`.
 */
export function sendRequest(
  url: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  deadlineMs: number,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const r = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text: b.toString('utf8') });
      });
      res.on('error', reject);
    });
    r.setTimeout(deadlineMs, () => r.destroy(new Error(`request timed out after ${deadlineMs} ms`)));
    r.on('error', reject);
    r.end(body);
  });
}

/** The `<Code>` of an S3 error document. */
export function errorCode(text: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
}
