/**
 * The HTTP(S) transport: node:http or node:https server, keep-alive, Expect: 100-continue, request
 * ids, limits, access log, metrics, graceful shutdown. The only place that writes status, headers
 * and bodies (DESIGN §2).
 *
 * Lifecycle of one request: request id -> connection limit -> s3local's own endpoints
 * (/_s3local/health, /_s3local/metrics) -> parseEndpoint -> authenticate (principal + verified
 * body) -> handler -> backend -> S3Result -> response -> access log and metrics. Every thrown error
 * goes to writeError.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { authenticate } from '../auth/authenticate.js';
import { dispatch } from '../s3/dispatch.js';
import { parseEndpoint, virtualHostBucket, type Endpoint } from '../s3/endpoint.js';
import { S3Error, isS3Error } from '../s3/errors.js';
import { DEFAULT_BUCKET, type HandlerContext, type S3Result } from '../s3/handlers/types.js';
import { errorXml } from '../s3/xml/responses.js';
import type { AccessEntry } from './access-log.js';
import { AdminEndpoints, adminOperation } from './admin.js';
import { HealthCheck } from './health.js';
import { checkingInterval, ConnectionGuard, type ActiveRequest } from './limits.js';
import type { Logger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { hostIdFor, newRequestId } from './request-id.js';
import { resolveServerOptions, type S3ServerOptions } from './server-options.js';
import { readTlsFiles, readTlsFilesSync } from './tls.js';

export type { S3ServerOptions } from './server-options.js';

/** Where the server listens: Node's AddressInfo plus a URL a client on this machine can use. */
export interface S3ServerAddress extends AddressInfo {
  /** `http(s)://HOST:PORT` (a wildcard address becomes 127.0.0.1). */
  url: string;
}

export interface S3Server {
  /**
   * Creates the `default` bucket in default bucket mode, then listens. Resolves with the bound
   * address: port 0 picks a free port; no host listens on every interface.
   */
  listen(port?: number, host?: string): Promise<S3ServerAddress>;
  /**
   * Stops accepting connections, closes idle ones, lets in-flight requests finish (up to `graceMs`,
   * default 30 s; then their connections are cut) and resolves once the server is closed. The
   * backend stays open: close it after.
   */
  close(graceMs?: number): Promise<void>;
  /**
   * Re-reads `tlsCert`/`tlsKey` and presents them to new connections; open connections are kept.
   * Rejects (keeping the current certificate) when the files are unreadable or do not match.
   */
  reloadTls(): Promise<void>;
  /** The underlying node:http or node:https server. */
  readonly http: http.Server;
  /** True when serving HTTPS. */
  readonly secure: boolean;
  /** The URL once listening (see S3ServerAddress.url). */
  readonly url: string | undefined;
  /** The metrics text `/_s3local/metrics` serves (without per-bucket figures). */
  metricsText(): string;
}

/** A URL for `address` that a client on this machine can use. */
function clientUrl(scheme: string, address: AddressInfo): string {
  let host = address.address;
  if (host === '0.0.0.0' || host === '::' || host === '') host = '127.0.0.1';
  if (host.includes(':')) host = `[${host}]`;
  return `${scheme}://${host}:${address.port}`;
}

/** Per connection: bytes already attributed to earlier requests (for per-request byte counts). */
interface SocketAccount {
  read: number;
  written: number;
}

