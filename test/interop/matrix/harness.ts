/**
 * Shared harness of the compatibility matrix: a real `s3local serve` process (auth on, non-default
 * keys, either bucket mode, the local backend or the Drime backend on its fake API, every request
 * logged so tests can see which S3 operations a client really sent), the client's version, and
 * `matrixSuite().workflow()`, an `it()` that records its outcome for docs/compatibility.md.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { clientEnv, runClient } from '../../helpers/clients.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';
import { sdkClient, tempDir } from '../../helpers/server.js';
import { startFakeDrime, type FakeDrime } from '../../fakes/drime/server.js';
import { recordResult } from './record.js';

/** Non-default keys, given to the server through S3LOCAL_ACCESS_KEY_ID / _SECRET_ACCESS_KEY. */
export const MATRIX_KEYS = {
  accessKeyId: 'S3LMATRIXKEY7Q2W9E4R',
  secretAccessKey: 'matrix/Secret+Key0123456789abcdefghijKLMN',
} as const;

/** Where a client is pointed. */
export interface Target {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** `127.0.0.1:PORT` */
  host: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The target as the matrix documents it: the default listen address and placeholder keys. */
export const DOC_TARGET: Target = {
  endpoint: 'http://127.0.0.1:10001',
  host: '127.0.0.1:10001',
  accessKeyId: '<ACCESS_KEY_ID>',
  secretAccessKey: '<SECRET_ACCESS_KEY>',
};

export type BucketMode = 'default' | 'advanced';

export interface MatrixServer extends Target {
  backend: BackendName;
  bucketMode: BucketMode;
  dataDir: string;
  serve: ServeProcess;
  /**
   * A position in the request log past every request answered so far; pass it to `ops()` to see
   * only later requests.
   */
  mark(): Promise<number>;
  /**
   * Counts of S3 operations (`PutObject`, `UploadPart`, `ListObjects`...) logged after `since`,
   * once every request answered so far is in the log (see {@link logBarrier}).
   */
  ops(since?: number): Promise<Map<string, number>>;
  /** An AWS SDK v3 client for checking what a client under test did (path style, matrix keys). */
  sdk(): S3Client;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export type BackendName = 'local' | 'drime';

/** One server a suite runs against. */
export interface ServerSpec {
  bucketMode: BucketMode;
  backend: BackendName;
}

/** Both bucket modes on the local backend. */
export const LOCAL_SPECS: readonly ServerSpec[] = [
  { bucketMode: 'default', backend: 'local' },
  { bucketMode: 'advanced', backend: 'local' },
];

/** Both local modes, and the default mode on the Drime backend (its fake API). */
export const ALL_SPECS: readonly ServerSpec[] = [...LOCAL_SPECS, { bucketMode: 'default', backend: 'drime' }];

/**
 * Starts `s3local serve` on 127.0.0.1:0 with the matrix keys, in the given bucket mode, logging
 * every request, over a fresh local store or (`backend: 'drime'`) the Drime backend talking to a
 * fake Drime API that runs in this test process (clients run as child processes, so its event
 * loop stays free while they work).
 */
export async function startMatrixServer(opts: {
  bucketMode: BucketMode;
  backend?: BackendName;
}): Promise<MatrixServer> {
  const backend = opts.backend ?? 'local';
  const home = await tempDir('s3local-matrix-');
  const dataDir = join(home, 'data');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(clientEnv())) if (!/^(S3LOCAL_|DRIME_)/.test(k)) env[k] = v;
  Object.assign(env, {
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'share'),
    S3LOCAL_ACCESS_KEY_ID: MATRIX_KEYS.accessKeyId,
    S3LOCAL_SECRET_ACCESS_KEY: MATRIX_KEYS.secretAccessKey,
  });
  const args = ['--listen', '127.0.0.1:0', '--debug'];
  let fake: FakeDrime | undefined;
  if (backend === 'drime') {
    fake = await startFakeDrime();
    Object.assign(env, { DRIME_API_KEY: fake.token, DRIME_API_URL: fake.apiUrl, TMPDIR: home });
    args.push('--backend', 'drime', '--root-folder', 's3local/matrix');
  } else {
    args.push('--path', dataDir);
  }
  if (opts.bucketMode === 'advanced') args.push('--allow-bucket-creation');
  let serve: ServeProcess;
  try {
    serve = await startServeProcess(args, env);
  } catch (err) {
    await fake?.close();
    throw err;
  }
  const endpoint = serve.endpoint;
  let sdk: S3Client | undefined;
  return {
    endpoint,
    host: new URL(endpoint).host,
    ...MATRIX_KEYS,
    backend,
    bucketMode: opts.bucketMode,
    dataDir,
    serve,
    mark: async () => (await logBarrier(endpoint, () => serve.stderr())).after,
    async ops(since = 0) {
      const upTo = (await logBarrier(endpoint, () => serve.stderr())).before;
      const counts = new Map<string, number>();
      for (const line of serve.stderr().slice(since, upTo).split('\n')) {
        const op = requestOperation(line);
        if (op) counts.set(op, (counts.get(op) ?? 0) + 1);
      }
      return counts;
    },
    sdk() {
      sdk ??= sdkClient(endpoint, { ...MATRIX_KEYS });
      return sdk;
    },
    async stop() {
      sdk?.destroy();
      // Deadline: a server that does not exit within 40 s of SIGTERM is killed and reported.
      const started = Date.now();
      const timer = setTimeout(() => serve.child.kill('SIGKILL'), 40_000);
      const code = await serve.stop();
      clearTimeout(timer);
      await fake?.close();
      await rm(home, { recursive: true, force: true });
      if (code !== 0) {
        process.stderr.write(
          `serve exited with ${code} ${Date.now() - started} ms after SIGTERM; stdout tail:\n` +
            serve.stdout().slice(-400) +
            '\nstderr tail:\n' +
            serve.stderr().slice(-1500) +
            '\n',
        );
      }
      return code;
    },
  };
}

