/**
 * The Drime side of the CLI: opening the Drime backend for `s3local serve --backend drime`
 * (token check, workspace check, index and spool locations, the banner lines), and
 * `s3local drime check`, which runs the probes of drime-probes.ts against the API and reports.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVE_OPTIONS, type ServeOptions } from '../config/options.js';
import { defaultDataDir } from '../config/paths.js';
import { explicitFlags, resolveServeOptionsDetailed } from '../config/resolve.js';
import { DrimeBackend } from '../storage/drime/backend.js';
import { DEFAULT_API_URL, DrimeClient } from '../storage/drime/client.js';
import { DrimeError } from '../storage/drime/errors.js';
import { isFolder, type DrimeEntry, type DrimeUser } from '../storage/drime/types.js';
import { CliExit, println, type CliContext } from './context.js';
import { ProbeUploader, errorText, type ProbeResult } from './drime-probe-kit.js';
import { PROBES, runProbe, type ProbeContext } from './drime-probes.js';

/**
 * The Drime backend's SQLite index (ETags, metadata): `<data dir>/.drime/index.sqlite`, one file
 * for every workspace and account, its rows keyed by workspace + entry id (entry ids are unique
 * across a Drime server) and trusted only while the entry's storage name and size still match.
 * The leading dot keeps it from ever reading as a bucket of a local backend serving the same
 * data directory.
 */
export function drimeIndexPath(env: NodeJS.ProcessEnv): string {
  return join(defaultDataDir(env), '.drime', 'index.sqlite');
}

/**
 * Where S3 multipart uploads to this Drime target are staged: one directory per API, workspace and
 * root folder (`<data dir>/.drime/multipart/ws<W>-<hash>`), so an upload started through one
 * s3local never shows up in (or completes into) another workspace or root folder.
 */
export function drimeUploadsDir(env: NodeJS.ProcessEnv, t: DrimeTarget): string {
  const root = (t.rootFolder ?? '')
    .split('/')
    .filter((s) => s !== '')
    .join('/');
  const id = createHash('sha256').update(`${t.apiUrl}\0${t.workspaceId}\0${root}`).digest('hex').slice(0, 12);
  return join(defaultDataDir(env), '.drime', 'multipart', `ws${t.workspaceId}-${id}`);
}

/** What a Drime backend is opened with, resolved from the serve options. */
export interface DrimeTarget {
  apiKey: string;
  workspaceId: number;
  apiUrl: string;
  rootFolder?: string;
  /** The saved backend used (`--backend-config`), if any. */
  configName?: string;
}

/** Startup calls fail fast: a wrong URL or a dead network should not hold the prompt for a minute. */
const STARTUP_RETRY = { attempts: 3, baseDelayMs: 250, maxDelayMs: 5_000 };

