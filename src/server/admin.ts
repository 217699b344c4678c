/**
 * s3local's own endpoints, under `/_s3local/`: a prefix no bucket can take (bucket names start
 * with a lower-case letter or a digit, https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
 * They are routed before the S3 parser, path style only: with a virtual-host style Host header
 * the path is an object key like any other.
 *
 * - `GET|HEAD /_s3local/health`: no authentication (see health.ts).
 * - `GET|HEAD /_s3local/metrics`: Prometheus text; needs the S3 credentials unless
 *   `--metrics-public` or `--no-auth`: either a request signed like any S3 request (SigV4/SigV2,
 *   e.g. `curl --aws-sigv4 aws:amz:REGION:s3 --user KEY:SECRET`), or HTTP Basic authentication
 *   with the access key id as user and the secret as password (Prometheus' `basic_auth`; use it
 *   over HTTPS).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { authenticate } from '../auth/authenticate.js';
import type { AuthConfig } from '../auth/types.js';
import { S3Error } from '../s3/errors.js';
import type { S3Result } from '../s3/handlers/types.js';
import type { BackendStats, StorageBackend } from '../storage/backend.js';
import type { HealthCheck } from './health.js';
import type { Logger } from './logger.js';
import { METRICS_CONTENT_TYPE, type ServerMetrics } from './metrics.js';

/** The path prefix of s3local's own endpoints. */
export const ADMIN_PREFIX = '/_s3local/';

/** An s3local endpoint, named like an S3 operation in logs and metrics. */
export type AdminOperation = 'Health' | 'Metrics';

/** How long per-bucket figures are reused (several scrapers, or a refresh storm, share one count). */
export const STATS_TTL_MS = 2_000;

/** The admin endpoint `url` targets, or undefined for an S3 request. */
export function adminOperation(
  url: string,
  virtualHostBucket: string | undefined,
): AdminOperation | undefined {
  if (virtualHostBucket !== undefined || !url.startsWith(ADMIN_PREFIX)) return undefined;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path === '/_s3local/health') return 'Health';
  if (path === '/_s3local/metrics') return 'Metrics';
  return undefined;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** `Authorization: Basic base64(id:secret)` matches the credentials (constant time). */
function basicAuthMatches(header: string, auth: AuthConfig): boolean {
  const creds = auth.credentials;
  if (creds === null) return true;
  const decoded = Buffer.from(header.slice('Basic '.length).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Hashing first gives equal-length inputs: neither value's length leaks.
  const idOk = timingSafeEqual(sha256(decoded.slice(0, colon)), sha256(creds.accessKeyId));
  const secretOk = timingSafeEqual(sha256(decoded.slice(colon + 1)), sha256(creds.secretAccessKey));
  return idOk && secretOk;
}

/** What the admin endpoints need from the server. */
export interface AdminContext {
  backend: StorageBackend;
  auth: AuthConfig;
  metricsPublic: boolean;
  metrics: ServerMetrics;
  health: HealthCheck;
  logger: Logger;
  /** True once close() began. */
  closing(): boolean;
}

/** Serves the admin endpoints; caches the backend's stats for {@link STATS_TTL_MS}. */
export class AdminEndpoints {
  readonly #ctx: AdminContext;
  #stats: { at: number; value: Promise<BackendStats | undefined> } | undefined;

  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  /**
   * Answers `operation`. Returns the principal (access key id) when the request was authenticated
   * with a signature or Basic credentials.
   */
  async handle(
    operation: AdminOperation,
    req: IncomingMessage,
  ): Promise<{ result: S3Result; principal: string | null }> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      throw new S3Error(
        'MethodNotAllowed',
        undefined,
        { Method: method, ResourceType: 'SERVICE' },
        {
          allow: 'GET, HEAD',
        },
      );
    }
    if (operation === 'Health')
      return { result: await this.#ctx.health.result(this.#ctx.closing()), principal: null };
    const principal = await this.#authorizeMetrics(req);
    const stats = await this.#backendStats();
    const text = this.#ctx.metrics.render({ backend: this.#ctx.backend.kind }, stats);
    return {
      result: {
        status: 200,
        headers: { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' },
        body: text,
      },
      principal,
    };
  }

  async #authorizeMetrics(req: IncomingMessage): Promise<string | null> {
    const { auth } = this.#ctx;
    if (this.#ctx.metricsPublic || auth.credentials === null) return null;
    const authorization = req.headers.authorization;
    if (authorization?.startsWith('Basic ')) {
      if (!basicAuthMatches(authorization, auth)) {
        throw new S3Error('AccessDenied', 'The credentials given for the metrics do not match.');
      }
      return auth.credentials.accessKeyId;
    }
    try {
      const { principal } = await authenticate(
        {
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: req,
        },
        auth,
      );
      return principal;
    } catch (err) {
      if (err instanceof S3Error && err.code === 'AccessDenied' && authorization === undefined) {
        // Anonymous: say how to get in (Prometheus basic_auth, curl --aws-sigv4, or --metrics-public).
        throw new S3Error(
          'AccessDenied',
          'The metrics need the S3 credentials: sign the request, or use HTTP Basic authentication with the access key id and secret; or start the server with --metrics-public.',
          {},
          { 'www-authenticate': 'Basic realm="s3local", charset="UTF-8"' },
        );
      }
      throw err;
    }
  }

  #backendStats(): Promise<BackendStats | undefined> {
    const { backend, logger } = this.#ctx;
    if (backend.stats === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    if (this.#stats === undefined || now - this.#stats.at > STATS_TTL_MS) {
      const value = backend.stats().catch((err: unknown) => {
        logger.warn('metrics: the backend could not count its objects', {
          error: err instanceof Error ? err.message : String(err),
        });
        this.#stats = undefined; // try again at the next scrape
        return undefined;
      });
      this.#stats = { at: now, value };
    }
    return this.#stats.value;
  }
}
