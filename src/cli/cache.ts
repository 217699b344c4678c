/**
 * `s3local cache stats|cleanup|vacuum|rebuild|migrate`: maintenance of a store's index (what
 * pys3local called its metadata cache, §1.4 of the behaviour reference), on the store given by
 * `--path` / `--backend-config` / `S3LOCAL_PATH` (default: the per-user data directory).
 *
 * Local backend: the index is `<data>/.s3local/index.sqlite`, one per store. `stats` reads it
 * without the store lock (it works while a server runs); `rebuild`, `cleanup` and `vacuum` take
 * the store lock and refuse, exit 1, while a server holds the store. The files are the truth for
 * bytes: `cleanup` drops index rows and re-indexes the files at once, never deleting object data.
 *
 * Drime backend (`--workspace W`, or a Drime `--backend-config`): `stats` reads the local Drime
 * index; `cleanup` drops records of entries gone from Drime; `migrate` downloads the files whose
 * MD5 is unknown to fill it.
 *
 * Exit codes: 0 done (and "Aborted." at the prompt), 1 errors (option combinations, store in use,
 * no store), 2 usage errors (commander).
 */
import { confirm } from '@inquirer/prompts';
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { ServeOptions } from '../config/options.js';
import { defaultDataDir } from '../config/paths.js';
import { ask, PromptCancelled } from '../config/prompts.js';
import { resolveServeOptions } from '../config/resolve.js';
import { DrimeIndex } from '../storage/drime/object-index.js';
import { LocalBackend, META_DIR } from '../storage/local/local-backend.js';
import { readIndexStats, type BucketStats, type RebuildResult } from '../storage/local/rebuild.js';
import { StoreLockedError } from '../storage/local/store-lock.js';
import { CliExit, println, type CliContext } from './context.js';
import { drimeIndexPath, openDrimeBackend } from './drime.js';
import { formatBytes, formatCount, ProgressBar } from './progress.js';

/** Options every `cache` subcommand takes to find its store. */
interface StoreFlags {
  path?: string;
  backendConfig?: string;
  config?: string;
  workspace?: string;
}

type Store =
  | { kind: 'local'; path: string; options: ServeOptions }
  | { kind: 'drime'; workspace: number; options: ServeOptions };

/** Multipart uploads older than this are abandoned for `cache cleanup` (the serve default). */
const ABANDONED_UPLOAD_MS = 7 * 24 * 3600 * 1000;

function addStoreOptions(cmd: Command, drime: boolean): Command {
  cmd
    .option(
      '--path <dir>',
      'data directory of the local store (default: the per-user data directory) [env: S3LOCAL_PATH]',
    )
    .option('--backend-config <name>', 'use a backend saved in backends.toml (see `s3local config`)')
    .option('--config <file>', 'backends file for --backend-config [env: S3LOCAL_CONFIG]');
  if (drime) cmd.option('--workspace <id>', 'Drime: the workspace (0 = personal)');
  return cmd;
}

/** The store the flags designate, resolved like `serve` does (flag > env > saved backend > default). */
async function resolveStore(flags: StoreFlags, ctx: CliContext): Promise<Store> {
  const given: Record<string, unknown> = {};
  if (flags.path !== undefined) given.path = flags.path;
  if (flags.backendConfig !== undefined) given.backendConfig = flags.backendConfig;
  if (flags.config !== undefined) given.config = flags.config;
  if (flags.workspace !== undefined) {
    if (!/^\d+$/.test(flags.workspace)) {
      throw new CliExit(`Invalid value for --workspace: '${flags.workspace}' (a workspace id: 0 = personal)`);
    }
    given.drimeWorkspaceId = flags.workspace;
  }
  const options = await resolveServeOptions({ flags: given, env: ctx.env });
  if (flags.workspace !== undefined || options.backend === 'drime') {
    if (flags.path !== undefined)
      throw new CliExit('Cannot combine --path with a Drime backend (--workspace)');
    return { kind: 'drime', workspace: options.drimeWorkspaceId ?? 0, options };
  }
  return { kind: 'local', path: resolvePath(options.path ?? defaultDataDir(ctx.env)), options };
}

function indexFile(path: string): string {
  return join(path, META_DIR, 'index.sqlite');
}

function requireIndex(path: string): void {
  if (!existsSync(indexFile(path))) {
    throw new CliExit(`No s3local store at ${path} (there is no ${join(META_DIR, 'index.sqlite')})`);
  }
}

/** Opens the local store with its lock; a held lock becomes the documented refusal. */
async function openLocal(path: string, multipartExpiryMs?: number): Promise<LocalBackend> {
  try {
    return await LocalBackend.open({
      path,
      ...(multipartExpiryMs !== undefined ? { multipartExpiryMs } : {}),
    });
  } catch (err) {
    if (err instanceof StoreLockedError) throw new CliExit(`${err.message}; stop the server first`);
    throw err;
  }
}

