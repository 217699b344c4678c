/**
 * The StorageBackend contract suite (DESIGN §3, §6): every backend — local now, Drime later —
 * runs exactly these tests via {@link runStorageContract}.
 */
import { describe } from 'node:test';
import type { StorageBackend } from '../../src/storage/backend.js';
import { conditionalContract } from './contract-conditional.js';
import { BUCKET, type ContractSubject } from './contract-helpers.js';
import { listingContract } from './contract-listing.js';
import { multipartContract } from './contract-multipart.js';
import { deleteBucketContract } from './contract-delete-bucket.js';
import { bucketAndObjectContract } from './contract-objects.js';
import { writeContract } from './contract-writes.js';

export type { ContractSubject } from './contract-helpers.js';

/**
 * Registers the contract tests for one backend. `factory` is called once per test and must
 * return a fresh, empty backend.
 */
export function runStorageContract(name: string, factory: () => Promise<ContractSubject>): void {
  /** Runs `fn` against a fresh backend holding the bucket {@link BUCKET}. */
  async function withBackend(
    fn: (backend: StorageBackend, subject: ContractSubject) => Promise<void>,
  ): Promise<void> {
    const subject = await factory();
    try {
      await subject.backend.createBucket(BUCKET);
      await fn(subject.backend, subject);
    } finally {
      await subject.cleanup();
    }
  }

  describe(`storage contract: ${name}`, () => {
    bucketAndObjectContract(withBackend);
    listingContract(withBackend);
    writeContract(withBackend);
    conditionalContract(withBackend);
    multipartContract(withBackend);
    deleteBucketContract(withBackend);
  });
}
