/**
 * Real backup clients over plain HTTP, timed end to end: `rclone copy` of many small files and
 * `restic backup` of a tree. Their limit is the same tool writing to a local directory (no server
 * at all). A second rclone figure compares like with like: the same `rclone copy` over S3 against
 * s3local and against the limit server. Skipped, with the reason, when the binary is not installed.
 */
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Measurement, Scenario, ScenarioContext, Sizes } from './scenario-types.js';
import { randomBlock } from './payload.js';

/** The absolute path of `name` on PATH, or null. */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The environment of a tool: ours without AWS_*, RCLONE_* and RESTIC_* settings, so nothing of the
 * machine leaks in (AWS_CA_BUNDLE, for one, makes rclone's s3 backend fail over plain HTTP with
 * "LoadCustomCABundleError ... unsupported transport"), plus `env`.
 */
function toolEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(AWS_|RCLONE_|RESTIC_)/.test(k)) out[k] = v;
  }
  return { ...out, ...env };
}

/** Runs a command to completion (killed at `deadlineMs`); rejects with its output on failure. */
function run(
  cmd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  deadlineMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv(env) });
    let out = '';
    const keep = (c: Buffer) => {
      out = (out + c.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (code === 0) resolve(seconds);
      else
        reject(
          new Error(
            `${cmd} ${args.slice(0, 3).join(' ')} failed (${signal ?? `exit ${code}`}): ${out.trim()}`,
          ),
        );
    });
  });
}

let sequence = 0;

function endpoint(ctx: ScenarioContext): string {
  return `http://${ctx.server.host}:${ctx.server.port}`;
}

// ---------------------------------------------------------------------------------------------

const RCLONE_DIRS = 20;

/** The source tree both rclone scenarios copy: `rcloneFiles` files of 1–16 KiB in 20 directories. */
async function prepareRcloneSource(sizes: Sizes, workDir: string): Promise<void> {
  const src = join(workDir, 'rclone-src');
  if (existsSync(src)) return; // the other rclone scenario made it
  const block = randomBlock();
  for (let d = 0; d < RCLONE_DIRS; d++) await mkdir(join(src, `dir-${d}`), { recursive: true });
  for (let i = 0; i < sizes.rcloneFiles; i++) {
    // 1..16 KiB, different content per file.
    const size = 1024 + ((i * 7919) % (15 * 1024));
    const at = (i * 4099) % (block.length - size);
    await writeFile(join(src, `dir-${i % RCLONE_DIRS}`, `file-${i}.bin`), block.subarray(at, at + size));
  }
}

/**
 * Times `rclone copy` of the source tree: to a local directory (`toLocalDir`), else over S3 to the
 * target's server with the config block s3local's banner prints (rclone's defaults otherwise:
 * 4 transfers, a HEAD after each PUT to check the upload).
 */
async function rcloneCopy(ctx: ScenarioContext, toLocalDir: boolean): Promise<Measurement> {
  const rclone = which('rclone') ?? 'rclone';
  const src = join(ctx.workDir, 'rclone-src');
  const n = ++sequence;
  const config = join(ctx.workDir, `rclone-${n}.conf`);
  let dest: string;
  if (toLocalDir) {
    await writeFile(config, '');
    dest = join(ctx.workDir, `rclone-local-${n}`);
  } else {
    await writeFile(
      config,
      [
        '[s3local]',
        'type = s3',
        'provider = Other',
        `access_key_id = ${ctx.access.accessKeyId}`,
        `secret_access_key = ${ctx.access.secretAccessKey}`,
        `endpoint = ${endpoint(ctx)}`,
        `region = ${ctx.access.region}`,
        'force_path_style = true',
        '',
      ].join('\n'),
    );
    dest = `s3local:${ctx.access.bucket}/rclone-${n}`;
  }
  const seconds = await run(
    rclone,
    ['copy', src, dest, '--config', config, '-q'],
    {},
    ctx.sizes.scenarioDeadlineMs,
  );
  return { value: seconds, ops: ctx.sizes.rcloneFiles, seconds, fromServer: !toLocalDir };
}

