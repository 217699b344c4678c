/**
 * Shared bits of the Drime interop tests: the real `s3local serve --backend drime` process on the
 * fake Drime API, running the CLI in this process against it, and reading what the fake stored.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { runCli } from '../../src/cli/program.js';
import { createS3Server, DrimeBackend, type S3Server } from '../../src/index.js';
import { startFakeDrime, type FakeDrime } from '../fakes/drime/server.js';
import type { FakeEntry, FakeOptions } from '../fakes/drime/state.js';
import { startServeProcess, stopWithin, type ServeProcess } from '../helpers/serve-process.js';
import { TEST_CREDENTIALS, sdkClient, tempDir } from '../helpers/server.js';
import { fakeTerminal } from '../unit/config/fake-terminal.js';

/** An environment with none of this machine's s3local, Drime or AWS settings, plus `extra`. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(S3LOCAL_|DRIME_|AWS_|XDG_)/.test(k)) env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: `${home}/config`,
    XDG_DATA_HOME: `${home}/data`,
    ...extra,
  };
}

export interface InProcessRun {
  code: Promise<number>;
  out(): string;
  err(): string;
  /** Resolves once stdout matches (deadline `ms`); rejects if the command ended first. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Sends the stop signal and waits (10 s deadline) for the exit code. */
  stop(): Promise<number>;
}

/** Runs `s3local ARGS` in this process (never blocks the event loop the fake runs on). */
export function runInProcess(args: string[], env: NodeJS.ProcessEnv, stdin = ''): InProcessRun {
  const t = fakeTerminal({ env, stdin });
  let stopNow!: (signal: string) => void;
  t.ctx.stopSignal = new Promise<string>((resolve) => (stopNow = resolve));
  const code = runCli(args, t.ctx);
  return {
    code,
    out: () => t.out(),
    err: () => t.err(),
    async waitFor(pattern, ms = 15_000) {
      await Promise.race([
        t.waitFor(pattern, ms),
        code.then((c) => {
          throw new Error(`s3local ${args.join(' ')} exited with ${c} first:\n${t.out()}\n${t.err()}`);
        }),
      ]);
    },
    async stop() {
      stopNow('SIGTERM');
      return Promise.race([
        code,
        new Promise<number>((_, reject) =>
          setTimeout(() => reject(new Error('s3local did not stop within 10 s')), 10_000).unref(),
        ),
      ]);
    },
  };
}

/** The id of the folder at `path` (`a/b`) in workspace `ws`; throws when it does not exist. */
export function fakeFolderId(fake: FakeDrime, path: string, ws = 0): number {
  let parent: number | null = null;
  for (const seg of path.split('/')) {
    const f: FakeEntry | undefined = fake.state
      .children(parent, ws)
      .find((e) => e.type === 'folder' && e.name === seg);
    if (!f) throw new Error(`no folder ${path} in the fake (at ${seg})`);
    parent = f.id;
  }
  if (parent === null) throw new Error('empty path');
  return parent;
}

/** Live files below the folder `root` (a path) as `key -> {entry, bytes}`. */
export function fakeFiles(
  fake: FakeDrime,
  root: string,
  ws = 0,
): Map<string, { entry: FakeEntry; bytes: Buffer | undefined }> {
  const out = new Map<string, { entry: FakeEntry; bytes: Buffer | undefined }>();
  for (const [key, entry] of fake.state.files(ws, fakeFolderId(fake, root, ws))) {
    out.set(key, { entry, bytes: fake.state.blobOf(entry) });
  }
  return out;
}

/** A running `s3local serve --backend drime` process, its fake Drime API and an SDK client. */
export interface DrimeServe {
  fake: FakeDrime;
  /** The isolated HOME (removed by close()). */
  home: string;
  /** `<home>/tmp`, the server's TMPDIR (where it makes its spool directory). */
  tmp: string;
  serve: ServeProcess;
  /** AWS SDK v3 client for the server (test credentials, path style, no retries). */
  s3: S3Client;
  /** Destroys the client, stops the server (killed after 15 s), closes the fake, removes home. */
  close(): Promise<void>;
}

