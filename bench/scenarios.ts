/**
 * The benchmark scenarios (issue 9), in report order. Each runs unchanged against s3local and
 * the limit server with the same client; tool scenarios (rclone, restic) live in ./tool-scenarios.ts.
 */
import { PAYLOAD_MODES, preparePayload, type PayloadMode } from './client.js';
import {
  NotImplementedError,
  type Measurement,
  type Scenario,
  type ScenarioContext,
  type Sizes,
} from './scenario-types.js';
import { mibPerSecond, opsMeasurement, percentile, runConcurrent } from './stats.js';
import { INDEX_SCENARIOS } from './index-scenarios.js';
import { TOOL_SCENARIOS } from './tool-scenarios.js';

/** `1 GiB`, `64 MiB`, `4 KiB`, `300 B`: a size for titles. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    u++;
  }
  if (v >= 1024 && u < units.length - 1) {
    return `${(v / 1024).toFixed(2)} ${units[u + 1] ?? ''}`;
  }
  return `${v} ${units[u] ?? ''}`;
}

// ---------------------------------------------------------------------------------------------
// 4 KiB objects: PUT / GET / HEAD / DELETE at concurrency 1 and 16.

function smallKeysState(ctx: ScenarioContext, c: number): string[] {
  const id = `small-keys-c${c}`;
  let keys = ctx.state.get(id) as string[] | undefined;
  if (!keys) {
    keys = [];
    ctx.state.set(id, keys);
  }
  return keys;
}

function smallOps(sizes: Sizes, c: number): number {
  return c === 1 ? sizes.smallOpsC1 : sizes.smallOpsC16;
}

/** Makes sure the objects GET/HEAD/DELETE need exist, when their PUT scenario did not run. */
async function ensureSmallObjects(ctx: ScenarioContext, c: number): Promise<void> {
  const keys = smallKeysState(ctx, c);
  if (keys.length > 0) return;
  const n = smallOps(ctx.sizes, c);
  const made = Array.from({ length: n }, (_, i) => `small/c${c}/pre-${String(i).padStart(6, '0')}`);
  await runConcurrent(n, 16, (i) =>
    ctx.client.putObject(made[i] ?? '', ctx.sizes.small).then(() => undefined),
  );
  keys.push(...made);
}

/** What one small-object scenario does: `total` operations, operation `i` being `op(i)`. */
interface SmallPlan {
  total: number;
  op: (i: number) => Promise<void>;
}

/**
 * A 4 KiB scenario at concurrency `c` (`small-<verb>-c<c>`, ops/s, capped at `smallCapMs`):
 * `plan` gets the keys written so far (shared by the scenarios of one concurrency). Every verb but
 * PUT first makes sure those keys exist.
 */
function smallScenario(
  c: number,
  verb: 'PUT' | 'GET' | 'HEAD' | 'DELETE',
  plan: (ctx: ScenarioContext, keys: string[]) => SmallPlan,
): Scenario {
  return {
    id: `small-${verb.toLowerCase()}-c${c}`,
    group: `small-c${c}`,
    unit: 'ops/s',
    title: (s) => `${formatSize(s.small)} ${verb}, c=${c}`,
    ...(verb === 'PUT' ? {} : { setup: (ctx: ScenarioContext) => ensureSmallObjects(ctx, c) }),
    async run(ctx) {
      const { total, op } = plan(ctx, smallKeysState(ctx, c));
      return opsMeasurement(await runConcurrent(total, c, op, ctx.sizes.smallCapMs));
    },
  };
}

/**
 * GET or HEAD of the small keys in turn; `read` answers the size it saw, which must be the small
 * object size (`mismatch` words the error otherwise).
 */
function smallReadScenario(
  c: number,
  verb: 'GET' | 'HEAD',
  read: (ctx: ScenarioContext, key: string) => Promise<number>,
  mismatch: (got: number, want: number) => string,
): Scenario {
  return smallScenario(c, verb, (ctx, keys) => ({
    total: smallOps(ctx.sizes, c),
    async op(i) {
      const got = await read(ctx, keys[i % keys.length] ?? '');
      if (got !== ctx.sizes.small) throw new Error(mismatch(got, ctx.sizes.small));
    },
  }));
}