const rcloneScenario: Scenario = {
  id: 'rclone-copy-2000',
  group: 'rclone',
  unit: 's',
  title: (s) => `rclone copy, ${s.rcloneFiles} small files (wall time; limit: to a local dir)`,
  unavailable: () => (which('rclone') ? null : 'rclone is not installed'),
  prepare: prepareRcloneSource,
  run: (ctx) => rcloneCopy(ctx, ctx.target === 'limit'),
};

/**
 * The same copy over S3 on both targets: what the client and the protocol cost on their own. The
 * limit server answers PUTs with an MD5 ETag (rclone checks it) and HEADs with it.
 */
const rcloneS3Scenario: Scenario = {
  id: 'rclone-copy-2000-s3',
  group: 'rclone-s3',
  unit: 's',
  title: (s) => `rclone copy, ${s.rcloneFiles} small files over S3 (wall time; limit: to the limit server)`,
  unavailable: () => (which('rclone') ? null : 'rclone is not installed'),
  limitArgs: ['--md5-etag'],
  prepare: prepareRcloneSource,
  run: (ctx) => rcloneCopy(ctx, false),
};

// ---------------------------------------------------------------------------------------------

function resticEnv(ctx: ScenarioContext): Record<string, string> {
  return {
    RESTIC_PASSWORD: 's3local-bench',
    AWS_ACCESS_KEY_ID: ctx.access.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ctx.access.secretAccessKey,
    AWS_DEFAULT_REGION: ctx.access.region,
  };
}

const resticScenario: Scenario = {
  id: 'restic-backup-200m',
  group: 'restic',
  unit: 's',
  title: (s) =>
    `restic backup, ${Math.round(s.resticBytes / 1024 / 1024)} MiB tree (wall time; limit: local repo)`,
  unavailable: () => (which('restic') ? null : 'restic is not installed'),
  async prepare(sizes, workDir) {
    // Fresh random bytes: restic deduplicates, so a repeating pattern would not be uploaded.
    const src = join(workDir, 'restic-src');
    const fileSize = Math.min(4 * 1024 * 1024, Math.max(64 * 1024, Math.floor(sizes.resticBytes / 16)));
    let left = sizes.resticBytes;
    for (let i = 0; left > 0; i++) {
      const dir = join(src, `dir-${i % 5}`);
      await mkdir(dir, { recursive: true });
      const n = Math.min(fileSize, left);
      await writeFile(join(dir, `file-${i}.bin`), randomBytes(n));
      left -= n;
    }
  },
  async setup(ctx) {
    const n = ++sequence;
    const repo =
      ctx.target === 'limit'
        ? join(ctx.workDir, `restic-local-${n}`)
        : `s3:${endpoint(ctx)}/${ctx.access.bucket}/restic-${n}`;
    ctx.state.set('restic-repo', repo);
    ctx.state.set('restic-cache', join(ctx.workDir, `restic-cache-${n}`));
    await run(
      which('restic') ?? 'restic',
      ['init', '--repo', repo, '--cache-dir', join(ctx.workDir, `restic-cache-${n}`)],
      resticEnv(ctx),
      ctx.sizes.scenarioDeadlineMs,
    );
  },
  async run(ctx): Promise<Measurement> {
    const repo = String(ctx.state.get('restic-repo'));
    const seconds = await run(
      which('restic') ?? 'restic',
      [
        'backup',
        join(ctx.workDir, 'restic-src'),
        '--repo',
        repo,
        '--cache-dir',
        String(ctx.state.get('restic-cache')),
        '-q',
      ],
      resticEnv(ctx),
      ctx.sizes.scenarioDeadlineMs,
    );
    return { value: seconds, bytes: ctx.sizes.resticBytes, seconds, fromServer: ctx.target !== 'limit' };
  },
};

/** The real-client scenarios, in report order. */
export const TOOL_SCENARIOS: readonly Scenario[] = [rcloneScenario, rcloneS3Scenario, resticScenario];
