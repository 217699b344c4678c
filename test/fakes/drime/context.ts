/**
 * Shared request/response shapes and helpers of the fake Drime API's route modules.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FormPart } from './form-data.js';
import type { FakeDrimeState, FakeUser } from './state.js';

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Laravel's `request()->get()`: query merged with the JSON/form body (the body wins). */
  params: Record<string, unknown>;
  form?: FormPart[];
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  body?: Buffer | string;
}

export interface ApiContext {
  state: FakeDrimeState;
  req: FakeRequest;
  user: FakeUser | undefined;
  ws: number;
  origin: string;
  signer: UrlSigner;
}

export function json(status: number, body: unknown): FakeResponse {
  return { status, json: body };
}

/** Laravel validation failure. */
export function invalid(message: string, errors?: Record<string, string | string[]>): FakeResponse {
  return json(422, errors ? { message, errors } : { message });
}

export function notFound(message = ''): FakeResponse {
  return json(404, { message });
}

export function str(p: Record<string, unknown>, key: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** An int parameter; null for absent/empty/"null"; NaN for garbage. */
export function int(p: Record<string, unknown>, key: string): number | null {
  const v = p[key];
  if (v === undefined || v === null || v === '' || v === 'null') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? n : NaN;
}

export function bool(p: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = p[key];
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  return v === 'true' || v === '1' || v === 1;
}

export function intList(p: Record<string, unknown>, key: string): number[] {
  const v = p[key];
  const raw = Array.isArray(v)
    ? (v as unknown[])
    : typeof v === 'string'
      ? v.split(',')
      : v === undefined
        ? []
        : [v];
  return raw.map((x) => Number(x)).filter((n) => Number.isInteger(n));
}

/** Presigned storage URLs: HMAC over method, key and the other query parameters, with an expiry. */
export class UrlSigner {
  private readonly secret = randomBytes(32);

  sign(origin: string, method: string, key: string, params: Record<string, string>, ttlMs: number): string {
    const q = new URLSearchParams({
      ...params,
      'X-Amz-Date': String(Date.now()),
      'X-Amz-Expires': String(ttlMs),
    });
    q.sort();
    q.set('X-Amz-Signature', this.mac(method, key, q));
    return `${origin}/__r2/${key}?${q.toString()}`;
  }

  verify(method: string, key: string, query: URLSearchParams): 'ok' | 'expired' | 'bad' {
    const sig = query.get('X-Amz-Signature');
    if (!sig) return 'bad';
    const q = new URLSearchParams(query);
    q.delete('X-Amz-Signature');
    q.sort();
    const want = Buffer.from(this.mac(method, key, q));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return 'bad';
    const date = Number(q.get('X-Amz-Date'));
    const ttl = Number(q.get('X-Amz-Expires'));
    return Date.now() > date + ttl ? 'expired' : 'ok';
  }

  private mac(method: string, key: string, q: URLSearchParams): string {
    return createHmac('sha256', this.secret).update(`${method}\n${key}\n${q.toString()}`).digest('hex');
  }
}

/** An S3/R2-style XML error body. */
export function s3XmlError(status: number, code: string, message: string): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'application/xml' },
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  };
}
