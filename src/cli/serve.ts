/**
 * `s3local serve`: resolve options, open the backend, start the server, print the banner, and on
 * SIGINT/SIGTERM drain in-flight requests and exit 0.
 */
import type { Command } from 'commander';
import { resolve as resolvePath } from 'node:path';
import type { AuthConfig } from '../auth/types.js';
import { addServeOptions, explicitFlags, resolveServeOptions } from '../config/resolve.js';
import type { ServeOptions } from '../config/options.js';
import { credentialsFile, defaultDataDir } from '../config/paths.js';
import { DEFAULT_BUCKET } from '../s3/handlers/types.js';
import { createLogger } from '../server/logger.js';
import { createS3Server, type S3Server } from '../server/s3-server.js';
import { TlsConfigError } from '../server/tls.js';
import type { StorageBackend } from '../storage/backend.js';
import { LocalBackend } from '../storage/local/local-backend.js';
import { isS3Error } from '../s3/errors.js';
import { CliExit, println, type CliContext } from './context.js';
import { loadOrCreateCredentials, maskSecret, type ResolvedCredentials } from './credentials.js';
import { clientEndpoint, parseListen } from './listen.js';
import { openDrimeBackend } from './drime.js';

export function registerServe(program: Command, ctx: CliContext): void {
  const cmd = program.command('serve').description('start the S3 server');
  addServeOptions(cmd);
  cmd.action(async () => {
    const options = await resolveServeOptions({ flags: explicitFlags(cmd), env: ctx.env });
    await serve(options, ctx);
  });
}

async function resolveCredentials(
  options: ServeOptions,
  ctx: CliContext,
): Promise<ResolvedCredentials | null> {
  if (options.noAuth) return null;
  const { accessKeyId, secretAccessKey } = options;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    return { accessKeyId, secretAccessKey, generated: false };
  }
  if (accessKeyId !== undefined || secretAccessKey !== undefined) {
    throw new CliExit(
      'Give both --access-key-id and --secret-access-key (or neither, to use the generated pair).',
    );
  }
  return loadOrCreateCredentials(credentialsFile(ctx.env));
}

async function openBackend(
  options: ServeOptions,
  ctx: CliContext,
): Promise<{ backend: StorageBackend; banner: string[] }> {
  if (options.backend === 'drime') return openDrimeBackend(options, ctx);
  const path = resolvePath(options.path ?? defaultDataDir(ctx.env));
  return {
    backend: await LocalBackend.open({
      path,
      ...(options.multipartExpiry !== undefined ? { multipartExpiryMs: options.multipartExpiry } : {}),
    }),
    banner: [`Data directory: ${path}`, `Storage backend: ${options.backend}`],
  };
}

/** Runs the server until ctx.stopSignal resolves. */
export async function serve(options: ServeOptions, ctx: CliContext): Promise<void> {
  const listen = parseListen(options.listen);
  const credentials = await resolveCredentials(options, ctx);
  const { backend, banner } = await openBackend(options, ctx);
  try {
    if (!options.allowBucketCreation) {
      await backend.createBucket(DEFAULT_BUCKET).catch((err: unknown) => {
        if (!(isS3Error(err) && err.code === 'BucketAlreadyOwnedByYou')) throw err;
      });
    }
    const auth: AuthConfig = {
      credentials: credentials && {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
      },
      region: options.region,
      allowSigV2: !options.noSigv2,
    };
    const logger = createLogger(ctx.stderr, options.debug ? 'debug' : options.logLevel, options.logFormat);
    const server = createServer(options, backend, auth, logger);
    // SIGHUP (systemctl reload): re-read the TLS certificate and key; connections stay open.
    const onHangup = () => {
      if (!server.secure) logger.info('SIGHUP: nothing to reload (no --tls-cert)');
      else
        server
          .reloadTls()
          .catch((err: unknown) =>
            logger.error(`TLS reload failed, keeping the current certificate: ${(err as Error).message}`),
          );
    };
    process.on('SIGHUP', onHangup);
    try {
      let address;
      try {
        address = await server.listen(listen.port, listen.host);
      } catch (err) {
        throw new CliExit(`Cannot listen on ${options.listen}: ${(err as Error).message}`);
      }
      printBanner(
        ctx,
        options,
        banner,
        credentials,
        clientEndpoint(listen.host, address.port, server.secure ? 'https' : 'http'),
      );
      const signal = await (ctx.stopSignal ?? new Promise<string>(() => undefined));
      println(ctx.stdout, `\n${signal} received: finishing in-flight requests, then stopping.`);
      await server.close();
      println(ctx.stdout, 'Server stopped.');
    } finally {
      process.off('SIGHUP', onHangup);
    }
  } finally {
    await backend.close();
  }
}

