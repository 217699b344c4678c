/**
 * The storage contract for the Drime backend against the fake Drime API: both same-name upload
 * modes, both download modes (with and without Range support), and once with random faults
 * injected on every route (every test must still pass, nothing lost).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DrimeBackend } from '../../src/storage/drime/backend.js';
import { startFakeDrime } from '../fakes/drime/server.js';
import type { FakeOptions } from '../fakes/drime/state.js';
import { runStorageContract, type ContractSubject } from './storage-contract.js';

interface Variant {
  fake: Partial<FakeOptions>;
  /** Seeded random faults on every request, with this probability. */
  faults?: number;
}

/** Replay a failing run with DRIME_FAULT_SEED=<seed> (test n uses seed + n). */
const FAULT_SEED = Number(process.env.DRIME_FAULT_SEED ?? Date.now() % 100_000);
let faultRuns = 0;
process.stdout.write(`# drime random fault seed ${FAULT_SEED}\n`);

function factory(v: Variant): () => Promise<ContractSubject> {
  return async () => {
    const fake = await startFakeDrime(v.fake);
    const dir = await mkdtemp(join(tmpdir(), 's3local-drime-contract-'));
    const spoolDir = join(dir, 'spool');
    const backend = await DrimeBackend.open({
      apiKey: fake.token,
      workspaceId: 0,
      apiUrl: fake.apiUrl,
      advanced: true,
      rootFolder: 's3local/root',
      indexPath: join(dir, 'index.sqlite'),
      spoolDir,
      // Small thresholds so the multipart path runs too.
      simpleUploadMaxBytes: 64 * 1024,
      partSizeBytes: 5 * 1024 * 1024,
      client: {
        retry: { attempts: 8, baseDelayMs: 1, maxDelayMs: 20 },
        timeoutMs: 10_000,
        transferTimeoutMs: 10_000,
      },
    });
    if (v.faults) {
      const seed = FAULT_SEED + faultRuns++;
      fake.faults.setRandom({
        seed,
        probability: v.faults,
        retryAfter: '0',
        kinds: ['429', '500', '502', '503', 'reset', 'slow', 'html', 'truncate', 'users-empty'],
      });
    }
    return {
      backend,
      async cleanup() {
        await backend.close();
        await fake.close();
        await rm(dir, { recursive: true, force: true });
      },
      leftovers: () => readdir(spoolDir),
      stagedUploads: () => readdir(backend.multipart.dir),
    };
  };
}

runStorageContract(
  'drime (duplicate uploads, redirect downloads)',
  factory({ fake: { sameName: 'duplicate', download: 'redirect' } }),
);
runStorageContract(
  'drime (replace uploads, streamed downloads)',
  factory({ fake: { sameName: 'replace', download: 'stream' } }),
);
runStorageContract(
  'drime (replace uploads, redirect downloads without Range, random faults)',
  factory({ fake: { sameName: 'replace', download: 'redirect', rangeSupport: false }, faults: 0.05 }),
);
