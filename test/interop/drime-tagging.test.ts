/**
 * Object tagging on the Drime backend (fake Drime API), AWS SDK v3 through the real S3 server:
 * Drime stores no tags, so the tagging operations and writes carrying a non-empty
 * `x-amz-tagging` answer 501 NotImplemented and write nothing; writes without tags (or with an
 * empty header, or copies with the default COPY directive) work as before.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectTaggingCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { DrimeBackend } from '../../src/index.js';
import type { StorageBackend } from '../../src/storage/backend.js';
import { startInProcessDrime, type InProcessDrime } from './drime-helpers.js';
import { expectError, expectStatus } from '../helpers/versioning.js';

const T = { timeout: 60_000 };

describe('object tagging on the Drime backend (fake Drime API)', () => {
  let drime: InProcessDrime;
  let backend: DrimeBackend;
  let s3: S3Client;
  const Bucket = 'default';

  before(async () => {
    drime = await startInProcessDrime('s3local-drime-tags-');
    ({ backend, s3 } = drime);
  });
  after(async () => {
    await drime?.close();
  });

  it('the backend offers no tagging', () => {
    const contract: StorageBackend = backend;
    assert.equal(contract.tagging, undefined);
  });

  it('tagging operations answer 501 NotImplemented', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'plain.txt', Body: 'p', Tagging: '' }));
    await expectError(
      s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'plain.txt' })),
      'NotImplemented',
      501,
    );
    await expectError(
      s3.send(
        new PutObjectTaggingCommand({
          Bucket,
          Key: 'plain.txt',
          Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] },
        }),
      ),
      'NotImplemented',
      501,
    );
    await expectError(
      s3.send(new DeleteObjectTaggingCommand({ Bucket, Key: 'plain.txt' })),
      'NotImplemented',
      501,
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'plain.txt' }));
    assert.equal(head.TagCount, undefined);
  });

  it('writes carrying tags answer 501 and write nothing; COPY without tags works', T, async () => {
    await expectError(
      s3.send(new PutObjectCommand({ Bucket, Key: 'tagged', Body: 'x', Tagging: 'team=backup' })),
      'NotImplemented',
      501,
    );
    await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key: 'tagged' })), 404);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'untagged', Body: 'x' }));
    await expectError(
      s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'tagged-copy',
          CopySource: `${Bucket}/untagged`,
          TaggingDirective: 'REPLACE',
          Tagging: 'team=backup',
        }),
      ),
      'NotImplemented',
      501,
    );
    await expectStatus(s3.send(new HeadObjectCommand({ Bucket, Key: 'tagged-copy' })), 404);
    await expectError(
      s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'tagged-mpu', Tagging: 'team=backup' })),
      'NotImplemented',
      501,
    );
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/untagged` }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy' }))).ContentLength, 1);
  });
});