async function withLocal<T>(
  path: string,
  fn: (b: LocalBackend) => Promise<T>,
  expiryMs?: number,
): Promise<T> {
  const backend = await openLocal(path, expiryMs);
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

/** Asks "Are you sure? (y/N)" on a terminal; refuses (exit 1) elsewhere unless `--yes`. */
async function confirmOrRefuse(ctx: CliContext, yes: boolean, what: string): Promise<boolean> {
  if (yes) return true;
  if (ctx.stdin.isTTY !== true) {
    throw new CliExit(`Refusing to ${what} without confirmation: stdin is not a terminal (use --yes)`);
  }
  try {
    return await ask(ctx, (c) => confirm({ message: 'Are you sure?', default: false }, c));
  } catch (err) {
    if (err instanceof PromptCancelled) return false;
    throw err;
  }
}

// ---- stats -------------------------------------------------------------------------------------

function statsLocal(ctx: CliContext, path: string, bucket: string | undefined, json: boolean): void {
  requireIndex(path);
  const all: BucketStats[] = readIndexStats(indexFile(path));
  const out = (line = '') => println(ctx.stdout, line);
  if (bucket !== undefined) {
    const b = all.find((x) => x.name === bucket) ?? { name: bucket, objects: 0, bytes: 0 };
    if (json) {
      out(JSON.stringify({ store: path, bucket: b.name, objects: b.objects, bytes: b.bytes }));
    } else if (b.objects === 0) {
      out(`No cache entries for bucket '${bucket}'`);
    } else {
      out(`Cache Statistics - Bucket '${bucket}'`);
      out(`Store: ${path}`);
      out(`Total objects: ${formatCount(b.objects)}`);
      out(`Total size: ${formatBytes(b.bytes)}`);
    }
    return;
  }
  const objects = all.reduce((n, b) => n + b.objects, 0);
  const bytes = all.reduce((n, b) => n + b.bytes, 0);
  if (json) {
    out(JSON.stringify({ store: path, objects, bytes, buckets: all }));
    return;
  }
  if (objects === 0) {
    out('Cache is empty');
    return;
  }
  out('Local Storage Cache Statistics');
  out(`Store: ${path}`);
  out();
  out('Overall Statistics:');
  out(`  Total objects: ${formatCount(objects)}`);
  out(`  Total size: ${formatBytes(bytes)}`);
  out();
  out('Per-Bucket Statistics:');
  for (const b of all) {
    out(`  ${b.name}:`);
    out(`    Objects: ${formatCount(b.objects)}`);
    out(`    Size: ${formatBytes(b.bytes)}`);
  }
}

function statsDrime(ctx: CliContext, workspace: number, json: boolean): void {
  const file = drimeIndexPath(ctx.env);
  let stats = { objects: 0, bytes: 0 };
  if (existsSync(file)) {
    const index = DrimeIndex.open(file);
    try {
      stats = index.stats(workspace);
    } finally {
      index.close();
    }
  }
  const out = (line = '') => println(ctx.stdout, line);
  if (json) {
    out(JSON.stringify({ index: file, workspace, ...stats }));
  } else if (stats.objects === 0) {
    out(`No cache entries for workspace ${workspace}`);
  } else {
    out(`Drime Cache Statistics - Workspace ${workspace}`);
    out(`Index: ${file}`);
    out(`Total objects: ${formatCount(stats.objects)}`);
    out(`Total size: ${formatBytes(stats.bytes)}`);
  }
}

// ---- rebuild -----------------------------------------------------------------------------------

/** The one-line summary of a rebuild. */
export function rebuildSummary(path: string, r: RebuildResult): string {
  const seconds = Math.max(r.seconds, 0.001);
  let line =
    `✓ Rebuilt the index of ${path}: ${formatCount(r.files)} files (${formatBytes(r.bytes)}) in ` +
    `${r.seconds.toFixed(1)} s (${formatCount(r.files / seconds)} files/s, ${formatBytes(r.bytes / seconds)}/s): ` +
    `${formatCount(r.added)} added, ${formatCount(r.updated)} updated, ${formatCount(r.moved)} moved, ` +
    `${formatCount(r.removed)} removed, ${formatCount(r.unchanged)} unchanged`;
  if (r.ignored > 0) line += `, ${formatCount(r.ignored)} ignored (not object files)`;
  if (r.duplicates > 0) line += `, ${formatCount(r.duplicates)} duplicates (not indexed)`;
  if (r.skipped > 0) line += `, ${formatCount(r.skipped)} skipped (changing or unreadable)`;
  if (r.versionedKeys) line += `, ${formatCount(r.versionedKeys)} keys with versions settled`;
  return line;
}

async function runRebuild(
  ctx: CliContext,
  backend: LocalBackend,
  bucket: string | undefined,
): Promise<RebuildResult> {
  const tty = ctx.stdout.isTTY === true;
  const bar = tty ? new ProgressBar(ctx.stdout, { unit: 'files' }) : undefined;
  try {
    return await backend.rebuildIndex({
      ...(bucket !== undefined ? { bucket } : {}),
      countFirst: tty,
      ...(bar
        ? {
            onProgress: (p) =>
              bar.update({
                done: p.files,
                bytes: p.bytes,
                ...(p.totalFiles !== undefined ? { total: p.totalFiles } : {}),
                ...(p.phase === 'counting' ? { label: 'counting files' } : {}),
              }),
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof Error && /^no bucket '/.test(err.message)) {
      throw new CliExit(`No bucket '${bucket ?? ''}' in the store at ${backend.root}`);
    }
    throw err;
  } finally {
    bar?.done();
  }
}

async function rebuildLocal(ctx: CliContext, path: string, bucket: string | undefined): Promise<void> {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new CliExit(`No such directory: ${path}`);
  }
  await withLocal(path, async (backend) => {
    const r = await runRebuild(ctx, backend, bucket);
    println(ctx.stdout, rebuildSummary(path, r));
  });
}

// ---- cleanup -----------------------------------------------------------------------------------

interface CleanupFlags extends StoreFlags {
  bucket?: string;
  all?: boolean;
  yes?: boolean;
}

async function cleanupLocal(ctx: CliContext, path: string, flags: CleanupFlags): Promise<void> {
  requireIndex(path);
  const out = (line = '') => println(ctx.stdout, line);
  // Opened with no expiry at open, so the uploads expired here are counted below.
  await withLocal(
    path,
    async (backend) => {
      const stats = readIndexStats(indexFile(path));
      const bucket = flags.bucket;
      const count =
        bucket === undefined
          ? stats.reduce((n, b) => n + b.objects, 0)
          : (stats.find((b) => b.name === bucket)?.objects ?? 0);
      let proceed = count > 0;
      if (count === 0) {
        out(bucket === undefined ? 'Cache is already empty' : `No entries found for bucket '${bucket}'`);
      } else {
        out(`Warning: This will remove ${formatCount(count)} objects from the cache.`);
        out(
          'The files stay on disk and are indexed again right away, with MD5 ETags: the content types, ' +
            'user metadata and checksums stored with those objects are lost.',
        );
        proceed = await confirmOrRefuse(
          ctx,
          flags.yes === true,
          `remove ${formatCount(count)} objects from the cache`,
        );
        if (!proceed) {
          out('Aborted.');
          return;
        }
      }
      if (proceed) {
        const removed = backend.dropIndexRows(bucket);
        out(
          bucket === undefined
            ? `✓ Removed ${formatCount(removed)} objects from cache`
            : `✓ Removed ${formatCount(removed)} objects for bucket '${bucket}'`,
        );
        const known = stats.some((b) => b.name === bucket);
        if (bucket === undefined || known) {
          out(rebuildSummary(path, await runRebuild(ctx, backend, bucket)));
        }
      }
      const expired = await backend.multipart.expireUploads(ABANDONED_UPLOAD_MS);
      if (expired > 0) {
        out(`✓ Removed ${formatCount(expired)} abandoned multipart uploads (started more than 7 days ago)`);
      }
    },
    0,
  );
}

async function cleanupDrime(ctx: CliContext, store: Extract<Store, { kind: 'drime' }>, flags: CleanupFlags) {
  if (flags.all === true && flags.bucket !== undefined)
    throw new CliExit('Cannot combine --all with --bucket');
  const { backend } = await openDrimeBackend(store.options, ctx);
  try {
    if (flags.bucket !== undefined) {
      println(
        ctx.stdout,
        `Note: the Drime cache is kept per workspace; every bucket of workspace ${store.workspace} is checked.`,
      );
    }
    const { kept, removed } = await backend.cleanupIndex();
    println(
      ctx.stdout,
      removed === 0
        ? `No stale entries in the cache of workspace ${store.workspace} (${formatCount(kept)} kept)`
        : `✓ Removed ${formatCount(removed)} stale entries from the cache of workspace ${store.workspace} (${formatCount(kept)} kept)`,
    );
  } finally {
    await backend.close();
  }
}

// ---- vacuum ------------------------------------------------------------------------------------

async function vacuumLocal(ctx: CliContext, path: string): Promise<void> {
  requireIndex(path);
  await withLocal(path, async (backend) => {
    const out = (line = '') => println(ctx.stdout, line);
    out('Optimizing cache database...');
    const { before, after } = await backend.vacuumIndex();
    out('✓ Database optimized');
    out(`  Before: ${formatBytes(before)}`);
    out(`  After: ${formatBytes(after)}`);
    if (after < before) out(`  Saved: ${formatBytes(before - after)}`);
  });
}

// ---- migrate (Drime) ---------------------------------------------------------------------------

async function migrateDrime(
  ctx: CliContext,
  store: Extract<Store, { kind: 'drime' }>,
  bucket: string | undefined,
  dryRun: boolean,
): Promise<void> {
  const { backend } = await openDrimeBackend(store.options, ctx);
  const bar = ctx.stdout.isTTY === true ? new ProgressBar(ctx.stdout, { unit: 'files' }) : undefined;
  let bytes = 0;
  try {
    const r = await backend.migrateMd5({
      ...(bucket !== undefined ? { bucket } : {}),
      dryRun,
      onProgress: (p) => {
        bytes += p.size;
        bar?.update({ done: p.scanned, bytes, label: `${formatCount(p.missing)} without MD5` });
      },
    });
    bar?.done();
    println(
      ctx.stdout,
      dryRun
        ? `${formatCount(r.missing)} of ${formatCount(r.scanned)} files have no MD5 in the cache ` +
            `(${formatBytes(bytes)} to download); run without --dry-run to fill them`
        : `✓ Filled ${formatCount(r.filled)} MD5s (${formatBytes(r.bytes)} downloaded); ` +
            `${formatCount(r.scanned)} files checked`,
    );
  } finally {
    bar?.done();
    await backend.close();
  }
}

// ---- registration ------------------------------------------------------------------------------

/** Registers `s3local cache` and its subcommands. */
export function registerCache(program: Command, ctx: CliContext): void {
  const cache = program
    .command('cache')
    .description(
      "maintain a store's index (metadata cache): stats, cleanup, vacuum, rebuild; Drime: migrate",
    );

  addStoreOptions(cache.command('stats').description('objects and bytes in the index, per bucket'), true)
    .option('--bucket <name>', 'only this bucket')
    .option('--json', 'print JSON')
    .action(async (o: StoreFlags & { bucket?: string; json?: boolean }) => {
      const store = await resolveStore(o, ctx);
      if (store.kind === 'drime') statsDrime(ctx, store.workspace, o.json === true);
      else statsLocal(ctx, store.path, o.bucket, o.json === true);
    });

  addStoreOptions(
    cache
      .command('cleanup')
      .description(
        'local: drop the index rows of a bucket (or all) and index the files again (object data is never ' +
          'deleted), and remove abandoned multipart uploads; Drime: drop entries gone from Drime',
      ),
    true,
  )
    .option('--bucket <name>', 'only this bucket')
    .option('--all', 'every bucket')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (o: CleanupFlags) => {
      const store = await resolveStore(o, ctx);
      if (store.kind === 'drime') return cleanupDrime(ctx, store, o);
      if (o.bucket === undefined && o.all !== true) throw new CliExit('Must specify --bucket or --all');
      if (o.bucket !== undefined && o.all === true) throw new CliExit('Cannot combine --all with --bucket');
      await cleanupLocal(ctx, store.path, o);
    });

  addStoreOptions(
    cache.command('vacuum').description('compact the index database (SQLite VACUUM)'),
    false,
  ).action(async (o: StoreFlags) => {
    const store = await resolveStore(o, ctx);
    if (store.kind === 'drime') throw new CliExit('cache vacuum works on a local store (--path)');
    await vacuumLocal(ctx, store.path);
  });

  addStoreOptions(
    cache
      .command('rebuild')
      .description(
        'walk the files and bring the index in line: index files added behind the server, re-hash changed ' +
          'ones, drop rows whose file is gone (the server must be stopped)',
      ),
    false,
  )
    .option('--bucket <name>', 'only this bucket')
    .action(async (o: StoreFlags & { bucket?: string }) => {
      const store = await resolveStore(o, ctx);
      if (store.kind === 'drime') throw new CliExit('cache rebuild works on a local store (--path)');
      await rebuildLocal(ctx, store.path, o.bucket);
    });

  addStoreOptions(
    cache
      .command('migrate')
      .description(
        'Drime: download the files whose MD5 is not in the cache and record it (ETags for old files)',
      ),
    true,
  )
    .option('--bucket <name>', 'only this bucket')
    .option('--dry-run', 'only count the files that lack an MD5')
    .action(async (o: StoreFlags & { bucket?: string; dryRun?: boolean }) => {
      const store = await resolveStore(o, ctx);
      if (store.kind !== 'drime') {
        throw new CliExit(
          'cache migrate works on a Drime backend: use --backend-config NAME of a Drime backend',
        );
      }
      await migrateDrime(ctx, store, o.bucket, o.dryRun === true);
    });
}
