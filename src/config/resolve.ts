/**
 * Resolves the options of `s3local serve` from the option table (options.ts), the same way for
 * every option: command-line flag > environment variable > saved backend config
 * (`--backend-config NAME` / `S3LOCAL_BACKEND_CONFIG`) > default.
 */
import { Command, Option } from 'commander';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { TomlValue } from 'smol-toml';
import { CliExit } from '../cli/context.js';
import { BackendsFile, BackendsFileError, type BackendConfig } from './backends-file.js';
import { SERVE_OPTIONS, type OptionSpec, type ServeOptions } from './options.js';
import { backendsFile } from './paths.js';

/** Input of {@link resolveServeOptions}. */
export interface ResolveServeInput {
  /**
   * Options given explicitly on the command line, as commander parsed them. Keys may be the
   * ServeOptions names (`noAuth: true`) or commander's attribute names (`auth: false` for
   * `--no-auth`); `config` is the `--config` file. Options not given must be absent.
   */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  /** The backends file to read (overrides `flags.config` and `S3LOCAL_CONFIG`). */
  configFile?: string;
}

/** Where a resolved value came from. */
export type OptionSource = 'flag' | 'env' | 'config' | 'default';

/** {@link resolveServeOptionsDetailed}'s answer. */
export interface ResolvedServeOptions {
  options: ServeOptions;
  /** The layer each set option came from. */
  sources: Partial<Record<keyof ServeOptions, OptionSource>>;
  /** The saved backend used, if any (secrets revealed). */
  backend?: BackendConfig;
  /** The backends file read, if any. */
  backendsFile?: string;
  /** Keys of the saved backend that no option uses (typos, or keys of a newer version). */
  ignoredKeys: string[];
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

/** A raw value and where it came from, for error messages. */
interface Raw {
  value: unknown;
  source: OptionSource;
  origin: string;
}

function longFlag(spec: OptionSpec): string {
  return spec.flag.split(/[ ,]/)[0] ?? spec.flag;
}

/** commander's attribute name and negation for a table entry (`--no-auth` -> `auth`, negated). */
function commanderAttr(spec: OptionSpec): { attr: string; negate: boolean } {
  const opt = new Option(spec.flag);
  return { attr: opt.attributeName(), negate: opt.negate };
}

function fail(origin: string, message: string): never {
  throw new CliExit(`Invalid value for ${origin}: ${message}`, 1);
}

function parseBoolean(raw: Raw): boolean {
  if (typeof raw.value === 'boolean') return raw.value;
  if (typeof raw.value === 'string') {
    const word = raw.value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return fail(raw.origin, `${show(raw.value)} (expected 1/true/yes/on or 0/false/no/off)`);
}

function parseInteger(raw: Raw): number {
  const v = raw.value;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) {
    const n = Number(v.trim());
    if (Number.isSafeInteger(n)) return n;
  }
  return fail(raw.origin, `${show(v)} is not an integer`);
}

/** Durations: `250ms`, `30s`, `5m`, `2h`; a bare number is seconds. Result in milliseconds. */
function parseDuration(raw: Raw): number {
  const v = raw.value;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v * 1000);
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
    if (m?.[1] !== undefined) {
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
      return Math.round(Number(m[1]) * unit);
    }
  }
  return fail(raw.origin, `${show(v)} is not a duration (e.g. 500ms, 30s, 5m, 1h)`);
}

function show(v: unknown): string {
  return typeof v === 'string'
    ? `'${v}'`
    : typeof v === 'bigint'
      ? v.toString()
      : (JSON.stringify(v) ?? String(v));
}

