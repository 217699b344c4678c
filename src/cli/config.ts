/**
 * `s3local config`: saved backends in backends.toml. Without a subcommand, the interactive menu of
 * pys3local (list, add, show, remove, exit) on a terminal; `list`, `show`, `add` and `remove` are
 * the same operations for scripts.
 *
 * Ctrl-C in any prompt ends the command with exit code 130 (128 + SIGINT) and `Aborted.`.
 */
import { confirm, input, password, select } from '@inquirer/prompts';
import { Command, Option } from 'commander';
import { homedir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import type { TomlValue } from 'smol-toml';
import {
  BACKEND_TYPES,
  BackendsFile,
  BackendsFileError,
  SECRET_KEYS,
  backendNameProblem,
  type BackendType,
} from '../config/backends-file.js';
import { backendsFile } from '../config/paths.js';
import { ask, PromptCancelled, readFirstLine } from '../config/prompts.js';
import { CliExit, println, type CliContext } from './context.js';

const HIDDEN = '<hidden>';
const CONFIG_OPTION_HELP = 'backends file (default: ~/.config/s3local/backends.toml) [env: S3LOCAL_CONFIG]';

/** What a new backend is made of, from flags or prompts. */
interface NewBackend {
  name: string;
  type: BackendType;
  path?: string;
  apiKey?: string;
  workspaceId?: number;
  rootFolder?: string;
  apiUrl?: string;
}

function toValues(b: NewBackend): Record<string, TomlValue | undefined> {
  if (b.type === 'local') return { path: b.path };
  return {
    api_key: b.apiKey,
    workspace_id: b.workspaceId ?? 0,
    root_folder: b.rootFolder === '' ? undefined : b.rootFolder,
    api_url: b.apiUrl === '' ? undefined : b.apiUrl,
  };
}

/** Why a workspace id is invalid, or undefined when it is valid. */
function workspaceIdProblem(s: string): string | undefined {
  return /^\d+$/.test(s.trim()) && Number.isSafeInteger(Number(s.trim()))
    ? undefined
    : 'Workspace ID must be a whole number (0 for personal)';
}

function apiUrlProblem(s: string): string | undefined {
  if (s === '') return undefined;
  try {
    const u = new URL(s);
    if (u.protocol === 'http:' || u.protocol === 'https:') return undefined;
  } catch {
    // fall through
  }
  return 'API URL must be an http:// or https:// URL';
}

/** The path to store: `~/…` expanded (also when the shell did not, as in `--path=~/x`), made absolute. */
function absolutePath(ctx: CliContext, p: string): string {
  const home = ctx.env.HOME !== undefined && ctx.env.HOME !== '' ? ctx.env.HOME : homedir();
  if (p === '~' || p.startsWith('~/')) return resolvePath(home, p.slice(2));
  return resolvePath(p);
}

function formatValue(v: TomlValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object')
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

function jsonValue(v: TomlValue): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

async function load(file: string): Promise<BackendsFile> {
  try {
    return await BackendsFile.load(file);
  } catch (err) {
    if (err instanceof BackendsFileError) throw new CliExit(err.message, 1);
    throw err;
  }
}

async function save(doc: BackendsFile): Promise<void> {
  try {
    await doc.save();
  } catch (err) {
    throw new CliExit(`Cannot write ${doc.path}: ${(err as Error).message}`, 1);
  }
}

/** Turns Ctrl-C / closed input into exit 130 with `Aborted.` on stderr. */
async function interruptible<T>(ctx: CliContext, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof PromptCancelled) {
      println(ctx.stderr);
      println(ctx.stderr, 'Aborted.');
      throw new CliExit('', 130);
    }
    throw err;
  }
}

function fileOf(ctx: CliContext, cmd: Command): string {
  const opts = cmd.optsWithGlobals<{ config?: string }>();
  return backendsFile(ctx.env, opts.config);
}

// ---------------------------------------------------------------------------------------------
// list / show

function listLines(doc: BackendsFile): string[] {
  const names = doc.names();
  if (names.length === 0) return ['No backends configured'];
  return ['Configured backends:', ...names.map((n) => `  • ${n} (${doc.typeOf(n) ?? 'local'})`)];
}

/**
 * The lines of `show`. Secrets are `<hidden>` unless `reveal`; a secret that does not reveal is
 * reported in `problem` (and, with `reveal`, makes the command fail).
 */
