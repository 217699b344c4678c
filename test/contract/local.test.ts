/**
 * The storage contract for the local backend, each test on a fresh data directory.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../../src/storage/local/local-backend.js';
import { runStorageContract } from './storage-contract.js';

runStorageContract('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3local-contract-'));
  const backend = await LocalBackend.open({ path: join(dir, 'data') });
  return {
    backend,
    async cleanup() {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    },
    leftovers: () => readdir(backend.tmpDir),
    stagedUploads: () => readdir(backend.multipart.dir),
  };
});
