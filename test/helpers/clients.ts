/**
 * Real client binaries (rclone, restic, awscli, s3cmd ...). Missing outside CI: the test is
 * skipped with a loud reason. Missing under CI=true: the test fails, since .ci/run installs them.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** True when `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/**
 * For `it(name, clientTestOptions('rclone'), fn)`: `{ skip: reason }` when the binary is missing
 * outside CI; under CI the test runs (and fails on the missing binary).
 */
export function clientTestOptions(cmd: string): { skip?: string; timeout: number } {
  if (hasCommand(cmd) || process.env.CI === 'true') return { timeout: 600_000 };
  const reason = `${cmd} is not installed: install it (apt-get install ${cmd}) to run this interop test`;
  process.stderr.write(`\n*** SKIPPING: ${reason} ***\n\n`);
  return { skip: reason, timeout: 600_000 };
}

/**
 * The environment for a client process: this machine's, minus AWS_* variables (an ambient
 * AWS_CA_BUNDLE, profile or key would change what the client does), plus `extra`.
 */
export function clientEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return { ...env, ...extra };
}

export interface ClientRun {
  code: number | null;
  out: string;
  err: string;
}

/** Asserts that a client run exited 0; the message is `what`, then its stderr and stdout. */
export function assertOk(r: ClientRun, what: string): void {
  assert.equal(r.code, 0, `${what}:\n${r.err}\n${r.out}`);
}

/**
 * Runs a client binary asynchronously (never spawnSync: the server under test may live in this
 * very process) and collects its output; killed after `timeoutMs`.
 */
export function runClient(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 300_000,
): Promise<ClientRun> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      err += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => (err += String(e)));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** The pyenv awscli v1 (a 2025+ botocore that sends CRC32 trailers), when this machine has it. */
export const PYENV_AWS = join(homedir(), '.pyenv', 'shims', 'aws');

/** The awscli builds the suite runs, each with its `it` options (skip when absent, as above). */
export function awscliVariants(): Array<{
  label: string;
  bin: string;
  opts: { skip?: string; timeout: number };
}> {
  return [
    { label: 'awscli (Debian)', bin: '/usr/bin/aws', opts: clientTestOptions('aws') },
    {
      label: 'awscli v1 (pyenv, new botocore)',
      bin: PYENV_AWS,
      opts: existsSync(PYENV_AWS)
        ? { timeout: 600_000 }
        : { skip: 'the pyenv awscli v1 is not installed on this machine', timeout: 600_000 },
    },
  ];
}

/** awscli's environment: the given config file, the test credentials, nothing ambient. */
export function awscliEnv(
  config: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): NodeJS.ProcessEnv {
  return clientEnv({
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: `${config}.no-credentials`,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  });
}
