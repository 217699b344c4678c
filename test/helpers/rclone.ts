/**
 * rclone pointed at s3local: the `rclone.conf` text of an S3 remote, and a runner for the real
 * binary with a fixed config and flags.
 */
import { writeFile } from 'node:fs/promises';
import { clientEnv, runClient, type ClientRun } from './clients.js';
import { TEST_CREDENTIALS } from './server.js';

/** One S3 remote of an rclone.conf. */
export interface RcloneRemote {
  /** The remote's name, `[name]` (default `srv`). */
  name?: string;
  endpoint: string;
  /** Default: TEST_CREDENTIALS. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `key = value` lines after the standard ones (v2_auth, chunk sizes ...). */
  extra?: readonly string[];
}

/**
 * The rclone.conf text of an S3 remote for s3local: provider Other, the given keys and endpoint,
 * region us-east-1, path-style addressing, then `extra`.
 */
export function rcloneConfig(remote: RcloneRemote): string {
  const keys = remote.credentials ?? TEST_CREDENTIALS;
  return [
    `[${remote.name ?? 'srv'}]`,
    'type = s3',
    'provider = Other',
    `access_key_id = ${keys.accessKeyId}`,
    `secret_access_key = ${keys.secretAccessKey}`,
    `endpoint = ${remote.endpoint}`,
    'region = us-east-1',
    'force_path_style = true',
    ...(remote.extra ?? []),
    '',
  ].join('\n');
}

/** Writes rcloneConfig(remote) to `path`. */
export async function writeRcloneConfig(path: string, remote: RcloneRemote): Promise<void> {
  await writeFile(path, rcloneConfig(remote));
}

/**
 * `rclone --config CONF FLAGS... ARGS...` with clientEnv(), killed after `timeoutMs` (runClient's
 * default when omitted).
 */
export function rcloneRunner(
  conf: string,
  flags: readonly string[],
  timeoutMs?: number,
): (...args: string[]) => Promise<ClientRun> {
  return (...args) => runClient('rclone', ['--config', conf, ...flags, ...args], clientEnv(), timeoutMs);
}