function showBackend(
  doc: BackendsFile,
  name: string,
  reveal: boolean,
): { lines: string[]; json: unknown; problem?: string } {
  const stored = doc.stored(name);
  if (stored === undefined) throw new CliExit(`Backend '${name}' not found`, 1);
  let problem: string | undefined;
  let values: Record<string, TomlValue> = stored;
  try {
    const revealed = doc.get(name).values;
    if (reveal) values = revealed;
  } catch (err) {
    if (!(err instanceof BackendsFileError)) throw err;
    if (reveal) throw new CliExit(err.message, 1);
    problem = err.message;
  }
  const type = doc.typeOf(name) ?? 'local';
  const lines = [`Backend: ${name}`, `Type: ${type}`, 'Configuration:'];
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const hide = SECRET_KEYS.has(key) && !reveal;
    lines.push(`  ${key}: ${hide ? HIDDEN : formatValue(value)}`);
    config[key] = hide ? HIDDEN : jsonValue(value);
  }
  return problem === undefined
    ? { lines, json: { name, type, config } }
    : { lines, json: { name, type, config }, problem };
}

// ---------------------------------------------------------------------------------------------
// interactive menu

type MenuAction = 'list' | 'add' | 'show' | 'remove' | 'exit';

async function pickBackend(ctx: CliContext, doc: BackendsFile, message: string): Promise<string | undefined> {
  const names = doc.names();
  if (names.length === 0) {
    println(ctx.stdout, 'No backends configured');
    return undefined;
  }
  return ask(ctx, (c) =>
    select(
      { message, choices: names.map((n) => ({ name: `${n} (${doc.typeOf(n) ?? 'local'})`, value: n })) },
      c,
    ),
  );
}

async function interactiveAdd(ctx: CliContext, file: string): Promise<void> {
  const doc = await load(file);
  const name = (
    await ask(ctx, (c) =>
      input({ message: 'Backend name', validate: (v) => backendNameProblem(v.trim()) ?? true }, c),
    )
  ).trim();
  if (doc.has(name)) {
    const replace = await ask(ctx, (c) =>
      confirm({ message: `Backend '${name}' already exists. Replace it?`, default: false }, c),
    );
    if (!replace) {
      println(ctx.stdout, 'Nothing changed.');
      return;
    }
  }
  const type = await ask(ctx, (c) =>
    select<BackendType>(
      { message: 'Backend type', choices: BACKEND_TYPES.map((t) => ({ name: t, value: t })) },
      c,
    ),
  );
  const b: NewBackend = { name, type };
  if (type === 'local') {
    const p = await ask(ctx, (c) =>
      input(
        { message: 'Base path', validate: (v) => (v.trim() === '' ? 'Base path cannot be empty' : true) },
        c,
      ),
    );
    b.path = absolutePath(ctx, p.trim());
  } else {
    b.apiKey = await ask(ctx, (c) =>
      password(
        {
          message: 'Drime API key',
          mask: '*',
          validate: (v) => (v === '' ? 'API key cannot be empty' : true),
        },
        c,
      ),
    );
    const ws = await ask(ctx, (c) =>
      input(
        {
          message: 'Workspace ID (0 for personal)',
          default: '0',
          validate: (v) => workspaceIdProblem(v) ?? true,
        },
        c,
      ),
    );
    b.workspaceId = Number(ws.trim());
    b.rootFolder = (
      await ask(ctx, (c) =>
        input({ message: 'Root folder (optional - limit S3 scope to specific folder)' }, c),
      )
    ).trim();
    b.apiUrl = (
      await ask(ctx, (c) =>
        input(
          {
            message: 'Drime API URL (optional - empty for the default)',
            validate: (v) => apiUrlProblem(v.trim()) ?? true,
          },
          c,
        ),
      )
    ).trim();
  }
  // Re-read: another process may have changed the file while the prompts were open.
  const fresh = await load(file);
  fresh.set({ name, type, values: toValues(b) });
  await save(fresh);
  println(ctx.stdout, `✓ Backend '${name}' added successfully`);
}

async function interactiveShow(ctx: CliContext, file: string): Promise<void> {
  const doc = await load(file);
  const name = await pickBackend(ctx, doc, 'Backend to show');
  if (name === undefined) return;
  const shown = showBackend(doc, name, false);
  for (const line of shown.lines) println(ctx.stdout, line);
  if (shown.problem !== undefined) println(ctx.stdout, `Warning: ${shown.problem}`);
}

