/**
 * Starts the servers under test as child processes (so /proc gives each its own RSS and CPU) and
 * stops them with SIGTERM: the production build of `s3local serve`, and the limit server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Which server a figure belongs to. */
export type Target = 's3local' | 'limit';

/** A running server child process. */
export interface ServerProcess {
  target: Target;
  pid: number;
  host: string;
  port: number;
  /** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`); resolves to the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** The last lines the process wrote (stdout and stderr), for error reports. */
  output(): string;
  /** False once the process has exited. */
  running(): boolean;
}

const START_DEADLINE_MS = 30_000;
const TAIL_BYTES = 8192;

/** Children still alive; killed if the harness itself exits early (Ctrl+C, a crash). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function watch(
  child: ChildProcess,
  target: Target,
  ready: (text: string) => { host: string; port: number } | null,
): Promise<ServerProcess> {
  let tail = '';
  let exitCode: number | null | undefined;
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      live.delete(child);
      exitCode = code;
      resolve(code);
    });
  });
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stderr?.on('data', append);
  return new Promise<ServerProcess>((resolve, reject) => {
    let stdout = '';
    let done = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${target} did not start within ${START_DEADLINE_MS} ms:\n${tail}`));
    }, START_DEADLINE_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      append(chunk);
      if (done) return;
      stdout += chunk.toString('utf8');
      let at: { host: string; port: number } | null;
      try {
        at = ready(stdout);
      } catch (err) {
        done = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (at) {
        done = true;
        clearTimeout(timer);
        stdout = '';
        resolve({
          target,
          pid: child.pid ?? -1,
          ...at,
          output: () => tail,
          running: () => exitCode === undefined,
          stop: async (graceMs = 15_000) => {
            if (exitCode !== undefined) return exitCode;
            child.kill('SIGTERM');
            const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
            const code = await exited;
            clearTimeout(killer);
            return code;
          },
        });
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${target} exited with code ${code} before it was ready:\n${tail}`));
    });
  });
}

/** Options of the s3local child. */
export interface S3localProcessOptions {
  /** The repository root (dist/src/cli/main.js lives under it). */
  root: string;
  dataDir: string;
  /** HOME / XDG dirs for the child, so no user config file is read. */
  homeDir: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** When set, `--cpu-prof --cpu-prof-dir <dir> --cpu-prof-name <name>` are passed to node. */
  cpuProf?: { dir: string; name: string } | undefined;
  /** Flags for node itself, before the script (what `npm start` passes). */
  nodeFlags?: readonly string[] | undefined;
}

/** Starts `s3local serve` (auth on, 127.0.0.1, a free port) and waits for its banner. */
export function startS3local(o: S3localProcessOptions): Promise<ServerProcess> {
  const nodeArgs = [
    ...(o.nodeFlags ?? []),
    ...(o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProf.dir, '--cpu-prof-name', o.cpuProf.name] : []),
  ];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      join(o.root, 'dist/src/cli/main.js'),
      'serve',
      '--path',
      o.dataDir,
      '--listen',
      '127.0.0.1:0',
      '--access-key-id',
      o.accessKeyId,
      '--secret-access-key',
      o.secretAccessKey,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: o.homeDir,
        XDG_CONFIG_HOME: join(o.homeDir, '.config'),
        XDG_DATA_HOME: join(o.homeDir, '.local/share'),
        XDG_CACHE_HOME: join(o.homeDir, '.cache'),
        NODE_ENV: 'production',
      },
    },
  );
  return watch(child, 's3local', (text) => {
    if (!text.includes('Press Ctrl+C to stop the server')) return null;
    const m = /endpoint = http:\/\/([^:/\s]+|\[[^\]]+\]):(\d+)/.exec(text);
    if (!m?.[1] || !m[2]) throw new Error(`no endpoint line in the s3local banner:\n${text}`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  });
}

/** Starts the limit server (dist/bench/limit-server.js) storing under `dataDir`, with `args`. */
export function startLimit(
  root: string,
  dataDir: string,
  args: readonly string[] = [],
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(root, 'dist/bench/limit-server.js'), dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(child, 'limit', (text) => {
    const m = /listening http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
    return m?.[1] ? { host: '127.0.0.1', port: Number(m[1]) } : null;
  });
}