/** Creates the S3 server around a backend. Throws TypeError on contradictory options. */
export function createS3Server(options: S3ServerOptions): S3Server {
  const opts = resolveServerOptions(options);
  const { logger, limits, domains, backend } = opts;
  const metrics = new ServerMetrics();
  const health = new HealthCheck(backend, logger);
  const serverOptions: http.ServerOptions = {
    keepAlive: true,
    // Long uploads must never be cut by a total-time limit: the idle timeout guards slow clients.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    connectionsCheckingInterval: checkingInterval(limits.headersTimeout),
    maxHeaderSize: limits.maxHeaderSize,
  };
  const tls = opts.tls;
  const server: http.Server = tls
    ? https.createServer({ ...serverOptions, ...readTlsFilesSync(tls) })
    : http.createServer(serverOptions);
  // Connections beyond the limit get 503 SlowDown; this hard cap (25 % above) drops the rest.
  server.maxConnections = limits.maxConnections + Math.max(16, Math.ceil(limits.maxConnections / 4));
  const guard = new ConnectionGuard(server, limits, metrics, logger, tls !== undefined);
  const accounts = new WeakMap<Socket, SocketAccount>();
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  let boundUrl: string | undefined;
  const admin = new AdminEndpoints({
    backend,
    auth: opts.auth,
    metricsPublic: opts.metricsPublic,
    metrics,
    health,
    logger,
    closing: () => closing,
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    inFlight++;
    metrics.inFlight = inFlight;
    res.on('close', () => {
      inFlight--;
      metrics.inFlight = inFlight;
      if (closing && inFlight === 0) drained?.();
    });
    if (closing) res.setHeader('connection', 'close');
    void handleRequest(req, res, expectsContinue);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, false));
  // Expect: 100-continue: the interim response is sent only after authentication passed.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, true));
  // Any other Expect value: S3 ignores it (ceph/s3-tests test_object_create_bad_expect_mismatch:
  // "garbage, but S3 succeeds!"); Node would answer 417 Expectation Failed without a listener.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, false));

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
    const startedNs = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const socket = req.socket;
    const abort = new AbortController();
    const log: { operation: string; endpoint?: Endpoint; principal?: string | null; error?: string } = {
      operation: 'unrouted',
    };
    const active: ActiveRequest = { req, res, abort: (reason) => abort.abort(reason) };
    guard.track(socket, active);
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
      guard.untrack(socket, active);
      finish(req, res, socket, requestId, started, startedNs, log);
    });
    req.on('aborted', () => abort.abort());
    try {
      if (guard.isOverLimit(socket)) {
        metrics.connectionsRejected++;
        throw new S3Error(
          'SlowDown',
          `Too many open connections (the limit is ${limits.maxConnections}): retry later.`,
          {},
          { connection: 'close', 'retry-after': '1' },
        );
      }
      const vhost = virtualHostBucket(req.headers.host, { domains });
      const adminOp = adminOperation(url, vhost);
      if (adminOp !== undefined) {
        log.operation = adminOp;
        const { result, principal } = await admin.handle(adminOp, req);
        log.principal = principal;
        await writeResult(res, result, method);
        return;
      }
      const endpoint = parseEndpoint(method, url, req.headers, { domains });
      log.endpoint = endpoint;
      log.operation = endpoint.kind;
      // A browser form upload (POST Object) is authenticated by the policy in its form, never by
      // request headers: without this it would always be refused as anonymous (403) before the
      // router's answer, 501 NotImplemented, could be given.
      if (endpoint.kind === 'NotImplemented' && endpoint.operation === 'POST (browser form upload)') {
        throw new S3Error('NotImplemented', `${endpoint.operation} is not implemented by s3local.`);
      }
      const authInput = {
        method,
        url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: req,
      };
      const { principal, body } = await authenticate(
        vhost !== undefined ? { ...authInput, virtualHostBucket: vhost } : authInput,
        opts.auth,
      );
      log.principal = principal;
      if (expectsContinue) res.writeContinue();
      const ctx: HandlerContext = {
        backend,
        settings: opts.settings,
        headers: req.headers,
        body,
        signal: abort.signal,
        principal,
        method,
        requestId,
        hostId,
      };
      const result = await dispatch(ctx, endpoint);
      await writeResult(res, result, method);
    } catch (err) {
      // A request cut by the server (e.g. an idle body: RequestTimeout) answers with that reason,
      // not with the AbortError it caused downstream.
      const reason: unknown = abort.signal.reason;
      const cause = abort.signal.aborted && isS3Error(reason) ? reason : err;
      log.error = writeError(req, res, cause, method, url, requestId, hostId, logger, log.operation);
    }
  }

  /** Access log line and metrics, once the response is done or the connection gone. */
  function finish(
    req: IncomingMessage,
    res: ServerResponse,
    socket: Socket,
    requestId: string,
    started: number,
    startedNs: bigint,
    log: { operation: string; endpoint?: Endpoint; principal?: string | null; error?: string },
  ): void {
    const account = accounts.get(socket) ?? { read: 0, written: 0 };
    accounts.set(socket, account);
    const bytesIn = Math.max(0, socket.bytesRead - account.read);
    const bytesOut = Math.max(0, socket.bytesWritten - account.written);
    account.read = socket.bytesRead;
    account.written = socket.bytesWritten;
    const aborted = !res.writableFinished;
    // 499 (nginx's "client closed request") when the client left before any answer was sent.
    const status = aborted && !res.headersSent ? 499 : res.statusCode;
    const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
    metrics.observe(log.operation, status, seconds, bytesIn, bytesOut);
    const entry: AccessEntry = {
      time: new Date(started).toISOString(),
      id: requestId,
      remote: socket.remoteAddress ?? '-',
      method: req.method ?? '-',
      operation: log.operation,
      status,
      bytesIn,
      bytesOut,
      ms: Math.round(seconds * 1000),
    };
    const endpoint = log.endpoint;
    if (endpoint !== undefined && 'bucket' in endpoint && endpoint.bucket !== undefined) {
      entry.bucket = endpoint.bucket;
      if (endpoint.key !== undefined && endpoint.key !== '') entry.key = endpoint.key;
    }
    if (log.principal !== undefined && log.principal !== null) entry.user = log.principal;
    if (log.error !== undefined) entry.error = log.error;
    if (aborted) entry.aborted = true;
    if (logger.access) logger.access(entry);
    else logger.info('request', { ...entry });
  }

  async function ensureDefaultBucket(): Promise<void> {
    if (opts.settings.allowBucketCreation) return;
    try {
      await backend.headBucket(DEFAULT_BUCKET);
    } catch {
      await backend.createBucket(DEFAULT_BUCKET).catch((err: unknown) => {
        if (!(isS3Error(err) && err.code === 'BucketAlreadyOwnedByYou')) throw err;
      });
    }
  }

  return {
    http: server,
    secure: tls !== undefined,
    get url() {
      return boundUrl;
    },
    async listen(port = 0, host) {
      await ensureDefaultBucket();
      const address = await new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
      boundUrl = clientUrl(tls ? 'https' : 'http', address);
      logger.info('listening', { url: boundUrl, tls: tls !== undefined, backend: backend.kind });
      return { ...address, url: boundUrl };
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
      for (const s of guard.sockets) s.destroy();
      await stopped;
    },
    async reloadTls() {
      if (!tls) throw new Error('reloadTls: the server was created without tlsCert/tlsKey');
      const material = await readTlsFiles(tls);
      (server as https.Server).setSecureContext(material);
      logger.info('TLS certificate reloaded', { cert: tls.certFile });
    },
    metricsText() {
      return metrics.render({ backend: backend.kind });
    },
  };
}

