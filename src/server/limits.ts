/**
 * Limits that keep one slow or hostile client from hurting the others, each answered with a clear
 * S3 error rather than a silent drop:
 *
 * - header size (`maxHeaderSize`): 400 RequestHeaderSectionTooLarge, as S3 answers;
 * - headers that never complete (slowloris, `headersTimeout`): 400 RequestTimeout;
 * - a request body that stops arriving (`idleTimeout`, no byte for that long): 400 RequestTimeout.
 *   The timer is an inactivity timer, reset by every byte, so a slow but steady upload is never
 *   cut, however long it takes; and it never fires while the server itself is working (a long
 *   backend call after the body arrived is not the client's fault);
 * - concurrent connections (`maxConnections`): beyond it, each request on a new connection is
 *   answered 503 SlowDown (clients back off and retry) and the connection closed.
 *
 * XML request bodies are capped where they are read (s3/handlers/read-body.ts).
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { S3Error } from '../s3/errors.js';
import { errorXml } from '../s3/xml/responses.js';
import type { Logger } from './logger.js';
import type { ServerMetrics } from './metrics.js';
import { hostIdFor, newRequestId } from './request-id.js';

/** The server's limits; every field in milliseconds or bytes. */
export interface ServerLimits {
  /** Open connections served; more are answered 503 SlowDown. */
  maxConnections: number;
  /** Time allowed for a request's headers to arrive completely (ms). */
  headersTimeout: number;
  /** Time without a byte from a client that is sending a request body, before it is cut (ms); 0: never. */
  idleTimeout: number;
  /** Time an idle keep-alive connection stays open (ms). */
  keepAliveTimeout: number;
  /** Largest request line and headers together, in bytes. */
  maxHeaderSize: number;
}

/** Defaults: generous for backup clients on slow links, still bounded. */
export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  maxConnections: 1024,
  headersTimeout: 60_000,
  idleTimeout: 120_000,
  keepAliveTimeout: 75_000,
  // S3 allows 8 KiB of request headers; room for long presigned URLs on top of that.
  maxHeaderSize: 16_384,
};

/**
 * How often Node checks for expired header timeouts (its default, 30 s, would let a 1 s timeout
 * run for 30 s): a quarter of the timeout, between 100 ms and 30 s.
 */
export function checkingInterval(headersTimeout: number): number {
  return Math.min(30_000, Math.max(100, Math.floor(headersTimeout / 4)));
}

/** A request in progress on a connection, as the guard needs to see it. */
export interface ActiveRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** Aborts the request's handler with this reason (an S3Error to answer). */
  abort(reason: S3Error): void;
}

