/**
 * s3local as a library: embed the S3 server in tests or programs.
 *
 * ```ts
 * import { createS3Server, LocalBackend } from 's3local';
 * const backend = await LocalBackend.open({ path: '/tmp/store' });
 * await backend.createBucket('default');
 * const server = createS3Server({ backend, auth: { credentials: null, region: 'us-east-1', allowSigV2: true },
 *   settings: { region: 'us-east-1', allowBucketCreation: false } });
 * const { port } = await server.listen(0, '127.0.0.1');
 * // ... use http://127.0.0.1:${port} ...
 * await server.close(); await backend.close();
 * ```
 */
export { createS3Server, type S3Server, type S3ServerOptions } from './server/s3-server.js';
export { LocalBackend } from './storage/local/local-backend.js';
export type * from './storage/backend.js';
export type { AuthConfig, Credentials } from './auth/types.js';
export type { S3Settings } from './s3/handlers/types.js';
export { S3Error } from './s3/errors.js';
