/**
 * The HTTP transport: node:http server, keep-alive, Expect: 100-continue, request ids, graceful
 * shutdown. The only place that writes status, headers and bodies (DESIGN §2).
 *
 * Lifecycle of one request: request id -> parseEndpoint -> authenticate (principal + verified
 * body) -> handler -> backend -> S3Result -> response. Every thrown error goes to writeError.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { authenticate } from '../auth/authenticate.js';
import type { AuthConfig } from '../auth/types.js';
import { dispatch } from '../s3/dispatch.js';
import { parseEndpoint, virtualHostBucket, type Endpoint } from '../s3/endpoint.js';
import { S3Error, isS3Error } from '../s3/errors.js';
import type { HandlerContext, S3Result, S3Settings } from '../s3/handlers/types.js';
import { errorXml } from '../s3/xml/responses.js';
import type { StorageBackend } from '../storage/backend.js';
import { silentLogger, type Logger } from './logger.js';
import { hostIdFor, newRequestId } from './request-id.js';

export interface S3ServerOptions {
  backend: StorageBackend;
  auth: AuthConfig;
  settings: S3Settings;
  /** Base domains for virtual-host style requests. */
  domains?: readonly string[];
  logger?: Logger;
}

export interface S3Server {
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes. */
  close(graceMs?: number): Promise<void>;
  readonly http: http.Server;
}

/** Creates the S3 server around a backend. */
export function createS3Server(opts: S3ServerOptions): S3Server {
  const logger = opts.logger ?? silentLogger;
  const domains = opts.domains ?? ['localhost'];
  const server = http.createServer({
    keepAlive: true,
    // Long uploads must never be cut by Node's default 5-minute request timeout.
    requestTimeout: 0,
    headersTimeout: 60_000,
    keepAliveTimeout: 75_000,
  });
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (closing && inFlight === 0) drained?.();
    });
    if (closing) res.setHeader('connection', 'close');
    void handleRequest(req, res, expectsContinue);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, false));
  // Expect: 100-continue: the interim response is sent only after authentication passed.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, true));

  async function handleRequest(
    req: IncomingMessage,
    res: ServerResponse,
    expectsContinue: boolean,
  ): Promise<void> {
    const requestId = newRequestId();
    const hostId = hostIdFor(requestId);
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', hostId);
    res.setHeader('server', 's3local');
    const started = Date.now();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    let endpoint: Endpoint | undefined;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    req.on('aborted', () => abort.abort());
    try {
      endpoint = parseEndpoint(method, url, req.headers, { domains });
      const authInput = {
        method,
        url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: req,
      };
      const vhost = virtualHostBucket(req.headers.host, { domains });
      const { principal, body } = await authenticate(
        vhost !== undefined ? { ...authInput, virtualHostBucket: vhost } : authInput,
        opts.auth,
      );
      if (expectsContinue) res.writeContinue();
      const ctx: HandlerContext = {
        backend: opts.backend,
        settings: opts.settings,
        headers: req.headers,
        body,
        signal: abort.signal,
        principal,
        method,
      };
      const result = await dispatch(ctx, endpoint);
      await writeResult(res, result, method);
    } catch (err) {
      writeError(req, res, err, method, url, requestId, hostId, logger);
    } finally {
      logger.debug('request', {
        id: requestId,
        op: endpoint?.kind ?? 'unrouted',
        method,
        bucket: endpoint && 'bucket' in endpoint ? endpoint.bucket : undefined,
        key: endpoint && 'key' in endpoint ? endpoint.key : undefined,
        status: res.statusCode,
        ms: Date.now() - started,
      });
    }
  }

  return {
    http: server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close(graceMs = 30_000) {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
        ]);
      }
      for (const s of sockets) s.destroy();
      await stopped;
    },
  };
}

async function writeResult(res: ServerResponse, result: S3Result, method: string): Promise<void> {
  const { body } = result;
  res.statusCode = result.status;
  for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, sanitizeHeader(value));
  if (body === undefined || method === 'HEAD') {
    if (body instanceof Readable) body.destroy();
    if (!res.hasHeader('content-length')) res.setHeader('content-length', '0');
    res.end();
    return;
  }
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    res.setHeader('content-length', String(Buffer.byteLength(body)));
    res.end(body);
    return;
  }
  try {
    await pipeline(body, res);
  } catch {
    // The client went away or the file failed mid-body: headers are sent, so the connection is
    // cut (the client sees a short body, never a silently truncated 200).
    res.destroy();
  }
}

/** Header values come from stored metadata: drop characters Node refuses to send. */
function sanitizeHeader(value: string): string {
  return /[^\t\x20-\x7e\x80-\xff]/.test(value) ? value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '') : value;
}

function writeError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  method: string,
  url: string,
  requestId: string,
  hostId: string,
  logger: Logger,
): void {
  let s3err: S3Error;
  if (isS3Error(err)) {
    s3err = err;
  } else {
    logger.error('internal error', {
      id: requestId,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    s3err = new S3Error('InternalError');
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = s3err.status;
  for (const [name, value] of Object.entries(s3err.headers)) res.setHeader(name, value);
  // An unread request body cannot be left on a keep-alive connection.
  if (!req.complete) res.setHeader('connection', 'close');
  if (s3err.status === 304 || method === 'HEAD') {
    res.end();
    return;
  }
  const q = url.indexOf('?');
  const resource = safeDecode(q < 0 ? url : url.slice(0, q));
  const xml = errorXml(s3err, resource, requestId, hostId);
  res.setHeader('content-type', 'application/xml');
  res.setHeader('content-length', String(Buffer.byteLength(xml)));
  res.end(xml);
  if (!req.complete) req.resume();
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