async function writeResult(res: ServerResponse, result: S3Result, method: string): Promise<void> {
  const { body } = result;
  res.statusCode = result.status;
  for (const [name, value] of Object.entries(result.headers)) res.setHeader(name, sanitizeHeader(value));
  if (body === undefined || method === 'HEAD') {
    if (body instanceof Readable) body.destroy();
    if (!res.hasHeader('content-length')) {
      res.setHeader(
        'content-length',
        body === undefined || body instanceof Readable ? '0' : String(Buffer.byteLength(body)),
      );
    }
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

/**
 * Writes `err` as an S3 error response (HEAD: no body). Logs it once: anything but an S3Error is
 * an internal error, logged with its stack and answered 500 InternalError without details; a 5xx
 * S3Error is logged as a warning with its message. Returns the S3 error code.
 */
function writeError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  method: string,
  url: string,
  requestId: string,
  hostId: string,
  logger: Logger,
  operation: string,
): string {
  let s3err: S3Error;
  if (isS3Error(err)) {
    s3err = err;
    if (s3err.status >= 500 && s3err.code !== 'NotImplemented' && s3err.code !== 'SlowDown') {
      logger.warn(s3err.message, { id: requestId, op: operation, code: s3err.code });
    } else {
      // The message says why (which header, which check); the extra fields (StringToSign ...) stay out.
      logger.debug('refused', { id: requestId, op: operation, code: s3err.code, message: s3err.message });
    }
  } else {
    logger.error('internal error', {
      id: requestId,
      op: operation,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    s3err = new S3Error('InternalError');
  }
  if (res.headersSent) {
    res.destroy();
    return s3err.code;
  }
  res.statusCode = s3err.status;
  for (const [name, value] of Object.entries(s3err.headers)) res.setHeader(name, value);
  // An unread request body cannot be left on a keep-alive connection: it is read and discarded
  // (req.resume() below) when its declared length is small enough, else the connection closes.
  if (!req.complete && !lingers(req, s3err)) res.setHeader('connection', 'close');
  if (s3err.status === 304 || method === 'HEAD') {
    res.end();
    return s3err.code;
  }
  const q = url.indexOf('?');
  const resource = safeDecode(q < 0 ? url : url.slice(0, q));
  const xml = errorXml(s3err, resource, requestId, hostId);
  res.setHeader('content-type', 'application/xml');
  res.setHeader('content-length', String(Buffer.byteLength(xml)));
  res.end(xml);
  if (!req.complete) {
    // Whatever the body was piped into is no longer read: detach it, then discard the rest.
    req.unpipe();
    req.resume();
  }
  return s3err.code;
}

/**
 * Most declared body bytes read and discarded after an error answered before the body was read.
 * A client that is still sending (every HTTP/1.1 client writes the body it declared before it
 * reads the answer) gets the error and keeps its connection; closing instead resets the connection
 * under its writes, and the client sees EPIPE/ECONNRESET rather than the S3 error. Larger bodies,
 * and chunked ones of unknown length, are not worth the bandwidth: the connection closes.
 */
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

function lingers(req: IncomingMessage, err: S3Error): boolean {
  // A body that stalled or was cut will not be sent anyway.
  if (err.code === 'RequestTimeout' || err.code === 'IncompleteBody') return false;
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  return length !== undefined && /^\d+$/.test(length) && Number(length) <= LINGER_MAX_BYTES;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
