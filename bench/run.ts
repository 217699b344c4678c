/**
 * `npm run bench [-- --quick] [--only <substring>]... [--cpu-prof] [--no-record]`
 *
 * Runs every scenario against the production build of `s3local serve` (temp store, auth on) and
 * against the limit server, with the same client, each server a child process restarted per
 * scenario group; prints the figures and appends them to bench/RESULTS.md and bench/results.jsonl
 * (`--quick` smoke runs go to bench/out/ instead). Exits 1 when a scenario failed with an error
 * (501 NotImplemented and missing tools are reported, not errors). Never asserts timings.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchClient } from './client.js';
import { cpuSeconds, peakRss, resetPeakRss } from './proc-stats.js';
import { summariseProfile } from './prof-summary.js';
import {
  evaluateTargets,
  progressLine,
  renderJsonLines,
  renderMarkdown,
  type RunInfo,
  type ScenarioResult,
  type TargetOutcome,
} from './report.js';
import {
  FULL_SIZES,
  NotImplementedError,
  QUICK_SIZES,
  type Access,
  type Scenario,
  type ScenarioContext,
  type Sizes,
} from './scenario-types.js';
import { SCENARIOS, selectScenarios } from './scenarios.js';
import { startLimit, startS3local, type ServerProcess, type Target } from './server-process.js';

interface Args {
  quick: boolean;
  only: string[];
  cpuProf: boolean;
  record: boolean;
  nodeFlags: string[];
}

const USAGE = `usage: npm run bench -- [--quick] [--only <substring>]... [--cpu-prof] [--no-record]
  --quick       tiny sizes, every scenario (a smoke run; recorded under bench/out/)
  --only S      only scenarios whose id or group contains S (repeatable, or comma-separated)
  --cpu-prof    profile the s3local server (node --cpu-prof into bench/out/prof/) and summarise it
  --no-record   print only; do not append to RESULTS.md / results.jsonl
  --node-flags=F flags for the node running s3local (default: the ones \`npm start\` passes,
                read from package.json; '' measures the bare \`s3local\` executable)
scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}`;

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      'cpu-prof': { type: 'boolean', default: false },
      'no-record': { type: 'boolean', default: false },
      'node-flags': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  return {
    quick: values.quick,
    only: (values.only ?? []).flatMap((s) => s.split(',')).filter((s) => s.length > 0),
    cpuProf: values['cpu-prof'],
    record: !values['no-record'],
    nodeFlags: (values['node-flags'] ?? startNodeFlags().join(' ')).split(/\s+/).filter((f) => f.length > 0),
  };
}

/** The repository root (this file runs from dist/bench/). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The node flags of package.json's `start` script (`node <flags> dist/src/cli/main.js serve`):
 * the benchmark measures the server as the quick start runs it.
 */
function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts?: { start?: string };
  };
  const m = /^node((?:\s+--\S+)*)\s+dist\/src\/cli\/main\.js\b/.exec(pkg.scripts?.start ?? '');
  if (!m) throw new Error('package.json scripts.start is not "node [flags] dist/src/cli/main.js ..."');
  return m[1]!
    .trim()
    .split(/\s+/)
    .filter((f) => f.length > 0);
}

function gitCommit(root: string): string {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const sha = git(['rev-parse', '--short', 'HEAD']);
    return git(['status', '--porcelain']) === '' ? sha : `${sha} + uncommitted changes`;
  } catch {
    return 'uncommitted';
  }
}

class DeadlineError extends Error {}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function emptyOutcome(status: TargetOutcome['status'], reason?: string): TargetOutcome {
  return {
    status,
    ...(reason === undefined ? {} : { reason }),
    peakRssBytes: null,
    cpuSeconds: null,
    clientCpuSeconds: null,
  };
}

interface Runner {
  root: string;
  runDir: string;
  workDir: string;
  homeDir: string;
  profDir: string;
  runTag: string;
  sizes: Sizes;
  access: Access;
  cpuProf: boolean;
  /** Flags for the node running s3local. */
  nodeFlags: string[];
  peakPerScenario: boolean;
}

let serverSeq = 0;

function runsOn(s: Scenario, target: Target): boolean {
  return s.targets === undefined || s.targets.includes(target);
}

async function startTarget(
  r: Runner,
  target: Target,
  group: string,
  dataDir: string,
  limitArgs: readonly string[],
): Promise<ServerProcess> {
  if (target === 'limit') return startLimit(r.root, dataDir, limitArgs);
  const name = `${r.runTag}-${group}-${++serverSeq}.cpuprofile`;
  return startS3local({
    root: r.root,
    dataDir,
    homeDir: r.homeDir,
    accessKeyId: r.access.accessKeyId,
    secretAccessKey: r.access.secretAccessKey,
    cpuProf: r.cpuProf ? { dir: r.profDir, name } : undefined,
    nodeFlags: r.nodeFlags,
  });
}

