/**
 * The shapes shared by scenarios, the runner and the report.
 */
import type { BenchClient } from './client.js';
import type { ServerProcess, Target } from './server-process.js';

/** Unit of a scenario's figure. `s` (wall time) is the only one where lower is better. */
export type Unit = 'ops/s' | 'MiB/s' | 'objects/s' | 's';

/** Every size and count the scenarios use; `--quick` swaps in tiny ones. */
export interface Sizes {
  /** Size of the small objects (4 KiB). */
  small: number;
  /** Operations per small-object scenario at concurrency 1 and 16. */
  smallOpsC1: number;
  smallOpsC16: number;
  /** No new small operation starts after this many ms (the figure covers those done). */
  smallCapMs: number;
  /** The single large object (1 GiB). */
  large: number;
  /** Large transfers (1 GiB, 8 × 64 MiB, 256 MiB modes) are repeated; the median is reported. */
  largeRepeats: number;
  /** The parallel PUT: `parallelCount` objects of `parallelSize` at concurrency 4. */
  parallelSize: number;
  parallelCount: number;
  /** Object size of the payload-mode comparison (256 MiB). */
  modeSize: number;
  /** Keys in the listing scenario and full listings timed. */
  listKeys: number;
  listPasses: number;
  listPageSize: number;
  /** Multipart object size and part size. */
  multipartSize: number;
  multipartPartSize: number;
  /** rclone: number of small files copied. */
  rcloneFiles: number;
  /** Index scenarios (index-scenarios.ts): objects in the big bucket, and pages timed per figure. */
  indexObjects: number;
  indexPageRepeats: number;
  /** Small files indexed by the `cache rebuild` scenario. */
  rebuildFiles: number;
  /** restic: bytes in the backed-up tree. */
  resticBytes: number;
  /** Per-scenario deadline (a stuck scenario is reported as an error, never waited on forever). */
  scenarioDeadlineMs: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** The full run's sizes (issue 9). */
export const FULL_SIZES: Sizes = {
  small: 4 * KiB,
  smallOpsC1: 2000,
  smallOpsC16: 5000,
  smallCapMs: 10_000,
  large: 1 * GiB,
  largeRepeats: 3,
  parallelSize: 64 * MiB,
  parallelCount: 8,
  modeSize: 256 * MiB,
  listKeys: 20_000,
  listPasses: 3,
  listPageSize: 1000,
  multipartSize: 1 * GiB,
  multipartPartSize: 8 * MiB,
  rcloneFiles: 2000,
  indexObjects: 1_000_000,
  indexPageRepeats: 50,
  rebuildFiles: 100_000,
  resticBytes: 200 * MiB,
  scenarioDeadlineMs: 180_000,
};

/** The `--quick` smoke run's sizes: every scenario, tiny. */
export const QUICK_SIZES: Sizes = {
  small: 4 * KiB,
  smallOpsC1: 50,
  smallOpsC16: 50,
  smallCapMs: 5_000,
  large: 64 * KiB,
  largeRepeats: 1,
  parallelSize: 64 * KiB,
  parallelCount: 8,
  modeSize: 256 * KiB,
  listKeys: 200,
  listPasses: 1,
  listPageSize: 50,
  // S3 parts other than the last are at least 5 MiB.
  multipartSize: 5 * MiB + 64 * KiB,
  multipartPartSize: 5 * MiB,
  rcloneFiles: 20,
  indexObjects: 5_000,
  indexPageRepeats: 5,
  rebuildFiles: 500,
  resticBytes: 2 * MiB,
  scenarioDeadlineMs: 60_000,
};

/** Credentials and bucket every target is driven with. */
export interface Access {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  bucket: string;
}

/** What a scenario sees while it runs against one target. */
export interface ScenarioContext {
  target: Target;
  client: BenchClient;
  server: ServerProcess;
  sizes: Sizes;
  access: Access;
  /** Scratch space of the whole run (shared by both targets; e.g. rclone's source tree). */
  workDir: string;
  /** State shared by the scenarios of one group on one server (e.g. keys a PUT scenario wrote). */
  state: Map<string, unknown>;
}

/** A scenario's figure for one target. */
export interface Measurement {
  value: number;
  /** Operations (or objects) and bytes behind the figure, and the timed wall seconds. */
  ops?: number;
  bytes?: number;
  seconds: number;
  p50Ms?: number;
  p99Ms?: number;
  note?: string;
  /** False when the figure did not come from the server process (e.g. rclone to a local dir). */
  fromServer?: boolean;
}

/** Thrown by a scenario when the server answers 501 NotImplemented to what it needs. */
export class NotImplementedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotImplementedError';
  }
}

/** One benchmark scenario. Servers are restarted between groups, never inside one. */
export interface Scenario {
  id: string;
  group: string;
  title(sizes: Sizes): string;
  unit: Unit;
  /** Why the scenario cannot run on this machine (a missing binary), or null. */
  unavailable?(): string | null;
  /** Untimed, once per run before any server starts (e.g. a source tree on disk). */
  prepare?(sizes: Sizes, workDir: string): Promise<void>;
  /** Arguments for the limit server of the scenario's group (e.g. `--md5-etag` for rclone). */
  limitArgs?: readonly string[];
  /** The targets it runs on (default both); the others report it as skipped with `targetNote`. */
  targets?: readonly Target[];
  targetNote?: string;
  /**
   * Untimed, on the fresh data directory of the group's server before that server starts (e.g.
   * an index filled through the rebuild fast path). Every scenario of a group may define it: it
   * runs once per store for each scenario that does, so it must be idempotent.
   */
  prepareStore?(target: Target, dataDir: string, sizes: Sizes): Promise<void>;
  /** Untimed, per target, before the figures are sampled (e.g. objects to GET). */
  setup?(ctx: ScenarioContext): Promise<void>;
  /** The timed part. */
  run(ctx: ScenarioContext): Promise<Measurement>;
}
