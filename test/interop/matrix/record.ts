/**
 * The compatibility matrix's raw results: every workflow test appends one JSON line (client, client
 * version, workflow, backend, bucket mode, pass/fail/skip, the exact client settings) to
 * `dist/compat-results.jsonl`, or to the file named by S3LOCAL_COMPAT_OUT. `scripts/gen-compat.mjs`
 * turns the file into docs/compatibility.md. Test files run in parallel processes: each line is a
 * single O_APPEND write, small enough not to interleave.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export type CompatResult = 'pass' | 'fail' | 'skip';

/** One line of compat-results.jsonl. */
export interface CompatRecord {
  /** The client as users know it: `rclone`, `restic`, `awscli v2 (Debian)`, `boto3`... */
  client: string;
  /** What the client printed for its version (`rclone v1.60.1-DEV`), or `not installed`. */
  version: string;
  /** A short name of the workflow, stable across runs (it is the matrix's row key). */
  workflow: string;
  /** Where the workflow is defined in its test file (0, 1, ...): the matrix lists rows in this order. */
  order: number;
  /** Storage backend behind the server: `local` (or `drime` on its fake). */
  backend: string;
  /** `default` (one bucket) or `advanced` (--allow-bucket-creation). */
  bucketMode: 'default' | 'advanced';
  result: CompatResult;
  /** The exact client settings used, with the endpoint and keys as placeholders. */
  settings: string;
  /** Why it failed or was skipped (first lines of the error). */
  reason?: string;
  durationMs: number;
  /** ISO time; the generator keeps the newest line per matrix cell. */
  at: string;
  node: string;
}

/** Where results are appended: $S3LOCAL_COMPAT_OUT or dist/compat-results.jsonl (cwd-relative). */
export function compatOutPath(): string {
  return resolve(process.env.S3LOCAL_COMPAT_OUT ?? 'dist/compat-results.jsonl');
}

/** Appends one result line. Never throws: recording must not change a test's outcome. */
export function recordResult(rec: Omit<CompatRecord, 'at' | 'node'>): void {
  const line: CompatRecord = { ...rec, at: new Date().toISOString(), node: process.version };
  try {
    const path = compatOutPath();
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, JSON.stringify(line) + '\n');
  } catch (err) {
    process.stderr.write(`compat record not written: ${String(err)}\n`);
  }
}