/** Runs one group's scenarios on one target; a fresh store and server for the group. */
async function runGroup(
  r: Runner,
  target: Target,
  group: string,
  scenarios: readonly Scenario[],
): Promise<Map<string, TargetOutcome>> {
  const outcomes = new Map<string, TargetOutcome>();
  let server: ServerProcess | null = null;
  let client: BenchClient | null = null;
  let dataDir = '';
  let state = new Map<string, unknown>();

  const stop = async () => {
    client?.close();
    client = null;
    if (server) {
      const code = await server.stop(10_000);
      if (code !== 0 && target === 's3local') process.stdout.write(`  (s3local exited with code ${code})\n`);
    }
    server = null;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = '';
  };
  const start = async () => {
    dataDir = await mkdtemp(join(r.runDir, `${target}-${group}-`));
    for (const s of scenarios) if (runsOn(s, target)) await s.prepareStore?.(target, dataDir, r.sizes);
    state = new Map();
    const limitArgs = [...new Set(scenarios.flatMap((s) => s.limitArgs ?? []))];
    server = await startTarget(r, target, group, dataDir, limitArgs);
    client = new BenchClient({ host: server.host, port: server.port, ...r.access });
  };

  try {
    for (const s of scenarios) {
      if (!runsOn(s, target)) {
        outcomes.set(s.id, emptyOutcome('skipped', s.targetNote ?? `not run on ${target}`));
        continue;
      }
      if (!server || !(server as ServerProcess).running()) {
        await stop();
        try {
          await start();
        } catch (err) {
          outcomes.set(s.id, emptyOutcome('error', `server did not start: ${message(err)}`));
          continue;
        }
      }
      const srv = server as unknown as ServerProcess;
      const ctx: ScenarioContext = {
        target,
        client: client as unknown as BenchClient,
        server: srv,
        sizes: r.sizes,
        access: r.access,
        workDir: r.workDir,
        state,
      };
      const label = `${s.id} on ${target}`;
      process.stdout.write(`  ${label} ...`);
      try {
        if (s.setup) await withDeadline(s.setup(ctx), r.sizes.scenarioDeadlineMs, `${label} (setup)`);
        if (!resetPeakRss(srv.pid)) r.peakPerScenario = false;
        const cpu0 = cpuSeconds(srv.pid);
        const client0 = process.cpuUsage();
        const m = await withDeadline(s.run(ctx), r.sizes.scenarioDeadlineMs, label);
        const clientCpu = process.cpuUsage(client0);
        const cpu1 = cpuSeconds(srv.pid);
        outcomes.set(s.id, {
          status: 'ok',
          measurement: m,
          peakRssBytes: peakRss(srv.pid),
          cpuSeconds: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
          clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
        });
        process.stdout.write(` ${m.value.toFixed(2)} ${s.unit}\n`);
      } catch (err) {
        if (err instanceof NotImplementedError) {
          outcomes.set(s.id, emptyOutcome('not-implemented', err.message));
          process.stdout.write(` ${err.message}\n`);
        } else {
          const died = !srv.running() ? `\nserver output:\n${srv.output()}` : '';
          outcomes.set(s.id, emptyOutcome('error', `${message(err)}${died}`));
          process.stdout.write(` error: ${message(err)}${died}\n`);
          // A timed-out or broken scenario may leave requests in flight: start over clean.
          if (err instanceof DeadlineError || died) await stop();
        }
      }
    }
  } finally {
    await stop();
  }
  return outcomes;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const started = performance.now();
  const loadBefore = os.loadavg()[0] ?? 0;
  const root = REPO_ROOT;
  if (!existsSync(join(root, 'dist/src/cli/main.js'))) {
    throw new Error('dist/src/cli/main.js is missing: run `npm run build` first (npm run bench does).');
  }
  const selected = selectScenarios(args.only);
  if (selected.length === 0) throw new Error(`no scenario matches ${args.only.join(', ')}\n${USAGE}`);
  const mode: RunInfo['mode'] = args.quick ? 'quick' : args.only.length > 0 ? 'partial' : 'full';
  const date = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const runDir = await mkdtemp(join(os.tmpdir(), 's3local-bench-'));
  const r: Runner = {
    root,
    runDir,
    workDir: join(runDir, 'work'),
    homeDir: join(runDir, 'home'),
    profDir: join(root, 'bench/out/prof'),
    runTag: date.replace(/[-:]/g, ''),
    sizes: args.quick ? QUICK_SIZES : FULL_SIZES,
    access: {
      accessKeyId: `BENCH${randomBytes(6).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(24).toString('base64url'),
      region: 'us-east-1',
      bucket: 'default',
    },
    cpuProf: args.cpuProf,
    nodeFlags: args.nodeFlags,
    peakPerScenario: true,
  };
  const abort = (signal: string) => {
    process.stderr.write(`bench: ${signal}, stopping\n`);
    rmSync(runDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', () => abort('SIGINT'));
  process.once('SIGTERM', () => abort('SIGTERM'));
  await mkdir(r.workDir, { recursive: true });
  await mkdir(r.homeDir, { recursive: true });
  if (args.cpuProf) await mkdir(r.profDir, { recursive: true });
  process.stdout.write(`s3local bench (${mode}), ${selected.length} scenarios, scratch ${runDir}\n`);
  if (loadBefore > os.cpus().length / 2) {
    process.stdout.write(
      `note: load average is ${loadBefore.toFixed(2)}: other work will skew the figures\n`,
    );
  }

  const results: ScenarioResult[] = [];
  try {
    const runnable: Scenario[] = [];
    const skipped = new Map<string, string>();
    for (const s of selected) {
      const why = s.unavailable?.() ?? null;
      if (why) skipped.set(s.id, why);
      else runnable.push(s);
    }
    for (const s of runnable) if (s.prepare) await s.prepare(r.sizes, r.workDir);

    const groups = [...new Set(runnable.map((s) => s.group))];
    const byId = new Map<string, { s3local?: TargetOutcome; limit?: TargetOutcome }>();
    for (const group of groups) {
      const members = runnable.filter((s) => s.group === group);
      process.stdout.write(`[${group}]\n`);
      for (const target of ['limit', 's3local'] as const) {
        if (!members.some((s) => runsOn(s, target))) {
          for (const s of members) {
            const why = emptyOutcome('skipped', s.targetNote ?? `not run on ${target}`);
            byId.set(s.id, { ...byId.get(s.id), [target]: why });
          }
          continue;
        }
        const outcomes = await runGroup(r, target, group, members);
        for (const [id, o] of outcomes) byId.set(id, { ...byId.get(id), [target]: o });
      }
      for (const s of members) {
        const got = byId.get(s.id);
        const result: ScenarioResult = {
          id: s.id,
          group: s.group,
          title: s.title(r.sizes),
          unit: s.unit,
          s3local: got?.s3local ?? emptyOutcome('error', 'not run'),
          limit: got?.limit ?? emptyOutcome('error', 'not run'),
        };
        process.stdout.write(`= ${progressLine(result)}\n`);
      }
    }
    for (const s of selected) {
      const why = skipped.get(s.id);
      const got = byId.get(s.id);
      results.push({
        id: s.id,
        group: s.group,
        title: s.title(r.sizes),
        unit: s.unit,
        s3local: why ? emptyOutcome('skipped', why) : (got?.s3local ?? emptyOutcome('error', 'not run')),
        limit: why ? emptyOutcome('skipped', why) : (got?.limit ?? emptyOutcome('error', 'not run')),
      });
    }
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }

  let extra = '';
  if (args.cpuProf) {
    const files = (await readdir(r.profDir)).filter((f) => f.startsWith(r.runTag)).sort();
    const parts = files.map((f) => summariseProfile(join(r.profDir, f), 12));
    extra =
      `CPU profiles of s3local (top self-time frames; files in bench/out/prof/):\n\n` +
      (parts.length > 0 ? parts.join('\n') : 'no profile was written (did the server exit cleanly?)\n');
  }

  const info: RunInfo = {
    date,
    commit: gitCommit(root),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: os.release(),
    mode,
    only: args.only,
    cpuProf: args.cpuProf,
    nodeFlags: args.nodeFlags,
    loadBefore,
    loadAfter: os.loadavg()[0] ?? 0,
    peakPerScenario: r.peakPerScenario,
    durationSeconds: (performance.now() - started) / 1000,
  };
  const targets = evaluateTargets(results);
  const markdown = renderMarkdown(info, results, targets, extra);
  process.stdout.write('\n' + markdown);

  if (args.record) {
    const dir = args.quick ? join(root, 'bench/out') : join(root, 'bench');
    const md = join(dir, args.quick ? 'RESULTS-quick.md' : 'RESULTS.md');
    const jsonl = join(dir, args.quick ? 'results-quick.jsonl' : 'results.jsonl');
    await mkdir(dir, { recursive: true });
    if (!existsSync(md)) {
      await writeFile(
        md,
        '# s3local benchmark results\n\n' +
          'Appended by `npm run bench` (see bench/README.md). Each figure is s3local, the limit server ' +
          '(bare node:http + temp file + fsync + rename, same client) and their ratio.\n\n',
      );
    }
    await appendFile(md, markdown);
    await appendFile(jsonl, renderJsonLines(info, results, targets));
    process.stdout.write(`recorded in ${md} and ${jsonl}\n`);
  }
  if (results.some((x) => x.s3local.status === 'error' || x.limit.status === 'error')) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