/**
 * Starts a fake Drime API in this process (`fake` options), then the real `s3local serve
 * --backend drime` on 127.0.0.1:0 against it, in an isolated HOME made from `homePrefix`, with
 * the test credentials and, when given, `--root-folder rootFolder`.
 */
export async function startDrimeServe(opts: {
  fake: Partial<FakeOptions>;
  homePrefix: string;
  rootFolder?: string;
}): Promise<DrimeServe> {
  const fake = await startFakeDrime(opts.fake);
  const home = await tempDir(opts.homePrefix);
  const tmp = join(home, 'tmp');
  const cleanUp = async () => {
    await fake.close();
    await rm(home, { recursive: true, force: true });
  };
  let serve: ServeProcess;
  try {
    await mkdir(tmp, { recursive: true });
    const env = isolatedEnv(home, {
      TMPDIR: tmp,
      DRIME_API_KEY: fake.token,
      DRIME_API_URL: fake.apiUrl,
      S3LOCAL_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      S3LOCAL_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    });
    const root = opts.rootFolder === undefined ? [] : ['--root-folder', opts.rootFolder];
    serve = await startServeProcess(['--backend', 'drime', ...root, '--listen', '127.0.0.1:0'], env);
  } catch (err) {
    await cleanUp();
    throw err;
  }
  const s3 = sdkClient(serve.endpoint);
  return {
    fake,
    home,
    tmp,
    serve,
    s3,
    async close() {
      s3.destroy();
      await stopWithin(serve, 15_000).catch(() => undefined);
      await cleanUp();
    },
  };
}

/** An in-process s3local server on the Drime backend over a fresh fake Drime API (default mode). */
export interface InProcessDrime {
  fake: FakeDrime;
  backend: DrimeBackend;
  server: S3Server;
  s3: S3Client;
  /** Stops the server, the backend and the fake; removes the temp directory. */
  close(): Promise<void>;
}

/**
 * Starts a fake Drime API (replace mode, streamed downloads), the Drime backend on it (default
 * bucket mode, root `Backups/S3`, index and spool in a temp directory named with `prefix`) and an
 * in-process S3 server with the test credentials; `s3` is an SDK client for it.
 */
export async function startInProcessDrime(prefix: string): Promise<InProcessDrime> {
  const fake = await startFakeDrime({ sameName: 'replace', download: 'stream' });
  const dir = await tempDir(prefix);
  const served = await serveDrime(fake, dir);
  return {
    fake,
    ...served,
    async close() {
      await served.close();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The Drime backend (default mode, root `Backups/S3`) and an in-process S3 server on it. */
export interface ServedDrime {
  backend: DrimeBackend;
  server: S3Server;
  s3: S3Client;
  /** Stops the server and the backend; the fake and `dir` stay (a restart reuses them). */
  close(): Promise<void>;
}

/**
 * Opens the Drime backend on `fake` (default bucket mode, root `Backups/S3`, index and spool in
 * `dir`) behind an in-process S3 server with the test credentials.
 */
export async function serveDrime(fake: FakeDrime, dir: string): Promise<ServedDrime> {
  const backend = await DrimeBackend.open({
    apiKey: fake.token,
    workspaceId: 0,
    apiUrl: fake.apiUrl,
    advanced: false,
    rootFolder: 'Backups/S3',
    indexPath: join(dir, 'index.sqlite'),
    spoolDir: join(dir, 'spool'),
  });
  const server = createS3Server({ backend, ...TEST_CREDENTIALS });
  const { url } = await server.listen(0, '127.0.0.1');
  const s3 = sdkClient(url);
  return {
    backend,
    server,
    s3,
    async close() {
      s3.destroy();
      await server.close(2000);
      await backend.close();
    },
  };
}
