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
import { createS3Server } from '../server/s3-server.js';
import type { StorageBackend } from '../storage/backend.js';
import { LocalBackend } from '../storage/local/local-backend.js';
import { isS3Error } from '../s3/errors.js';
import { CliExit, println, type CliContext } from './context.js';
import { loadOrCreateCredentials, maskSecret, type ResolvedCredentials } from './credentials.js';
import { clientEndpoint, parseListen } from './listen.js';

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
): Promise<{ backend: StorageBackend; where: string }> {
  if (options.backend === 'drime') {
    throw new CliExit('The Drime backend is not available in this build yet.');
  }
  const path = resolvePath(options.path ?? defaultDataDir(ctx.env));
  return { backend: await LocalBackend.open({ path }), where: path };
}

/** Runs the server until ctx.stopSignal resolves. */
export async function serve(options: ServeOptions, ctx: CliContext): Promise<void> {
  const listen = parseListen(options.listen);
  const credentials = await resolveCredentials(options, ctx);
  const { backend, where } = await openBackend(options, ctx);
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
    const server = createS3Server({
      backend,
      auth,
      settings: { region: options.region, allowBucketCreation: options.allowBucketCreation },
      domains: options.domain ? [options.domain] : ['localhost'],
      logger: createLogger(ctx.stderr, options.debug ? 'debug' : 'info'),
    });
    let address;
    try {
      address = await server.listen(listen.port, listen.host);
    } catch (err) {
      throw new CliExit(`Cannot listen on ${options.listen}: ${(err as Error).message}`);
    }
    printBanner(ctx, options, where, credentials, clientEndpoint(listen.host, address.port));
    const signal = await (ctx.stopSignal ?? new Promise<string>(() => undefined));
    println(ctx.stdout, `\n${signal} received: finishing in-flight requests, then stopping.`);
    await server.close();
    println(ctx.stdout, 'Server stopped.');
  } finally {
    await backend.close();
  }
}

function printBanner(
  ctx: CliContext,
  options: ServeOptions,
  where: string,
  credentials: ResolvedCredentials | null,
  endpoint: string,
): void {
  const out = (line = '') => println(ctx.stdout, line);
  out(`Data directory: ${where}`);
  out(`Storage backend: ${options.backend}`);
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
  out('Press Ctrl+C to stop the server');
}