/** The S3 server for the resolved options; option errors become a CliExit. */
function createServer(
  options: ServeOptions,
  backend: StorageBackend,
  auth: AuthConfig,
  logger: ReturnType<typeof createLogger>,
): S3Server {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new CliExit('Give both --tls-cert and --tls-key (or neither, for plain HTTP).');
  }
  try {
    return createS3Server({
      backend,
      auth,
      settings: { region: options.region, allowBucketCreation: options.allowBucketCreation },
      domains: options.domain ? [options.domain] : ['localhost'],
      logger,
      metricsPublic: options.metricsPublic,
      maxConnections: options.maxConnections,
      maxHeaderSize: options.maxHeaderSize,
      ...(options.headersTimeout !== undefined ? { headersTimeout: options.headersTimeout } : {}),
      ...(options.idleTimeout !== undefined ? { idleTimeout: options.idleTimeout } : {}),
      ...(options.tlsCert !== undefined && options.tlsKey !== undefined
        ? { tlsCert: resolvePath(options.tlsCert), tlsKey: resolvePath(options.tlsKey) }
        : {}),
    });
  } catch (err) {
    if (err instanceof TlsConfigError || err instanceof TypeError)
      throw new CliExit(err.message.replace(/^createS3Server: /, ''));
    throw err;
  }
}

function printBanner(
  ctx: CliContext,
  options: ServeOptions,
  banner: string[],
  credentials: ResolvedCredentials | null,
  endpoint: string,
): void {
  const out = (line = '') => println(ctx.stdout, line);
  for (const line of banner) out(line);
  if (credentials) {
    out('Authentication enabled');
    out(`  Access Key ID: ${credentials.accessKeyId}`);
    out(
      `  Secret Access Key: ${credentials.generated ? credentials.secretAccessKey : maskSecret(credentials.secretAccessKey)}` +
        (credentials.generated ? `  (generated, saved in ${credentialsFile(ctx.env)})` : ''),
    );
    out(`  Region: ${options.region}`);
  } else {
    out('Authentication disabled: any client is accepted (--no-auth)');
  }
  if (options.allowBucketCreation) {
    out('Bucket mode: Advanced (custom buckets allowed)');
  } else {
    out(`Bucket mode: Default (one bucket, '${DEFAULT_BUCKET}'; use --allow-bucket-creation for more)`);
  }
  out();
  out(`Starting S3 server at ${endpoint}/`);
  if (options.tlsCert !== undefined)
    out(`TLS certificate: ${resolvePath(options.tlsCert)} (re-read on SIGHUP)`);
  out();
  out('rclone configuration (add to ~/.config/rclone/rclone.conf):');
  out();
  out('[s3local]');
  out('type = s3');
  out('provider = Other');
  out(`access_key_id = ${credentials ? credentials.accessKeyId : 's3local'}`);
  if (credentials?.generated) {
    out(`secret_access_key = ${credentials.secretAccessKey}`);
  } else if (credentials) {
    out('# the secret you gave with --secret-access-key / S3LOCAL_SECRET_ACCESS_KEY, masked here:');
    out(`secret_access_key = ${maskSecret(credentials.secretAccessKey)}`);
  } else {
    out('secret_access_key = s3local');
  }
  out(`endpoint = ${endpoint}`);
  out(`region = ${options.region}`);
  out('force_path_style = true');
  out();
  out('# Test the connection:');
  out(`rclone lsd s3local:`);
  out(`rclone ls s3local:${DEFAULT_BUCKET}/`);
  out();
  const ca = options.tlsCert === undefined ? undefined : resolvePath(options.tlsCert);
  if (ca !== undefined) {
    out('# A self-signed or private-CA certificate: tell the clients which CA to trust');
    out(`# (the certificate itself when self-signed): rclone --ca-cert ${ca} ...`);
    out();
  }
  out('awscli:');
  out(
    `aws --endpoint-url ${endpoint}${ca !== undefined ? ` --ca-bundle ${ca}` : ''} s3 ls s3://${DEFAULT_BUCKET}/`,
  );
  out();
  out('Press Ctrl+C to stop the server');
}
