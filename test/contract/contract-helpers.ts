/**
 * Shared pieces of the storage contract suite (see storage-contract.ts).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { S3Error } from '../../src/s3/errors.js';
import type { ObjectInfo, StorageBackend } from '../../src/storage/backend.js';
import { bodyFrom, readAll } from '../helpers/body.js';

/** What a contract factory hands the suite. */
export interface ContractSubject {
  backend: StorageBackend;
  /** Releases the backend and removes its data. */
  cleanup(): Promise<void>;
  /**
   * Optional: the staging entries (temp files, in-flight data) the backend holds right now. When
   * given, the suite asserts that a failed or aborted write leaves none behind.
   */
  leftovers?(): Promise<string[]>;
  /**
   * Optional: the multipart uploads staged right now (one entry per upload: its staging directory).
   * When given, the suite asserts that aborted uploads leave nothing staged.
   */
  stagedUploads?(): Promise<string[]>;
}

export const T = { timeout: 60_000 };
export const BUCKET = 'contract-bucket';

/** Rejects with an S3Error of `code`. */
export async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof S3Error, `expected S3Error ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Runs `fn` over at most `n` items at a time. */
export async function pool<T>(
  items: readonly T[],
  n: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Lists everything (following nextAfter), asserting each page's shape. */
export async function listAll(
  backend: StorageBackend,
  bucket: string,
  opts: { prefix?: string; delimiter?: string; maxKeys?: number },
): Promise<{ keys: string[]; prefixes: string[]; pages: number }> {
  const maxKeys = opts.maxKeys ?? 1000;
  const keys: string[] = [];
  const prefixes: string[] = [];
  let after = '';
  for (let pages = 1; pages < 10_000; pages++) {
    const page = await backend.listObjects(bucket, {
      prefix: opts.prefix ?? '',
      delimiter: opts.delimiter ?? '',
      after,
      maxKeys,
    });
    assert.ok(page.objects.length + page.commonPrefixes.length <= maxKeys, 'page larger than maxKeys');
    keys.push(...page.objects.map((o) => o.key));
    prefixes.push(...page.commonPrefixes);
    if (!page.isTruncated) return { keys, prefixes, pages };
    assert.ok(page.nextAfter !== undefined, 'truncated page without nextAfter');
    assert.ok(page.objects.length + page.commonPrefixes.length > 0, 'truncated empty page');
    after = page.nextAfter;
  }
  throw new Error('listing does not end');
}

export async function put(
  backend: StorageBackend,
  key: string,
  data: Buffer | string,
  bucket = BUCKET,
): Promise<ObjectInfo> {
  return backend.putObject(bucket, key, bodyFrom(data), { headers: {}, metadata: {} });
}

export async function getBytes(backend: StorageBackend, key: string, bucket = BUCKET): Promise<Buffer> {
  const { body } = await backend.getObject(bucket, key);
  return readAll(body);
}

/** A body that sends `first` and then stalls until destroyed. */
export function stallingStream(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      }
    },
  });
}

/** Runs a test body against a fresh backend that holds the bucket {@link BUCKET}. */
export type WithBackend = (
  fn: (backend: StorageBackend, subject: ContractSubject) => Promise<void>,
) => Promise<void>;

/** Asserts the backend holds no staging data, when it can tell. */
export async function assertNoLeftovers(subject: ContractSubject): Promise<void> {
  if (subject.leftovers) assert.deepEqual(await subject.leftovers(), []);
}