function smallScenarios(c: number): Scenario[] {
  return [
    smallScenario(c, 'PUT', (ctx, keys) => {
      const base = keys.length;
      return {
        total: smallOps(ctx.sizes, c),
        async op(i) {
          const key = `small/c${c}/${String(base + i).padStart(6, '0')}`;
          await ctx.client.putObject(key, ctx.sizes.small);
          keys.push(key);
        },
      };
    }),
    smallReadScenario(
      c,
      'GET',
      (ctx, key) => ctx.client.getObject(key),
      (got, want) => `GET returned ${got} bytes, expected ${want}`,
    ),
    smallReadScenario(
      c,
      'HEAD',
      (ctx, key) => ctx.client.headObject(key),
      (got, want) => `HEAD Content-Length ${got}, expected ${want}`,
    ),
    smallScenario(c, 'DELETE', (ctx, keys) => {
      const all = keys.splice(0);
      return { total: all.length, op: (i) => ctx.client.deleteObject(all[i] ?? '') };
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// Large objects.

/**
 * Runs a transfer `reps` times and reports the median rate (the disk of a VM is noisy); every
 * rate is kept in the note.
 */
async function medianRate(
  reps: number,
  once: (rep: number) => Promise<{ bytes: number; seconds: number }>,
): Promise<Measurement> {
  const rates: number[] = [];
  let seconds = 0;
  let bytes = 0;
  for (let rep = 0; rep < reps; rep++) {
    const r = await once(rep);
    rates.push(mibPerSecond(r.bytes, r.seconds));
    seconds += r.seconds;
    bytes += r.bytes;
  }
  const sorted = [...rates].sort((a, b) => a - b);
  const median =
    sorted.length % 2 === 1
      ? (sorted[(sorted.length - 1) / 2] ?? 0)
      : ((sorted[sorted.length / 2 - 1] ?? 0) + (sorted[sorted.length / 2] ?? 0)) / 2;
  return {
    value: median,
    bytes,
    seconds,
    ...(reps > 1 ? { note: `median of ${reps}: ${rates.map((r) => r.toFixed(0)).join(', ')} MiB/s` } : {}),
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

function largeKey(rep: number): string {
  return `large/object-${rep}`;
}

const largeScenarios: Scenario[] = [
  {
    id: 'put-1g',
    group: 'large',
    unit: 'MiB/s',
    title: (s) => `${formatSize(s.large)} PUT`,
    async run(ctx) {
      const size = ctx.sizes.large;
      const m = await medianRate(ctx.sizes.largeRepeats, async (rep) => {
        const { seconds } = await timed(() => ctx.client.putObject(largeKey(rep), size));
        ctx.state.set('large-written', rep + 1);
        return { bytes: size, seconds };
      });
      return m;
    },
  },
  {
    id: 'get-1g',
    group: 'large',
    unit: 'MiB/s',
    title: (s) => `${formatSize(s.large)} GET`,
    async setup(ctx) {
      if (typeof ctx.state.get('large-written') !== 'number') {
        await ctx.client.putObject(largeKey(0), ctx.sizes.large);
        ctx.state.set('large-written', 1);
      }
    },
    async run(ctx) {
      const written = Number(ctx.state.get('large-written'));
      return medianRate(ctx.sizes.largeRepeats, async (rep) => {
        const { value: bytes, seconds } = await timed(() => ctx.client.getObject(largeKey(rep % written)));
        if (bytes !== ctx.sizes.large)
          throw new Error(`GET returned ${bytes} bytes, expected ${ctx.sizes.large}`);
        return { bytes, seconds };
      });
    },
  },
  {
    id: 'put-64m-x8-c4',
    group: 'parallel',
    unit: 'MiB/s',
    title: (s) => `${s.parallelCount} × ${formatSize(s.parallelSize)} PUT, c=4`,
    async run(ctx) {
      const { parallelCount: n, parallelSize: size } = ctx.sizes;
      const m = await medianRate(ctx.sizes.largeRepeats, async (rep) => {
        const r = await runConcurrent(n, 4, (i) =>
          ctx.client.putObject(`parallel/${rep}/${i}`, size).then(() => undefined),
        );
        return { bytes: n * size, seconds: r.seconds };
      });
      return { ...m, ops: n * ctx.sizes.largeRepeats };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// What each payload verification costs: the same PUT in every payload mode.

const MODE_TITLES: Record<PayloadMode, string> = {
  unsigned: 'UNSIGNED-PAYLOAD',
  signed: 'signed payload SHA-256',
  'aws-chunked': 'signed aws-chunked',
  'trailer-crc32': 'unsigned trailer CRC32',
  'trailer-crc64nvme': 'unsigned trailer CRC64NVME',
};

const modeScenarios: Scenario[] = PAYLOAD_MODES.map((mode): Scenario => ({
  id: `put-256m-${mode}`,
  group: 'payload-modes',
  unit: 'MiB/s',
  title: (s) => `${formatSize(s.modeSize)} PUT, ${MODE_TITLES[mode]}`,
  setup: (ctx) => preparePayload(ctx.sizes.modeSize, mode),
  run: (ctx) =>
    medianRate(ctx.sizes.largeRepeats, async (rep) => {
      const size = ctx.sizes.modeSize;
      const { seconds } = await timed(() => ctx.client.putObject(`modes/${mode}/${rep}`, size, mode));
      return { bytes: size, seconds };
    }),
}));

// ---------------------------------------------------------------------------------------------
// ListObjectsV2 over many keys, full listings in pages.

const listScenario: Scenario = {
  id: 'list-v2-20k',
  group: 'list',
  unit: 'objects/s',
  title: (s) => `ListObjectsV2, ${s.listKeys} keys, pages of ${s.listPageSize}`,
  async setup(ctx) {
    const n = ctx.sizes.listKeys;
    await runConcurrent(n, 16, (i) =>
      ctx.client.putObject(`list/${String(i).padStart(7, '0')}`, 0).then(() => undefined),
    );
  },
  async run(ctx) {
    const { listKeys, listPasses, listPageSize } = ctx.sizes;
    const pageLatencies: number[] = [];
    const t0 = performance.now();
    for (let pass = 0; pass < listPasses; pass++) {
      let token: string | undefined;
      let seen = 0;
      do {
        const p0 = performance.now();
        const page = await ctx.client.listObjectsV2({
          prefix: 'list/',
          maxKeys: listPageSize,
          ...(token === undefined ? {} : { continuationToken: token }),
        });
        pageLatencies.push(performance.now() - p0);
        seen += page.keys.length;
        token = page.isTruncated ? page.nextContinuationToken : undefined;
        if (page.isTruncated && token === undefined)
          throw new Error('truncated page without NextContinuationToken');
      } while (token !== undefined);
      if (seen !== listKeys) throw new Error(`listed ${seen} keys, expected ${listKeys}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const sorted = Float64Array.from(pageLatencies).sort();
    return {
      value: (listKeys * listPasses) / seconds,
      ops: listKeys * listPasses,
      seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      note: 'p50/p99 per page',
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Multipart upload.

const multipartScenario: Scenario = {
  id: 'multipart-1g',
  group: 'multipart',
  unit: 'MiB/s',
  title: (s) => `${formatSize(s.multipartSize)} multipart PUT, ${formatSize(s.multipartPartSize)} parts, c=4`,
  async run(ctx) {
    const { multipartSize: size, multipartPartSize: partSize } = ctx.sizes;
    const key = 'multipart/object';
    const t0 = performance.now();
    const uploadId = await ctx.client.createMultipartUpload(key);
    if (uploadId === null) throw new NotImplementedError('not implemented (501)');
    const count = Math.ceil(size / partSize);
    const etags: string[] = new Array<string>(count).fill('');
    try {
      await runConcurrent(count, 4, async (i) => {
        const partLength = Math.min(partSize, size - i * partSize);
        etags[i] = await ctx.client.uploadPart(key, uploadId, i + 1, partLength);
      });
    } catch (err) {
      await ctx.client.abortMultipartUpload(key, uploadId).catch(() => undefined);
      throw err;
    }
    const c0 = performance.now();
    await ctx.client.completeMultipartUpload(
      key,
      uploadId,
      etags.map((etag, i) => ({ partNumber: i + 1, etag })),
    );
    const completeMs = performance.now() - c0;
    const seconds = (performance.now() - t0) / 1000;
    const length = await ctx.client.headObject(key);
    if (length !== size) throw new Error(`completed object is ${length} bytes, expected ${size}`);
    return {
      value: mibPerSecond(size, seconds),
      bytes: size,
      ops: count,
      seconds,
      note: `Complete ${completeMs.toFixed(0)} ms`,
    };
  },
};

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  ...smallScenarios(1),
  ...smallScenarios(16),
  ...largeScenarios,
  ...modeScenarios,
  listScenario,
  multipartScenario,
  ...TOOL_SCENARIOS,
  ...INDEX_SCENARIOS,
];

/** The scenarios whose id contains one of `filters` (all of them when `filters` is empty). */
export function selectScenarios(filters: readonly string[]): Scenario[] {
  if (filters.length === 0) return [...SCENARIOS];
  return SCENARIOS.filter((s) => filters.some((f) => s.id.includes(f) || s.group.includes(f)));
}
