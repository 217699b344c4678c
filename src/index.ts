/**
 * s3local as a library: embed the S3 server in tests or programs. The options of createS3Server
 * mirror the `s3local serve` flags (`--access-key-id` -> `accessKeyId`, `--no-auth` -> `noAuth`,
 * `--tls-cert` -> `tlsCert` ...).
 *
 * ```ts
 * import { createS3Server, LocalBackend } from 's3local';
 *
 * const backend = await LocalBackend.open({ path: '/tmp/store' });
 * const server = createS3Server({ backend, accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });
 * const { url } = await server.listen(0, '127.0.0.1'); // http://127.0.0.1:PORT, bucket `default` ready
 * // ... point any S3 client at `url` (path style) ...
 * await server.close(); // drains in-flight requests
 * await backend.close();
 * ```
 */
export {
  createS3Server,
  type S3Server,
  type S3ServerAddress,
  type S3ServerOptions,
} from './server/s3-server.js';
export { DEFAULT_LIMITS, type ServerLimits } from './server/limits.js';
export {
  createLogger,
  silentLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type Logger,
  type LogFormat,
  type LogLevel,
} from './server/logger.js';
export type { AccessEntry } from './server/access-log.js';
export { parseMetrics, type MetricSample } from './server/metrics.js';
export { TlsConfigError } from './server/tls.js';
export { LocalBackend, type LocalBackendOptions } from './storage/local/local-backend.js';
export { DrimeBackend, type DrimeBackendOptions } from './storage/drime/backend.js';
export type * from './storage/backend.js';
export type { AuthConfig, Credentials } from './auth/types.js';
export type { S3Settings } from './s3/handlers/types.js';
export { S3Error, type S3ErrorCode } from './s3/errors.js';
export { VERSION } from './version.js';
