/**
 * The HTTP transport of the Drime client: one request over node:http/https with keep-alive, an
 * idle timeout, abort signals and a streamed body of known length. No redirects are followed here
 * (the caller decides, so the Bearer token never reaches the storage host).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { DrimeError } from './errors.js';

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32 }),
};

export interface HttpRequestOptions {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** A buffer, or a factory for a fresh stream whose length is in `headers['content-length']`. */
  body?: Buffer | (() => Readable);
  /** Idle timeout: no bytes either way for this long fails the request. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function networkError(err: unknown, what: string): Error {
  if (err instanceof DrimeError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'AbortError') return e;
  const code = e?.code ?? '';
  return new DrimeError(
    'network',
    `${what}: ${e?.message ?? String(err)}`,
    undefined,
    undefined,
    NOT_SENT.has(code),
  );
}

/** Sends one request; resolves with the response head (the body is left to the caller). */
export function sendRequest(opts: HttpRequestOptions): Promise<HttpResponse> {
  const { url } = opts;
  const mod = url.protocol === 'https:' ? https : http;
  const what = `${opts.method} ${url.origin}${url.pathname}`;
  return new Promise<HttpResponse>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason as Error);
      return;
    }
    const req = mod.request(url, {
      method: opts.method,
      headers: opts.headers,
      agent: url.protocol === 'https:' ? agents.https : agents.http,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let settled = false;
    req.setTimeout(opts.timeoutMs, () => {
      req.destroy(new DrimeError('network', `${what}: no activity for ${opts.timeoutMs} ms`));
    });
    req.on('error', (err) => {
      if (!settled) {
        settled = true;
        reject(networkError(err, what));
      }
    });
    req.on('response', (res) => {
      settled = true;
      // Errors after this point surface on the response stream.
      res.on('error', () => undefined);
      req.on('error', (err) => res.destroy(networkError(err, what)));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    const body = opts.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      const src = body();
      src.on('error', (err) => req.destroy(err));
      src.pipe(req);
    }
  });
}

/** Reads a whole (small) response body, failing above `limit` bytes. */
export async function readAll(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of body) {
      const c = chunk as Buffer;
      n += c.length;
      if (n > limit) {
        body.destroy();
        throw new DrimeError('protocol', `response larger than ${limit} bytes`);
      }
      chunks.push(c);
    }
  } catch (err) {
    throw networkError(err, 'reading response');
  }
  return Buffer.concat(chunks);
}

/** Discards a body so the connection can be reused. */
export function drain(body: Readable): void {
  body.resume();
  body.on('error', () => undefined);
}