/** Resolves and validates the Drime settings; CliExit with a clear message when unusable. */
export function drimeTarget(options: ServeOptions): DrimeTarget {
  const configName = options.backendConfig;
  const apiKey = options.drimeApiKey;
  if (apiKey === undefined || apiKey === '') {
    throw new CliExit(
      configName !== undefined
        ? `Backend config '${configName}' has no api_key. Save the token in it (s3local config), ` +
            'or set DRIME_API_KEY.'
        : 'The Drime backend needs an API token: set DRIME_API_KEY (or pass --drime-api-key), or use ' +
            '--backend-config NAME with a backend saved by `s3local config add NAME --type drime`.',
    );
  }
  const apiUrl = (options.drimeApiUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
  let url: URL | undefined;
  try {
    url = new URL(apiUrl);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new CliExit(
      `Invalid Drime API URL '${apiUrl}' (--drime-api-url, DRIME_API_URL or api_url): expected ` +
        `something like ${DEFAULT_API_URL}`,
    );
  }
  const workspaceId = options.drimeWorkspaceId ?? 0;
  if (workspaceId < 0) throw new CliExit(`Invalid Drime workspace id ${workspaceId}: 0 or more`);
  const t: DrimeTarget = { apiKey, workspaceId, apiUrl };
  if (options.rootFolder !== undefined && options.rootFolder.replace(/\//g, '') !== '') {
    t.rootFolder = options.rootFolder;
  }
  if (configName !== undefined) t.configName = configName;
  return t;
}

function newClient(
  t: DrimeTarget,
  extra: { perPage?: number; log?: (m: string) => void; workspaceId?: number } = {},
): DrimeClient {
  return new DrimeClient({
    apiKey: t.apiKey,
    workspaceId: t.workspaceId,
    apiUrl: t.apiUrl,
    retry: STARTUP_RETRY,
    ...extra,
  });
}

/**
 * Checks the token and the workspace with account-level calls (made in the personal space, so a
 * workspace the account cannot use is reported as such, not as a token problem).
 */
async function checkAccount(
  t: DrimeTarget,
  log?: (m: string) => void,
): Promise<{ user: DrimeUser; wsName: string }> {
  const account = newClient(t, { workspaceId: 0, ...(log ? { log } : {}) });
  const user = await checkToken(account, t);
  return { user, wsName: await workspaceName(account, t.workspaceId) };
}

/** `GET /cli/loggedUser`; a failure becomes a CliExit saying what to fix. Never shows the token. */
async function checkToken(client: DrimeClient, t: DrimeTarget): Promise<DrimeUser> {
  try {
    return await client.loggedUser();
  } catch (err) {
    const source =
      t.configName !== undefined
        ? `the api_key of backend config '${t.configName}'`
        : 'DRIME_API_KEY (or --drime-api-key)';
    if (err instanceof DrimeError) {
      switch (err.kind) {
        case 'auth':
          throw new CliExit(
            `Drime rejected the API token (GET ${t.apiUrl}/cli/loggedUser: ${err.message}). Check ` +
              `${source}; tokens are made in Drime under Account Settings > Developers.`,
          );
        case 'html':
          throw new CliExit(err.message);
        case 'network':
          throw new CliExit(`Cannot reach the Drime API at ${t.apiUrl}: ${err.message}`);
        case 'http':
        case 'protocol':
        case 'gone':
          break;
      }
    }
    throw new CliExit(`The Drime token check at ${t.apiUrl} failed: ${errorText(err)}`);
  }
}

/** The workspace's name ('personal' for 0); CliExit when the account has no such workspace. */
async function workspaceName(client: DrimeClient, id: number): Promise<string> {
  if (id === 0) return 'personal';
  let list;
  try {
    list = await client.workspaces();
  } catch {
    return 'name unknown'; // the listing is not essential: the first real call will tell
  }
  const ws = list.find((w) => w.id === id);
  if (!ws) {
    const mine = ['0 (personal)', ...list.map((w) => `${w.id} (${w.name})`)].join(', ');
    throw new CliExit(`Drime workspace ${id} is not one of this account's workspaces: ${mine}`);
  }
  return ws.name;
}

/**
 * Opens the Drime backend for `serve`: checks the token and the workspace, opens the index at
 * {@link drimeIndexPath} and a private spool directory (mkdtemp, mode 0700, under the system temp
 * directory, `TMPDIR`) that `backend.close()` removes. Returns the banner lines.
 *
 * @throws CliExit with a message naming what to fix (missing or rejected token, unreachable API,
 *   unknown workspace, root folder that cannot be created).
 */
export async function openDrimeBackend(
  options: ServeOptions,
  ctx: CliContext,
): Promise<{ backend: DrimeBackend; banner: string[] }> {
  const t = drimeTarget(options);
  const log = options.debug ? (m: string): void => void ctx.stderr.write(`${m}\n`) : undefined;
  const { user, wsName } = await checkAccount(t, log);
  const indexPath = drimeIndexPath(ctx.env);
  const spoolDir = await mkdtemp(join(tmpdir(), 's3local-drime-spool-'));
  await chmod(spoolDir, 0o700);
  let backend: DrimeBackend;
  try {
    backend = await DrimeBackend.open({
      apiKey: t.apiKey,
      workspaceId: t.workspaceId,
      apiUrl: t.apiUrl,
      ...(t.rootFolder !== undefined ? { rootFolder: t.rootFolder } : {}),
      advanced: options.allowBucketCreation,
      deleteMode: options.drimeDelete,
      indexPath,
      uploadsDir: drimeUploadsDir(ctx.env, t),
      ...(options.multipartExpiry !== undefined ? { multipartExpiryMs: options.multipartExpiry } : {}),
      spoolDir,
      ...(log ? { client: { log } } : {}),
    });
  } catch (err) {
    await rm(spoolDir, { recursive: true, force: true });
    throw new CliExit(`Cannot open the Drime backend: ${errorText(err)}`);
  }
  const closeBackend = backend.close.bind(backend);
  backend.close = async (): Promise<void> => {
    try {
      await closeBackend();
    } finally {
      await rm(spoolDir, { recursive: true, force: true });
    }
  };
  const banner = [
    'Storage backend: Drime Cloud',
    `  API: ${t.apiUrl}`,
    `  Account: ${user.email || user.displayName || `user ${user.id}`}`,
    `  Workspace ID: ${t.workspaceId} (${wsName})`,
    `  Root folder: ${t.rootFolder ?? '(the workspace root)'}`,
    `  Delete mode: ${options.drimeDelete === 'permanent' ? 'permanent (deleted objects cannot be restored)' : 'trash (deleted objects go to the Drime trash)'}`,
  ];
  if (t.configName !== undefined) banner.push(`  Configuration: ${t.configName}`);
  banner.push(`  Index: ${indexPath}`);
  return { backend, banner };
}

// ---- s3local drime check ----

const CHECK_OPTIONS: ReadonlySet<string> = new Set([
  'backendConfig',
  'drimeApiKey',
  'drimeWorkspaceId',
  'drimeApiUrl',
  'rootFolder',
]);

interface CheckFlags {
  rateLimitRequests: number;
  json: boolean;
}

/** Registers `s3local drime check`. */
export function registerDrime(program: Command, ctx: CliContext): void {
  const drime = program.command('drime').description('Drime Cloud tools');
  const check = drime
    .command('check')
    .description(
      'probe the Drime API for the behaviours s3local depends on (docs/drime.md) and report ' +
        'PASS/DIFFERENT/ERROR for each; everything it creates is deleted at the end',
    );
  for (const spec of SERVE_OPTIONS) {
    if (!CHECK_OPTIONS.has(spec.name)) continue;
    check.addOption(new Option(spec.flag, `${spec.help} [env: ${spec.env.join(', ')}]`));
  }
  check
    .option('--config <file>', 'backends file for --backend-config [env: S3LOCAL_CONFIG]')
    .option('--rate-limit-requests <n>', 'token checks the rate-limit probe may send, 4 at a time', '30')
    .option('--json', 'print the results as JSON');
  check.action(async () => {
    const raw = check.opts<{ rateLimitRequests: string; json?: boolean }>();
    const n = Number(raw.rateLimitRequests);
    if (!Number.isSafeInteger(n) || n < 1 || n > 10_000) {
      throw new CliExit(`Invalid value for --rate-limit-requests: '${raw.rateLimitRequests}' (1 to 10000)`);
    }
    const resolved = await resolveServeOptionsDetailed({ flags: explicitFlags(check), env: ctx.env });
    if (resolved.backend && resolved.backend.type !== 'drime') {
      throw new CliExit(
        `Backend config '${resolved.backend.name}' is a ${resolved.backend.type} backend; ` +
          '`drime check` needs a drime backend.',
      );
    }
    const failed = await drimeCheck(resolved.options, { rateLimitRequests: n, json: raw.json === true }, ctx);
    if (failed) throw new CliExit('', 1);
  });
}

/** The folder to probe in: the root folder when it exists, else the workspace root. */
async function probeParent(
  client: DrimeClient,
  rootFolder: string | undefined,
): Promise<{ parentId: number | null; topId?: number; note?: string }> {
  const segs = (rootFolder ?? '').split('/').filter((s) => s !== '');
  let parentId: number | null = null;
  let topId: number | undefined;
  for (const seg of segs) {
    const children: DrimeEntry[] = await client.listChildren(parentId);
    const found = children.find((e) => isFolder(e) && e.name === seg);
    if (!found) {
      return {
        parentId: null,
        note: `the root folder ${rootFolder} does not exist: probing at the workspace root`,
      };
    }
    parentId = found.id;
    topId ??= found.id;
  }
  return topId === undefined ? { parentId } : { parentId, topId };
}

function printResult(ctx: CliContext, r: ProbeResult): void {
  println(ctx.stdout, `[${r.status}] ${r.id}. ${r.title}`);
  for (const line of r.detail) println(ctx.stdout, `    - ${line}`);
}

/** Runs every probe; resolves true when a probe errored or the cleanup failed. */
async function drimeCheck(options: ServeOptions, flags: CheckFlags, ctx: CliContext): Promise<boolean> {
  const t = drimeTarget(options);
  const { user, wsName } = await checkAccount(t);
  const client = newClient(t);
  const out = (line = ''): void => {
    if (!flags.json) println(ctx.stdout, line);
  };
  out(`Drime API: ${t.apiUrl}`);
  out(`Account: ${user.email || user.displayName}; workspace ${t.workspaceId} (${wsName})`);
  const where = await probeParent(client, t.rootFolder);
  if (where.note) out(`Note: ${where.note}`);
  const stamp = new Date().toISOString().replace(/[-:]|\.\d+Z$/g, '');
  const name = `s3local-check-${stamp}-${randomBytes(3).toString('hex')}`;
  let folder;
  try {
    folder = await client.createFolder(name, where.parentId);
  } catch (err) {
    throw new CliExit(`Cannot create the probe folder ${name}: ${errorText(err)}`);
  }
  out(`Probe folder: ${where.parentId === null ? '' : `${t.rootFolder}/`}${name} (deleted at the end)`);
  out();
  const up = await ProbeUploader.create(client);
  const pctx: ProbeContext = {
    client,
    clientWithPageSize: (perPage) => newClient(t, { perPage }),
    up,
    folderId: folder.id,
    rootChildId: where.topId ?? folder.id,
    rateLimitRequests: flags.rateLimitRequests,
  };
  const results: ProbeResult[] = [];
  let cleanup = 'the probe folder was deleted permanently';
  let cleanupFailed = false;
  try {
    for (const probe of PROBES) {
      const r = await runProbe(probe, pctx);
      results.push(r);
      if (!flags.json) printResult(ctx, r);
    }
  } finally {
    try {
      await client.deleteEntries([folder.id], true);
    } catch (err) {
      cleanupFailed = true;
      cleanup = `could not delete the probe folder ${name} (id ${folder.id}): ${errorText(err)}; delete it by hand`;
    }
    await up.dispose();
  }
  const count = (s: string): number => results.filter((r) => r.status === s).length;
  if (flags.json) {
    const report = {
      apiUrl: t.apiUrl,
      workspaceId: t.workspaceId,
      account: user.email,
      folder: name,
      results,
      cleanup: { ok: !cleanupFailed, detail: cleanup },
    };
    println(ctx.stdout, JSON.stringify(report, null, 2));
  } else {
    out();
    out(`Cleanup: ${cleanup}`);
    out(`Summary: ${count('PASS')} PASS, ${count('DIFFERENT')} DIFFERENT, ${count('ERROR')} ERROR`);
    if (count('DIFFERENT') > 0) {
      out('DIFFERENT findings are worth reporting: they show where Drime does not behave as documented.');
    }
  }
  return cleanupFailed || count('ERROR') > 0;
}
