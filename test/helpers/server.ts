/**
 * startServer(): a real s3local server on 127.0.0.1:0 over a temp LocalBackend store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
// The public library API (what `import ... from 's3local'` gives), so every test exercises it.
import {
  createS3Server,
  LocalBackend,
  type Credentials,
  type LocalBackendOptions,
  type S3Server,
  type S3ServerOptions,
} from '../../src/index.js';

/** Non-default test credentials: auth is on in every test unless a test turns it off. */
export const TEST_CREDENTIALS: Credentials = {
  accessKeyId: 'S3LTESTKEY0123456789',
  secretAccessKey: 'test/secret+Key0123456789abcdefghijklmnop',
};

export interface StartOptions {
  advanced?: boolean;
  noAuth?: boolean;
  region?: string;
  allowSigV2?: boolean;
  /** Reuse an existing data directory (e.g. to restart over the same store). */
  dataDir?: string;
  /** More createS3Server options (limits, TLS, logging ...). */
  server?: Partial<Omit<S3ServerOptions, 'backend'>>;
  /** More LocalBackend.open options (multipart expiry, completion TTL ...). */
  backend?: Omit<LocalBackendOptions, 'path'>;
}

export interface TestServer {
  endpoint: string;
  port: number;
  dataDir: string;
  server: S3Server;
  backend: LocalBackend;
  region: string;
  /** An AWS SDK v3 client for this server (path style, test credentials). */
  client(extra?: Partial<S3ClientConfig>): S3Client;
  /** Stops the server and removes the data directory (unless it was given). */
  close(): Promise<void>;
}

/**
 * An AWS SDK v3 client for an s3local endpoint: path style, region us-east-1, the given keys, no
 * retries (a server error must fail the test, not be retried away); `extra` overrides any of it.
 */
export function sdkClient(
  endpoint: string,
  credentials: Credentials = TEST_CREDENTIALS,
  extra: Partial<S3ClientConfig> = {},
): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    ...extra,
  });
}

export async function tempDir(prefix = 's3local-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await tempDir());
  const region = opts.region ?? 'us-east-1';
  const backend = await LocalBackend.open({ ...opts.backend, path: dataDir });
  const server = createS3Server({
    backend,
    ...(opts.noAuth ? { noAuth: true } : TEST_CREDENTIALS),
    region,
    noSigv2: opts.allowSigV2 === false,
    allowBucketCreation: opts.advanced ?? false,
    ...opts.server,
  });
  // listen() creates the `default` bucket in default mode.
  const { port, url: endpoint } = await server.listen(0, '127.0.0.1');
  const clients: S3Client[] = [];
  return {
    endpoint,
    port,
    dataDir,
    server,
    backend,
    region,
    client(extra = {}) {
      const c = sdkClient(endpoint, TEST_CREDENTIALS, { region, ...extra });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await server.close(2000);
      await backend.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * startServer(opts) and one SDK client for it (`srv.client()`), for
 * `before(async () => ({ srv, s3 } = await startWithClient(...)))`.
 */
export async function startWithClient(opts: StartOptions = {}): Promise<{ srv: TestServer; s3: S3Client }> {
  const srv = await startServer(opts);
  return { srv, s3: srv.client() };
}
