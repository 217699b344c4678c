/**
 * Shared helpers of the Drime unit tests: a fake per test, a fast-retry client, temp files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { DrimeBackend, type DrimeBackendOptions } from '../../../src/storage/drime/backend.js';
import { DrimeClient, type DrimeClientOptions } from '../../../src/storage/drime/client.js';
import { startFakeDrime, type FakeDrime } from '../../fakes/drime/server.js';
import type { FakeOptions } from '../../fakes/drime/state.js';

export const MiB = 1024 * 1024;

/** Deterministic bytes of a given size (a repeating pattern offset by `seed`). */
export function bytes(size: number, seed = 0): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  return b;
}

/** Collects a stream, failing after `ms`. */
export async function collect(stream: Readable, ms = 10_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const timer = setTimeout(() => stream.destroy(new Error(`collect: no end after ${ms} ms`)), ms);
  try {
    for await (const c of stream) chunks.push(c as Buffer);
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}

export interface Rig {
  fake: FakeDrime;
  dir: string;
  /** Waits asked for by the client's retry loop, in ms. */
  sleeps: number[];
  client(opts?: Partial<DrimeClientOptions>): DrimeClient;
  file(name: string, data: Buffer): Promise<{ path: string; size: number }>;
}

/** Runs `fn` with a fresh fake and temp dir, both removed afterwards. */
export async function withRig(
  fn: (rig: Rig) => Promise<void>,
  options: Partial<FakeOptions> = {},
): Promise<void> {
  const fake = await startFakeDrime(options);
  const dir = await mkdtemp(join(tmpdir(), 's3local-drime-'));
  const sleeps: number[] = [];
  const rig: Rig = {
    fake,
    dir,
    sleeps,
    client: (opts = {}) =>
      new DrimeClient({
        apiKey: fake.token,
        workspaceId: 0,
        apiUrl: fake.apiUrl,
        retry: { baseDelayMs: 1, maxDelayMs: 30 },
        sleep: (ms) => {
          sleeps.push(ms);
          return new Promise((r) => setTimeout(r, Math.min(ms, 30)));
        },
        timeoutMs: 5000,
        transferTimeoutMs: 5000,
        ...opts,
      }),
    file: async (name, data) => {
      const path = join(dir, name);
      await writeFile(path, data);
      return { path, size: data.length };
    },
  };
  try {
    await fn(rig);
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A Drime backend in default mode on the rig's fake, with its index and spool in the rig's temp
 * dir (`name` tells several backends apart) and fast client retries; `opts` override.
 */
export function openBackend(
  rig: Rig,
  opts: Partial<DrimeBackendOptions> = {},
  name = 'a',
): Promise<DrimeBackend> {
  return DrimeBackend.open({
    apiKey: rig.fake.token,
    workspaceId: 0,
    apiUrl: rig.fake.apiUrl,
    advanced: false,
    indexPath: join(rig.dir, `index-${name}.sqlite`),
    spoolDir: join(rig.dir, `spool-${name}`),
    client: {
      retry: { attempts: 6, baseDelayMs: 1, maxDelayMs: 20 },
      timeoutMs: 5000,
      transferTimeoutMs: 5000,
    },
    ...opts,
  });
}

/** Resolves once the fake received a request matching `re` (`METHOD /path?query`), within 10 s. */
export async function requestSeen(fake: FakeDrime, re: RegExp, from = 0): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!fake.requests.slice(from).some((r) => re.test(`${r.method} ${r.path}${r.query}`))) {
    if (Date.now() > deadline) throw new Error(`no request matching ${re} within 10 s`);
    await sleep(5);
  }
}
