/**
 * The options of createS3Server, mirroring the `s3local serve` option table (src/config/options.ts):
 * the same names, the same meaning, the same defaults. Plain data in, so a program or a test
 * configures the server the way an operator configures the CLI.
 */
import type { Writable } from 'node:stream';
import type { AuthConfig } from '../auth/types.js';
import type { S3Settings } from '../s3/handlers/types.js';
import type { StorageBackend } from '../storage/backend.js';
import { DEFAULT_LIMITS, type ServerLimits } from './limits.js';
import { createLogger, silentLogger, type LogFormat, type Logger, type LogLevel } from './logger.js';
import type { TlsFiles } from './tls.js';

/** Options of {@link createS3Server}. Only `backend` and an authentication choice are required. */
export interface S3ServerOptions {
  /** The storage: `await LocalBackend.open({ path })`, `await DrimeBackend.open({...})`, or your own. */
  backend: StorageBackend;

  /** `--access-key-id`: the one accepted access key id. Give it with `secretAccessKey`, or set `noAuth`. */
  accessKeyId?: string;
  /** `--secret-access-key`: its secret. */
  secretAccessKey?: string;
  /** `--no-auth`: accept any client, signed or not. */
  noAuth?: boolean;
  /** `--region` (default `us-east-1`): the region signatures must be scoped to. */
  region?: string;
  /** `--no-sigv2`: refuse the legacy Signature Version 2. */
  noSigv2?: boolean;
  /** `--allow-bucket-creation`: real buckets; otherwise the one bucket `default` (created by listen). */
  allowBucketCreation?: boolean;
  /** `--domain` (default `localhost`): base domain of virtual-host style requests (`BUCKET.DOMAIN`). */
  domain?: string;

  /** `--tls-cert`: PEM certificate (chain) file; HTTPS when given with `tlsKey`. Re-read by `reloadTls()`. */
  tlsCert?: string;
  /** `--tls-key`: PEM private key file of `tlsCert`. */
  tlsKey?: string;

  /** `--metrics-public`: serve `/_s3local/metrics` without credentials. */
  metricsPublic?: boolean;

  /** `--log-level` (default `info`): the access log is at `info`. */
  logLevel?: LogLevel;
  /** `--log-format` (default `text`): `text` for people, `json` lines for log shippers. */
  logFormat?: LogFormat;
  /** Where log lines go (the CLI uses stderr). Default: nowhere, unless `logger` is given. */
  logStream?: Writable;

  /** `--max-connections` (default 1024): beyond it, requests on new connections get 503 SlowDown. */
  maxConnections?: number;
  /** `--headers-timeout` in ms (default 60 s): time for a request's headers to arrive completely. */
  headersTimeout?: number;
  /** `--idle-timeout` in ms (default 120 s, 0 = never): a body upload with no byte for this long is cut. */
  idleTimeout?: number;
  /** Idle keep-alive connections are closed after this many ms (default 75 s). */
  keepAliveTimeout?: number;
  /** `--max-header-size` in bytes (default 16 KiB): request line and headers together. */
  maxHeaderSize?: number;

  /** Low-level form of the authentication options (takes precedence over them). */
  auth?: AuthConfig;
  /** Low-level form of `region` and `allowBucketCreation` (takes precedence over them). */
  settings?: S3Settings;
  /** Several virtual-host base domains (takes precedence over `domain`). */
  domains?: readonly string[];
  /** Your own logger (takes precedence over `logLevel`/`logFormat`/`logStream`). */
  logger?: Logger;
}

/** Everything createS3Server needs, defaults applied. */
export interface ResolvedServerOptions {
  backend: StorageBackend;
  auth: AuthConfig;
  settings: S3Settings;
  domains: readonly string[];
  logger: Logger;
  limits: ServerLimits;
  tls: TlsFiles | undefined;
  metricsPublic: boolean;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new TypeError(`createS3Server: ${name} must be a number >= 0`);
  return value;
}

/** Applies the defaults and checks the combination (throws TypeError on a contradiction). */
export function resolveServerOptions(opts: S3ServerOptions): ResolvedServerOptions {
  const region = opts.settings?.region ?? opts.auth?.region ?? opts.region ?? 'us-east-1';
  let auth: AuthConfig;
  if (opts.auth !== undefined) {
    auth = opts.auth;
  } else {
    const { accessKeyId, secretAccessKey } = opts;
    if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
      throw new TypeError('createS3Server: give both accessKeyId and secretAccessKey, or neither');
    }
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      if (opts.noAuth !== true) {
        throw new TypeError('createS3Server: give accessKeyId and secretAccessKey, or noAuth: true');
      }
      auth = { credentials: null, region, allowSigV2: opts.noSigv2 !== true };
    } else {
      if (opts.noAuth === true)
        throw new TypeError('createS3Server: noAuth contradicts the credentials given');
      auth = { credentials: { accessKeyId, secretAccessKey }, region, allowSigV2: opts.noSigv2 !== true };
    }
  }
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
    throw new TypeError('createS3Server: give both tlsCert and tlsKey for HTTPS');
  }
  const maxConnections = nonNegative('maxConnections', opts.maxConnections, DEFAULT_LIMITS.maxConnections);
  if (maxConnections < 1) throw new TypeError('createS3Server: maxConnections must be at least 1');
  const limits: ServerLimits = {
    maxConnections,
    headersTimeout: nonNegative('headersTimeout', opts.headersTimeout, DEFAULT_LIMITS.headersTimeout),
    idleTimeout: nonNegative('idleTimeout', opts.idleTimeout, DEFAULT_LIMITS.idleTimeout),
    keepAliveTimeout: nonNegative('keepAliveTimeout', opts.keepAliveTimeout, DEFAULT_LIMITS.keepAliveTimeout),
    maxHeaderSize: nonNegative('maxHeaderSize', opts.maxHeaderSize, DEFAULT_LIMITS.maxHeaderSize),
  };
  if (limits.headersTimeout < 1) throw new TypeError('createS3Server: headersTimeout must be at least 1 ms');
  const logger =
    opts.logger ??
    (opts.logStream
      ? createLogger(opts.logStream, opts.logLevel ?? 'info', opts.logFormat ?? 'text')
      : silentLogger);
  return {
    backend: opts.backend,
    auth,
    settings: opts.settings ?? { region, allowBucketCreation: opts.allowBucketCreation === true },
    domains: opts.domains ?? [opts.domain ?? 'localhost'],
    logger,
    limits,
    tls:
      opts.tlsCert !== undefined && opts.tlsKey !== undefined
        ? { certFile: opts.tlsCert, keyFile: opts.tlsKey }
        : undefined,
    metricsPublic: opts.metricsPublic === true,
  };
}
