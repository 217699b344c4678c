/**
 * Where s3local keeps its per-user files. XDG Base Directory rules on every OS: a relative or empty
 * `XDG_*_HOME` is ignored, as the specification requires.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

type Env = NodeJS.ProcessEnv;

function home(env: Env): string {
  return env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
}

function xdg(env: Env, variable: 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME', fallback: string[]): string {
  const value = env[variable];
  if (value !== undefined && value !== '' && isAbsolute(value)) return join(value, 's3local');
  return join(home(env), ...fallback, 's3local');
}

/** `$XDG_CONFIG_HOME/s3local`, else `~/.config/s3local`. */
export function configDir(env: Env): string {
  return xdg(env, 'XDG_CONFIG_HOME', ['.config']);
}

/**
 * The saved-backends file: `--config FILE` (`configFlag`) > `S3LOCAL_CONFIG` >
 * `<config dir>/backends.toml`.
 */
export function backendsFile(env: Env, configFlag?: string): string {
  if (configFlag !== undefined && configFlag !== '') return configFlag;
  const fromEnv = env.S3LOCAL_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return join(configDir(env), 'backends.toml');
}

/**
 * The default data directory of the local backend: `$XDG_DATA_HOME/s3local`, else
 * `~/.local/share/s3local` — persistent and per user (pys3local used /tmp/s3store, which the OS
 * may wipe).
 */
export function defaultDataDir(env: Env): string {
  return xdg(env, 'XDG_DATA_HOME', ['.local', 'share']);
}

/** `<config dir>/credentials.toml`: the access key pair generated on first start. */
export function credentialsFile(env: Env): string {
  return join(configDir(env), 'credentials.toml');
}