/**
 * The S3 operation of one request-log line, in any of the server's formats: the debug line
 * (`DEBUG request ... op=PutObject`), the text access log (`INFO  200 PutObject default/k ...`)
 * or a JSON line (`{"msg":"request","operation":"PutObject"}`).
 */
/**
 * The server writes a request's log line when it has answered it, and the test reads the server's
 * stderr through a pipe: a client that just exited may have had answers whose lines are not read
 * yet. This sends one more (anonymous, refused) request naming a fresh bucket and waits until its
 * line arrives; every earlier line is then read. Returns where that line starts and ends.
 */
async function logBarrier(endpoint: string, log: () => string): Promise<{ before: number; after: number }> {
  const marker = `log-barrier-${randomBytes(6).toString('hex')}`;
  const res = await fetch(`${endpoint}/${marker}`);
  await res.arrayBuffer();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = log();
    const at = text.indexOf(marker);
    const end = at >= 0 ? text.indexOf('\n', at) : -1;
    if (end >= 0) return { before: text.lastIndexOf('\n', at) + 1, after: end + 1 };
    if (Date.now() > deadline) throw new Error(`the server never logged the request for ${marker}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function requestOperation(line: string): string | undefined {
  if (line.startsWith('{')) {
    try {
      const o = JSON.parse(line) as { msg?: string; operation?: string; op?: string };
      return o.msg === 'request' ? (o.operation ?? o.op) : undefined;
    } catch {
      return undefined;
    }
  }
  return (
    / DEBUG +request .*?\bop="?([A-Za-z0-9]+)/.exec(line)?.[1] ??
    / INFO +\d{3} ([A-Z][A-Za-z0-9]+) /.exec(line)?.[1]
  );
}

/** Every key under `prefix` with its size and ETag, through ListObjectsV2 pages. */
export async function listAll(
  client: S3Client,
  bucket: string,
  prefix = '',
): Promise<Map<string, { size: number; etag: string }>> {
  const out = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key!, { size: o.Size!, etag: o.ETag! });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The first line a client prints for its version, or `not installed`. */
export async function clientVersion(cmd: string, args: string[], env = clientEnv()): Promise<string> {
  const r = await runClient(cmd, args, env, 60_000);
  const line = (r.out.trim() || r.err.trim()).split('\n')[0]?.trim() ?? '';
  return r.code === 0 && line ? line : 'not installed';
}

export interface WorkflowCell {
  /** The stable row name of the workflow in the matrix. */
  workflow: string;
  bucketMode: BucketMode;
  backend: BackendName;
  /** The exact client settings, rendered for DOC_TARGET (placeholders instead of port and keys). */
  settings: string;
}

export interface MatrixSuite {
  /** `it()` that records pass/fail (or skip, when the client is unavailable) for the matrix. */
  workflow(cell: WorkflowCell, fn: () => Promise<void>, knownIssue?: string): void;
  /** Why this client is skipped, if it is. */
  skip: string | undefined;
}

/**
 * A suite of workflows for one client. `available` is clientTestOptions(cmd) (skip outside CI when
 * missing), optionalClient() for clients CI cannot install, or `{ timeout }` for an npm SDK;
 * `version` runs once, lazily, when the first workflow runs.
 */
export function matrixSuite(
  client: string,
  available: { skip?: string; timeout: number },
  version: () => Promise<string>,
): MatrixSuite {
  let cached: Promise<string> | undefined;
  const versionOnce = () => (cached ??= version());
  let defined = 0;
  return {
    skip: available.skip,
    workflow(cell, fn, knownIssue) {
      const title = `${client} [${cell.backend}, ${cell.bucketMode} mode]: ${cell.workflow}`;
      const base = {
        client,
        workflow: cell.workflow,
        order: defined++,
        backend: cell.backend,
        bucketMode: cell.bucketMode,
        settings: cell.settings,
      };
      const skip = available.skip ?? knownIssue;
      if (skip !== undefined) {
        recordResult({
          ...base,
          version: available.skip ? 'not installed' : 'known issue',
          result: 'skip',
          reason: skip,
          durationMs: 0,
        });
        it(title, { skip, timeout: available.timeout }, () => undefined);
        return;
      }
      it(title, { timeout: available.timeout }, async () => {
        const started = Date.now();
        const ver = await versionOnce();
        try {
          await fn();
        } catch (err) {
          const reason = (err instanceof Error ? err.message : String(err))
            .split('\n')
            .slice(0, 6)
            .join('\n');
          recordResult({
            ...base,
            version: ver,
            result: 'fail',
            reason,
            durationMs: Date.now() - started,
          });
          throw err;
        }
        recordResult({ ...base, version: ver, result: 'pass', durationMs: Date.now() - started });
      });
    },
  };
}

/** One server of a client's matrix, as its workflows see it. */
export interface MatrixServerSuite extends ServerSpec {
  /** The running server (set by the suite's before()). */
  readonly srv: MatrixServer;
  /** A temp directory for the client's files and config (set by before(), removed by after()). */
  readonly home: string;
  /** The matrix cell of `workflow` on this server, documented with `settings`. */
  cell(workflow: string, settings: string): WorkflowCell;
  /** Registers a before() hook that runs once the server and home exist (not when skipped). */
  setup(fn: () => void | Promise<void>): void;
}

/**
 * The describe() of one server spec, titled `<title> matrix, <backend> backend, <mode> bucket
 * mode`. Unless the suite is skipped, its before() starts the server and makes a temp home
 * (`s3local-matrix-<homeTag>-`); its after() asserts that the server exits 0 on SIGTERM and
 * removes the home. `body` defines the workflows (and any further setup, with `m.setup`).
 */
export function describeMatrix(
  suite: MatrixSuite,
  { bucketMode, backend }: ServerSpec,
  opts: { title: string; homeTag: string },
  body: (m: MatrixServerSuite) => void,
): void {
  describe(`${opts.title} matrix, ${backend} backend, ${bucketMode} bucket mode`, () => {
    let srv: MatrixServer | undefined;
    let home: string | undefined;
    const m: MatrixServerSuite = {
      bucketMode,
      backend,
      get srv() {
        if (!srv) throw new Error('the matrix server is not started (before() has not run)');
        return srv;
      },
      get home() {
        if (home === undefined) throw new Error('the matrix home is not made (before() has not run)');
        return home;
      },
      cell: (workflow, settings) => ({ workflow, bucketMode, backend, settings }),
      setup(fn) {
        before(async () => {
          if (!suite.skip) await fn();
        });
      },
    };
    before(async () => {
      if (suite.skip) return;
      srv = await startMatrixServer({ bucketMode, backend });
      home = await tempDir(`s3local-matrix-${opts.homeTag}-`);
    });
    after(async () => {
      if (suite.skip) return;
      assert.equal(await m.srv.stop(), 0, 'serve exits 0 on SIGTERM');
      await rm(m.home, { recursive: true, force: true });
    });
    body(m);
  });
}

/** A client that CI cannot install (e.g. the pyenv awscli v1): skipped loudly when absent, even in CI. */
export function optionalClient(present: boolean, reason: string): { skip?: string; timeout: number } {
  if (present) return { timeout: 600_000 };
  process.stderr.write(`\n*** SKIPPING: ${reason} ***\n\n`);
  return { skip: reason, timeout: 600_000 };
}