/** Converts a raw value to the option's type; undefined means "explicitly none". */
function convert(spec: OptionSpec, raw: Raw): string | boolean | number | undefined {
  switch (spec.type) {
    case 'boolean':
      return parseBoolean(raw);
    case 'integer':
      return parseInteger(raw);
    case 'duration':
      return parseDuration(raw);
    case 'string': {
      if (typeof raw.value !== 'string') return fail(raw.origin, `${show(raw.value)} is not a string`);
      if (raw.value === '') {
        // `--root-folder ""` clears a value a saved backend sets; an option with a default needs one.
        if (spec.default !== undefined) return fail(raw.origin, 'must not be empty');
        return undefined;
      }
      if (spec.choices !== undefined && !spec.choices.includes(raw.value)) {
        return fail(raw.origin, `${show(raw.value)} (choices: ${spec.choices.join(', ')})`);
      }
      return raw.value;
    }
  }
}

function fromFlags(spec: OptionSpec, flags: Record<string, unknown>): Raw | undefined {
  const origin = longFlag(spec);
  if (Object.hasOwn(flags, spec.name) && flags[spec.name] !== undefined) {
    return { value: flags[spec.name], source: 'flag', origin };
  }
  const { attr, negate } = commanderAttr(spec);
  if (attr !== spec.name && Object.hasOwn(flags, attr) && flags[attr] !== undefined) {
    const value = flags[attr];
    // commander stores `--no-auth` as auth=false; the table's option is noAuth=true.
    return { value: negate && typeof value === 'boolean' ? !value : value, source: 'flag', origin };
  }
  return undefined;
}

function fromEnv(spec: OptionSpec, env: NodeJS.ProcessEnv): Raw | undefined {
  for (const name of spec.env) {
    const value = env[name];
    // An empty variable counts as unset (`S3LOCAL_PATH= s3local serve`).
    if (value !== undefined && value !== '') return { value, source: 'env', origin: name };
  }
  return undefined;
}

function fromBackend(
  spec: OptionSpec,
  cfg: BackendConfig | undefined,
  file: string,
  env: NodeJS.ProcessEnv,
): Raw | undefined {
  if (cfg === undefined || spec.configKey === undefined) return undefined;
  const origin = `'${spec.configKey}' in backend '${cfg.name}' (${file})`;
  if (spec.configKey === 'type') return { value: cfg.type, source: 'config', origin };
  const value: TomlValue | undefined = cfg.values[spec.configKey];
  if (value === undefined) return undefined;
  if (spec.name === 'path' && typeof value === 'string' && value !== '') {
    return { value: expandConfigPath(value, file, env), source: 'config', origin };
  }
  return { value, source: 'config', origin };
}

/** `~` expands to the home directory; a relative path is relative to the backends file's directory. */
function expandConfigPath(p: string, file: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir();
  if (p === '~' || p.startsWith('~/')) return resolvePath(home, p.slice(2));
  return isAbsolute(p) ? p : resolvePath(dirname(resolvePath(file)), p);
}

async function loadBackend(name: string, file: string): Promise<BackendConfig> {
  try {
    const doc = await BackendsFile.load(file);
    if (!doc.has(name)) {
      const names = doc.names();
      const lines = [`Backend config '${name}' not found.`];
      if (names.length === 0)
        lines.push(`No backends are configured in ${file} (add one with \`s3local config\`).`);
      else lines.push('Available backends:', ...names.map((n) => `  - ${n}`));
      throw new CliExit(lines.join('\n'), 1);
    }
    return doc.get(name);
  } catch (err) {
    if (err instanceof BackendsFileError) throw new CliExit(err.message, 1);
    throw err;
  }
}