/** A complete HTTP/1.1 error response, for errors that happen before Node made a request object. */
function rawErrorResponse(err: S3Error): string {
  const id = newRequestId();
  const xml = errorXml(err, '', id, hostIdFor(id));
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ''}\r\n` +
    'Content-Type: application/xml\r\n' +
    `Content-Length: ${Buffer.byteLength(xml)}\r\n` +
    `x-amz-request-id: ${id}\r\n` +
    `x-amz-id-2: ${hostIdFor(id)}\r\n` +
    'Server: s3local\r\n' +
    'Connection: close\r\n\r\n' +
    xml
  );
}

/**
 * Watches the server's connections: counts them (and refuses beyond the cap), cuts idle slow
 * clients, answers HTTP parse errors in S3 form. One per server.
 */
export class ConnectionGuard {
  /** Every raw TCP socket open now (closed forcibly at the end of a graceful shutdown). */
  readonly sockets = new Set<Socket>();
  readonly #overLimit = new WeakSet<Socket>();
  readonly #active = new WeakMap<Socket, ActiveRequest>();
  readonly #limits: ServerLimits;
  readonly #metrics: ServerMetrics;
  readonly #logger: Logger;

  constructor(server: Server, limits: ServerLimits, metrics: ServerMetrics, logger: Logger, secure: boolean) {
    this.#limits = limits;
    this.#metrics = metrics;
    this.#logger = logger;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      metrics.connections = this.sockets.size;
      socket.on('close', () => {
        this.sockets.delete(socket);
        metrics.connections = this.sockets.size;
      });
      // Over HTTPS requests arrive on the TLS socket: decided at 'secureConnection' below.
      if (!secure && this.sockets.size > limits.maxConnections) this.#overLimit.add(socket);
    });
    // Beyond the hard cap (server.maxConnections) Node closes new connections unanswered.
    server.on('drop', () => metrics.clientError('CONNECTION_DROPPED'));
    if (secure) {
      server.on('secureConnection', (socket: Socket) => {
        if (this.sockets.size > limits.maxConnections) this.#overLimit.add(socket);
      });
      server.on('tlsClientError', (err: Error & { code?: string }) => {
        metrics.clientError('TLS');
        logger.debug('TLS handshake failed', { error: err.code ?? err.message });
      });
    }
    if (limits.idleTimeout > 0) {
      server.setTimeout(limits.idleTimeout, (socket: Socket) => this.#onIdle(socket));
    } else {
      // Still handle keep-alive timeouts ourselves (a 'timeout' listener stops Node's default).
      server.on('timeout', (socket: Socket) => this.#onIdle(socket));
    }
    server.on('clientError', (err: Error & { code?: string }, socket: Socket) =>
      this.#onClientError(err, socket),
    );
  }

  /** True when this connection was opened beyond `maxConnections`: answer 503 SlowDown and close. */
  isOverLimit(socket: Socket): boolean {
    return this.#overLimit.has(socket);
  }

  /** Registers the request in progress on its connection (for the idle timeout). */
  track(socket: Socket, active: ActiveRequest): void {
    this.#active.set(socket, active);
  }

  /** Forgets the request once its response is done. */
  untrack(socket: Socket, active: ActiveRequest): void {
    if (this.#active.get(socket) === active) this.#active.delete(socket);
  }

  /** A socket saw no byte in either direction for `idleTimeout` (or its keep-alive time ran out). */
  #onIdle(socket: Socket): void {
    const active = this.#active.get(socket);
    if (active === undefined) {
      socket.destroy(); // an idle keep-alive connection, or one that never sent a request
      return;
    }
    const { req, res } = active;
    if (!req.complete) {
      // The client stopped sending its body: answer RequestTimeout as S3 does, then close.
      this.#metrics.timedOut('body');
      this.#logger.warn('request body stalled: cutting the slow client', {
        remote: socket.remoteAddress,
        idleMs: this.#limits.idleTimeout,
      });
      active.abort(new S3Error('RequestTimeout'));
      // Whatever the handler does, the connection goes soon.
      setTimeout(() => socket.destroy(), 2000).unref();
      return;
    }
    // Body received: a response stalled because the client stopped reading it, or the server is
    // still working (a long backend call), which is not the client's fault.
    if (res.headersSent) socket.destroy();
  }

  #onClientError(err: Error & { code?: string }, socket: Socket): void {
    const code = err.code ?? 'UNKNOWN';
    if (code === 'ECONNRESET' || code === 'EPIPE' || !socket.writable) {
      socket.destroy();
      return;
    }
    this.#metrics.clientError(code);
    let s3err: S3Error;
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      this.#metrics.timedOut('headers');
      this.#logger.warn('request headers incomplete: cutting the slow client', {
        remote: socket.remoteAddress,
        headersTimeoutMs: this.#limits.headersTimeout,
      });
      s3err = new S3Error('RequestTimeout');
    } else if (code === 'HPE_HEADER_OVERFLOW') {
      s3err = new S3Error('RequestHeaderSectionTooLarge', undefined, {
        MaxSizeAllowed: String(this.#limits.maxHeaderSize),
      });
    } else {
      this.#logger.debug('malformed HTTP request', { remote: socket.remoteAddress, error: code });
      s3err = new S3Error('InvalidRequest', 'The HTTP request is malformed.');
    }
    socket.end(rawErrorResponse(s3err));
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}
