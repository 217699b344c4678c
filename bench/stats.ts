/**
 * Load generation and summary statistics: a fixed pool of workers pulling operation numbers from a
 * shared counter (closed loop, `concurrency` requests in flight), per-operation latencies, and
 * nearest-rank percentiles.
 */

import type { Measurement } from './scenario-types.js';

/** What a run of operations measured. */
export interface OpsResult {
  /** Operations completed. */
  ops: number;
  /** Wall time from the first request to the last response, seconds. */
  seconds: number;
  /** Latency of each operation, milliseconds, sorted ascending. */
  latenciesMs: Float64Array;
}

/** Nearest-rank percentile (`p` in 0..100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

/**
 * Runs `op(0)`..`op(total - 1)` with `concurrency` in flight. No new operation starts once
 * `timeCapMs` has passed (the figure then covers the operations done). The first failure stops the
 * run: in-flight operations finish, then it is thrown.
 */
export async function runConcurrent(
  total: number,
  concurrency: number,
  op: (i: number) => Promise<void>,
  timeCapMs = Number.POSITIVE_INFINITY,
): Promise<OpsResult> {
  const latencies = new Float64Array(total);
  let next = 0;
  let done = 0;
  let failure: unknown;
  let failed = false;
  const start = performance.now();
  const worker = async () => {
    while (!failed && next < total && performance.now() - start < timeCapMs) {
      const i = next++;
      const t0 = performance.now();
      try {
        await op(i);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
        return;
      }
      latencies[done++] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
  const seconds = (performance.now() - start) / 1000;
  if (failed) throw failure;
  const measured = latencies.slice(0, done).sort();
  return { ops: done, seconds, latenciesMs: measured };
}

/** Mebibytes per second of `bytes` moved in `seconds`. */
export function mibPerSecond(bytes: number, seconds: number): number {
  return bytes / (1024 * 1024) / seconds;
}

/** An ops/s figure from a run of operations, with its p50/p99 latencies and an optional note. */
export function opsMeasurement(r: OpsResult, note?: string): Measurement {
  return {
    value: r.ops / r.seconds,
    ops: r.ops,
    seconds: r.seconds,
    p50Ms: percentile(r.latenciesMs, 50),
    p99Ms: percentile(r.latenciesMs, 99),
    ...(note === undefined ? {} : { note }),
  };
}