async function interactiveRemove(ctx: CliContext, file: string): Promise<void> {
  const doc = await load(file);
  const name = await pickBackend(ctx, doc, 'Backend to remove');
  if (name === undefined) return;
  const yes = await ask(ctx, (c) => confirm({ message: `Remove backend '${name}'?`, default: false }, c));
  if (!yes) {
    println(ctx.stdout, 'Nothing changed.');
    return;
  }
  const fresh = await load(file);
  if (!fresh.remove(name)) {
    println(ctx.stdout, `Error: Backend '${name}' not found`);
    return;
  }
  await save(fresh);
  println(ctx.stdout, `✓ Backend '${name}' removed`);
}

async function runInteractive(ctx: CliContext, file: string): Promise<void> {
  if (ctx.stdin.isTTY !== true) {
    throw new CliExit(
      '`s3local config` without a subcommand is interactive and needs a terminal.\n' +
        'For scripts use `s3local config list|show|add|remove` (see `s3local config --help`).',
      1,
    );
  }
  println(ctx.stdout, 's3local Configuration Manager');
  println(ctx.stdout, `Backends file: ${file}`);
  let last: MenuAction = 'list';
  for (;;) {
    println(ctx.stdout);
    const action: MenuAction = await ask(ctx, (c) =>
      select<MenuAction>(
        {
          message: 'Choose an action (1-5)',
          default: last,
          choices: [
            { name: '1. List backends', value: 'list' },
            { name: '2. Add backend', value: 'add' },
            { name: '3. Show backend', value: 'show' },
            { name: '4. Remove backend', value: 'remove' },
            { name: '5. Exit', value: 'exit' },
          ],
        },
        c,
      ),
    );
    last = action;
    switch (action) {
      case 'list':
        for (const line of listLines(await load(file))) println(ctx.stdout, line);
        break;
      case 'add':
        await interactiveAdd(ctx, file);
        break;
      case 'show':
        await interactiveShow(ctx, file);
        break;
      case 'remove':
        await interactiveRemove(ctx, file);
        break;
      case 'exit':
        println(ctx.stdout, 'Exiting configuration manager.');
        return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// non-interactive subcommands

interface AddFlags {
  type: BackendType;
  path?: string;
  apiKey?: string;
  workspaceId?: string;
  rootFolder?: string;
  apiUrl?: string;
  force?: boolean;
}

async function addCommand(ctx: CliContext, file: string, name: string, flags: AddFlags): Promise<void> {
  const problem = backendNameProblem(name);
  if (problem !== undefined) throw new CliExit(`${problem}: '${name}'`, 1);
  const b: NewBackend = { name, type: flags.type };
  if (flags.type === 'local') {
    for (const [given, flag] of [
      [flags.apiKey, '--api-key'],
      [flags.workspaceId, '--workspace-id'],
      [flags.rootFolder, '--root-folder'],
      [flags.apiUrl, '--api-url'],
    ] as const) {
      if (given !== undefined) throw new CliExit(`${flag} only applies to a drime backend`, 1);
    }
    if (flags.path === undefined || flags.path.trim() === '')
      throw new CliExit('--path is required for a local backend', 1);
    b.path = absolutePath(ctx, flags.path);
  } else {
    if (flags.path !== undefined) throw new CliExit('--path only applies to a local backend', 1);
    let apiKey = flags.apiKey;
    if (apiKey === '-') {
      apiKey = await readFirstLine(ctx.stdin);
    } else if (apiKey === undefined && ctx.stdin.isTTY === true) {
      apiKey = await interruptible(ctx, () =>
        ask(ctx, (c) => password({ message: 'Drime API key', mask: '*' }, c)),
      );
    }
    if (apiKey === undefined || apiKey === '') {
      throw new CliExit(
        '--api-key is required for a drime backend (use "--api-key -" to read it from stdin)',
        1,
      );
    }
    b.apiKey = apiKey;
    if (flags.workspaceId !== undefined) {
      const wsProblem = workspaceIdProblem(flags.workspaceId);
      if (wsProblem !== undefined) throw new CliExit(`${wsProblem}: '${flags.workspaceId}'`, 1);
      b.workspaceId = Number(flags.workspaceId.trim());
    }
    if (flags.rootFolder !== undefined) b.rootFolder = flags.rootFolder;
    if (flags.apiUrl !== undefined) {
      const urlProblem = apiUrlProblem(flags.apiUrl);
      if (urlProblem !== undefined) throw new CliExit(`${urlProblem}: '${flags.apiUrl}'`, 1);
      b.apiUrl = flags.apiUrl;
    }
  }
  const doc = await load(file);
  const existed = doc.has(name);
  if (existed && flags.force !== true)
    throw new CliExit(`Backend '${name}' already exists (use --force to replace it)`, 1);
  doc.set({ name, type: b.type, values: toValues(b) });
  await save(doc);
  println(ctx.stdout, existed ? `✓ Backend '${name}' replaced` : `✓ Backend '${name}' added successfully`);
}

async function removeCommand(ctx: CliContext, file: string, name: string, yes: boolean): Promise<void> {
  const doc = await load(file);
  if (!doc.has(name)) throw new CliExit(`Backend '${name}' not found`, 1);
  if (!yes) {
    if (ctx.stdin.isTTY !== true) {
      throw new CliExit(
        `Refusing to remove backend '${name}' without confirmation: stdin is not a terminal (use --yes)`,
        1,
      );
    }
    const ok = await interruptible(ctx, () =>
      ask(ctx, (c) => confirm({ message: `Remove backend '${name}'?`, default: false }, c)),
    );
    if (!ok) {
      println(ctx.stdout, 'Aborted.');
      return;
    }
  }
  doc.remove(name);
  await save(doc);
  println(ctx.stdout, `✓ Backend '${name}' removed`);
}

/** Registers `s3local config` and its subcommands. */
export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program
    .command('config')
    .description(
      'manage saved backends (backends.toml); without a subcommand: interactive menu on a terminal',
    )
    .option('--config <file>', CONFIG_OPTION_HELP)
    .addHelpText(
      'after',
      "\nSecrets (api_key, secret_access_key, password) are stored obscured with rclone's obscure:\n" +
        'obfuscation, not encryption. Ctrl-C in a prompt exits with code 130.',
    )
    .action(async (_opts, cmd: Command) => {
      await interruptible(ctx, () => runInteractive(ctx, fileOf(ctx, cmd)));
    });

  config
    .command('list')
    .description('list saved backends')
    .option('--json', 'print JSON: [{"name", "type"}]')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const doc = await load(fileOf(ctx, cmd));
      if (opts.json === true) {
        const list = doc.names().map((name) => ({ name, type: doc.typeOf(name) ?? 'local' }));
        println(ctx.stdout, JSON.stringify(list, null, 2));
        return;
      }
      for (const line of listLines(doc)) println(ctx.stdout, line);
    });

  config
    .command('show')
    .description(`show a saved backend (secrets as ${HIDDEN} unless --reveal)`)
    .argument('<name>', 'backend name')
    .option('--reveal', 'show secrets in clear')
    .option('--json', 'print JSON: {"name", "type", "config"}')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .action(async (name: string, opts: { reveal?: boolean; json?: boolean }, cmd: Command) => {
      const shown = showBackend(await load(fileOf(ctx, cmd)), name, opts.reveal === true);
      if (opts.json === true) println(ctx.stdout, JSON.stringify(shown.json, null, 2));
      else for (const line of shown.lines) println(ctx.stdout, line);
      if (shown.problem !== undefined) throw new CliExit(shown.problem, 1);
    });

  config
    .command('add')
    .description('add a backend (secrets are stored obscured)')
    .argument('<name>', 'backend name: letters, digits, "_", "." and "-"')
    .addOption(new Option('--type <type>', 'backend type').choices(BACKEND_TYPES).makeOptionMandatory())
    .option('--path <dir>', 'local: data directory (made absolute)')
    .option(
      '--api-key <key>',
      'drime: API token; "-" reads it from stdin (prompted on a terminal when omitted)',
    )
    .option('--workspace-id <id>', 'drime: workspace id (default: 0 = personal)')
    .option('--root-folder <folder>', 'drime: folder that becomes the S3 root')
    .option('--api-url <url>', 'drime: API base URL')
    .option('--force', 'replace an existing backend of that name')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .action(async (name: string, opts: AddFlags, cmd: Command) => {
      await addCommand(ctx, fileOf(ctx, cmd), name, opts);
    });

  config
    .command('remove')
    .description('remove a saved backend')
    .argument('<name>', 'backend name')
    .option('-y, --yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--config <file>', CONFIG_OPTION_HELP)
    .action(async (name: string, opts: { yes?: boolean }, cmd: Command) => {
      await removeCommand(ctx, fileOf(ctx, cmd), name, opts.yes === true);
    });
}
