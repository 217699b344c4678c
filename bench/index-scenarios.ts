/**
 * The index at scale (issue 5): ListObjectsV2 over a bucket of 1,000,000 objects — page 1, a page
 * in the middle (page 500) and the last page (page 1,000) of 1,000 keys, a full listing, and a
 * delimiter listing over restic's 256 `data/xx/` prefixes — plus `s3local cache rebuild`
 * throughput on 100,000 small files.
 *
 * The big bucket is made through the index fast path `cache rebuild` uses (RowWriter: batched
 * transactions), before the server starts: ROWS ONLY, no object files (listings never touch the
 * files, so the figures are those of a real store of that size; a GET would answer NoSuchKey).
 * These scenarios run on s3local only: the limit server has no index to fill.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openIndexDatabase } from '../src/index/index-db.js';
import { ObjectIndex } from '../src/index/object-index.js';
import { RowWriter } from '../src/storage/local/rebuild.js';
import { StoreLock } from '../src/storage/local/store-lock.js';
import type { Measurement, Scenario, ScenarioContext, Sizes } from './scenario-types.js';
import type { Target } from './server-process.js';
import { opsMeasurement, percentile, runConcurrent } from './stats.js';

const GROUP = 'index';
const NOTE = 'the limit server has no index to fill';
const PAGE = 1000;
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Key `i` of `n`, in listing order: `data/xx/<62 hex>`, xx spreading i over 256 prefixes. */
export function indexKey(i: number, n: number): string {
  const xx = Math.floor((i * 256) / n)
    .toString(16)
    .padStart(2, '0');
  return `data/${xx}/${xx}${i.toString(16).padStart(62, '0')}`;
}

const prepared = new Set<string>();

/** Fills the store's index with `sizes.indexObjects` rows in bucket `default` (once per store). */
async function fillIndex(target: Target, dataDir: string, sizes: Sizes): Promise<void> {
  if (target !== 's3local' || prepared.has(dataDir)) return;
  prepared.add(dataDir);
  const t0 = performance.now();
  await mkdir(join(dataDir, '.s3local'), { recursive: true, mode: 0o700 });
  await mkdir(join(dataDir, 'default'), { recursive: true, mode: 0o700 });
  const lock = StoreLock.acquire(dataDir);
  const db = openIndexDatabase(join(dataDir, '.s3local', 'index.sqlite'));
  try {
    const index = new ObjectIndex(db);
    index.insertBucket('default', Date.now());
    const writer = new RowWriter(db, index, 10_000);
    const n = sizes.indexObjects;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const key = indexKey(i, n);
      writer.put({
        bucket: 'default',
        key,
        path: key,
        size: 4_194_304,
        etag: '0123456789abcdef0123456789abcdef',
        mtimeNs: BigInt(now) * 1_000_000n,
        lastModified: now,
        headers: '{}',
        metadata: '{}',
        checksums: '{}',
        checksumType: null,
        parts: null,
      });
    }
    writer.flush();
  } finally {
    db.close();
    lock.release();
  }
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(
    `  (index: ${sizes.indexObjects.toLocaleString('en-US')} rows through the rebuild fast path in ` +
      `${s.toFixed(1)} s, ${Math.round(sizes.indexObjects / s).toLocaleString('en-US')} rows/s)\n`,
  );
}

/** What every scenario over the filled index shares: s3local only, the index filled first. */
const INDEXED = {
  group: GROUP,
  targets: ['s3local'],
  targetNote: NOTE,
  prepareStore: fillIndex,
} as const satisfies Partial<Scenario>;

function pages(sizes: Sizes): number {
  return Math.ceil(sizes.indexObjects / PAGE);
}

/** Times `repeats` identical requests; ops/s with p50/p99. */
async function timed(repeats: number, op: () => Promise<void>): Promise<Measurement> {
  return opsMeasurement(await runConcurrent(repeats, 1, op), 'requests/s at c=1, p50/p99 per request');
}

/** ListObjectsV2 page `page` (1-based) of 1,000 keys, reached with start-after. */
function pageScenario(id: string, which: (sizes: Sizes) => number): Scenario {
  return {
    id,
    ...INDEXED,
    unit: 'ops/s',
    title: (s) =>
      `ListObjectsV2 page ${which(s).toLocaleString('en-US')} of ${pages(s).toLocaleString('en-US')} ` +
      `(1,000 keys), ${s.indexObjects.toLocaleString('en-US')}-object bucket`,
    async run(ctx: ScenarioContext) {
      const n = ctx.sizes.indexObjects;
      const page = which(ctx.sizes);
      const first = (page - 1) * PAGE;
      const startAfter = first === 0 ? undefined : indexKey(first - 1, n);
      return timed(ctx.sizes.indexPageRepeats, async () => {
        const r = await ctx.client.listObjectsV2({
          maxKeys: PAGE,
          ...(startAfter === undefined ? {} : { startAfter }),
        });
        const expected = Math.min(PAGE, n - first);
        if (r.keys.length !== expected || r.keys[0] !== indexKey(first, n)) {
          throw new Error(`page ${page}: ${r.keys.length} keys from ${r.keys[0]}, expected ${expected}`);
        }
      });
    },
  };
}