/** Like {@link resolveServeOptions}, and also says where each value came from. */
export async function resolveServeOptionsDetailed(input: ResolveServeInput): Promise<ResolvedServeOptions> {
  const { flags, env } = input;
  const byName = new Map(SERVE_OPTIONS.map((s) => [s.name, s]));
  const configFlag = typeof flags.config === 'string' ? flags.config : undefined;
  const file = backendsFile(env, input.configFile ?? configFlag);

  // The backend config's own name cannot come from a backend config.
  const bcSpec = byName.get('backendConfig');
  const bcRaw = bcSpec && (fromFlags(bcSpec, flags) ?? fromEnv(bcSpec, env));
  const bcName = bcSpec && bcRaw ? convert(bcSpec, bcRaw) : undefined;
  const cfg = typeof bcName === 'string' ? await loadBackend(bcName, file) : undefined;

  const out: Record<string, unknown> = {};
  const sources: Partial<Record<keyof ServeOptions, OptionSource>> = {};
  for (const spec of SERVE_OPTIONS) {
    const raw = fromFlags(spec, flags) ?? fromEnv(spec, env) ?? fromBackend(spec, cfg, file, env);
    if (raw !== undefined) {
      const value = convert(spec, raw);
      sources[spec.name] = raw.source;
      if (value !== undefined) out[spec.name] = value;
    } else if (spec.default !== undefined) {
      out[spec.name] = spec.default;
      sources[spec.name] = 'default';
    }
  }

  if (cfg !== undefined) {
    const backendSource = sources.backend;
    if ((backendSource === 'flag' || backendSource === 'env') && out.backend !== cfg.type) {
      const spec = byName.get('backend');
      const origin = spec === undefined ? '' : backendSource === 'flag' ? longFlag(spec) : spec.env.join('/');
      throw new CliExit(
        `Backend config '${cfg.name}' is a ${cfg.type} backend, but ${origin} asks for '${String(out.backend)}'.`,
        1,
      );
    }
  }

  const used = new Set(SERVE_OPTIONS.flatMap((s) => (s.configKey === undefined ? [] : [s.configKey])));
  const result: ResolvedServeOptions = {
    options: out as unknown as ServeOptions,
    sources,
    ignoredKeys: cfg === undefined ? [] : Object.keys(cfg.values).filter((k) => !used.has(k)),
  };
  if (cfg !== undefined) {
    result.backend = cfg;
    result.backendsFile = file;
  }
  return result;
}

/**
 * Resolves every option of SERVE_OPTIONS: flag > env > backend config > default.
 *
 * @throws CliExit (exit 1) for an invalid value (naming the flag, variable or config key), an unknown
 *   backend name (listing the available ones), a secret that does not reveal, or a `--backend` that
 *   contradicts the saved backend's type.
 */
export async function resolveServeOptions(input: ResolveServeInput): Promise<ServeOptions> {
  return (await resolveServeOptionsDetailed(input)).options;
}

function describe(spec: OptionSpec): string {
  let text = spec.help;
  if (spec.default !== undefined && spec.type !== 'boolean') text += ` (default: ${String(spec.default)})`;
  if (spec.env.length > 0) text += ` [env: ${spec.env.join(', ')}]`;
  return text;
}

/**
 * Declares every SERVE_OPTIONS flag on `cmd` (help and choices from the table; no commander
 * defaults, so precedence stays in {@link resolveServeOptions}), plus `--config <file>`.
 */
export function addServeOptions(cmd: Command): Command {
  for (const spec of SERVE_OPTIONS) {
    const opt = new Option(spec.flag, describe(spec));
    if (spec.choices !== undefined) opt.choices(spec.choices);
    cmd.addOption(opt);
  }
  cmd.addOption(
    new Option(
      '--config <file>',
      'backends file for --backend-config (default: $XDG_CONFIG_HOME/s3local/backends.toml or ~/.config/s3local/backends.toml) [env: S3LOCAL_CONFIG]',
    ),
  );
  return cmd;
}

/**
 * The options of `cmd` given explicitly on the command line (value source `cli`), keyed by
 * commander attribute name: the `flags` argument of {@link resolveServeOptions}.
 */
export function explicitFlags(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const opt of cmd.options) {
    const attr = opt.attributeName();
    if (cmd.getOptionValueSource(attr) === 'cli') out[attr] = cmd.getOptionValue(attr) as unknown;
  }
  return out;
}
