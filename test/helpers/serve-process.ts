/**
 * Runs the real `s3local serve` executable (the built CLI) as a child process and reads its banner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  /** Everything printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** The printed rclone config block, from `[s3local]` to the blank line. */
  rcloneBlock(): string;
  endpoint: string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `s3local serve ARGS` and resolves once the banner is printed (deadline 20 s). */
export async function startServeProcess(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s:\n${out}\n${err}`)), 20_000);
    const check = () => {
      if (out.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}\n${err}`));
    });
  });
  const endpoint = /^endpoint = (.+)$/m.exec(out)?.[1] ?? '';
  return {
    child,
    endpoint,
    stdout: () => out,
    stderr: () => err,
    rcloneBlock() {
      const start = out.indexOf('[s3local]');
      const end = out.indexOf('\n\n', start);
      return out.slice(start, end) + '\n';
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * SIGTERM, then the exit code; a server still running after `ms` is killed (SIGKILL) and the
 * returned promise rejects, so a shutdown that hangs fails the test instead of hanging it.
 */
export async function stopWithin(serve: ServeProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      serve.stop(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          serve.child.kill('SIGKILL');
          reject(new Error(`serve did not exit within ${ms} ms of SIGTERM:\n${serve.stderr().slice(-2000)}`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