const fullListing: Scenario = {
  id: 'index-list-full',
  ...INDEXED,
  unit: 'objects/s',
  title: (s) =>
    `ListObjectsV2 full listing, ${s.indexObjects.toLocaleString('en-US')} objects in pages of 1,000`,
  async run(ctx) {
    const n = ctx.sizes.indexObjects;
    const latencies: number[] = [];
    let token: string | undefined;
    let seen = 0;
    const t0 = performance.now();
    do {
      const p0 = performance.now();
      const page = await ctx.client.listObjectsV2({
        maxKeys: PAGE,
        ...(token === undefined ? {} : { continuationToken: token }),
      });
      latencies.push(performance.now() - p0);
      seen += page.keys.length;
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token !== undefined);
    const seconds = (performance.now() - t0) / 1000;
    if (seen !== n) throw new Error(`listed ${seen} objects, expected ${n}`);
    const sorted = Float64Array.from(latencies).sort();
    return {
      value: n / seconds,
      ops: n,
      seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      note: 'p50/p99 per page; target ≥ 100,000 objects/s',
    };
  },
};

const delimiterListing: Scenario = {
  id: 'index-delimiter-256',
  ...INDEXED,
  unit: 'ops/s',
  title: (s) =>
    `ListObjectsV2 prefix=data/ delimiter=/ (256 prefixes over ${s.indexObjects.toLocaleString('en-US')} objects)`,
  async run(ctx) {
    return timed(ctx.sizes.indexPageRepeats, async () => {
      const r = await ctx.client.listObjectsV2({ prefix: 'data/', delimiter: '/', maxKeys: PAGE });
      if (r.prefixes.length !== 256 || r.keys.length !== 0 || r.isTruncated) {
        throw new Error(`expected 256 common prefixes, got ${r.prefixes.length} (+${r.keys.length} keys)`);
      }
    });
  },
};

// ---- cache rebuild ---------------------------------------------------------------------------

function rebuildTree(workDir: string): string {
  return join(workDir, 'rebuild-store');
}

/** Runs `s3local cache rebuild --path dir` to completion; resolves to its stdout. */
function runRebuild(dir: string, home: string, deadlineMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'cache', 'rebuild', '--path', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NODE_ENV: 'production' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`cache rebuild exited with ${code}: ${out.slice(-500)}`));
    });
  });
}

const rebuildScenario: Scenario = {
  id: 'index-rebuild-100k',
  group: 'index-rebuild',
  unit: 'objects/s',
  targets: ['s3local'],
  targetNote: 'a command of s3local, no server involved',
  title: (s) =>
    `\`s3local cache rebuild\` of ${s.rebuildFiles.toLocaleString('en-US')} small files (fresh index)`,
  async prepare(sizes, workDir) {
    const dir = rebuildTree(workDir);
    await rm(dir, { recursive: true, force: true });
    const bucket = join(dir, 'default', 'data');
    for (let p = 0; p < 256; p++)
      await mkdir(join(bucket, p.toString(16).padStart(2, '0')), { recursive: true });
    const block = randomBytes(4096);
    await runConcurrent(sizes.rebuildFiles, 16, async (i) => {
      const xx = (i % 256).toString(16).padStart(2, '0');
      const size = 256 + ((i * 7919) % 3840);
      await writeFile(join(bucket, xx, `${xx}${i.toString(16).padStart(62, '0')}`), block.subarray(0, size));
    });
  },
  async setup(ctx) {
    // A fresh index every time: every file is new, every MD5 is computed.
    await rm(join(rebuildTree(ctx.workDir), '.s3local'), { recursive: true, force: true });
  },
  async run(ctx) {
    const dir = rebuildTree(ctx.workDir);
    const home = join(ctx.workDir, 'rebuild-home');
    await mkdir(home, { recursive: true });
    const t0 = performance.now();
    const out = await runRebuild(dir, home, ctx.sizes.scenarioDeadlineMs);
    const seconds = (performance.now() - t0) / 1000;
    const n = ctx.sizes.rebuildFiles;
    const added = /: ([\d,]+) added/.exec(out)?.[1]?.replace(/,/g, '');
    if (Number(added) !== n)
      throw new Error(`cache rebuild added ${added ?? '?'} files, expected ${n}: ${out}`);
    return {
      value: n / seconds,
      ops: n,
      seconds,
      fromServer: false,
      note: 'wall time of the `cache rebuild` process, start-up included',
    };
  },
};

/** The index scenarios, in report order. */
export const INDEX_SCENARIOS: readonly Scenario[] = [
  pageScenario('index-page-1', () => 1),
  pageScenario('index-page-500', (s) => Math.max(1, Math.round(pages(s) / 2))),
  pageScenario('index-page-1000', (s) => pages(s)),
  fullListing,
  delimiterListing,
  rebuildScenario,
];
