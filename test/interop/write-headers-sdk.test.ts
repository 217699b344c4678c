/**
 * Headers of object writes that ask for what s3local does not do, AWS SDK v3 against a real
 * server: server-side encryption and storage classes. Malformed values get S3's 400 errors;
 * encryption s3local cannot honour gets 501 and writes nothing; what it can honour is accepted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { expectError } from '../helpers/versioning.js';

describe('write headers: encryption and storage class', () => {
  let srv: TestServer;
  let s3: S3Client;
  const Bucket = 'default';

  before(async () => {
    ({ srv, s3 } = await startWithClient());
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'source' }));
  });
  after(async () => srv?.close());

  /** PutObject, CopyObject and CreateMultipartUpload of `Key` with the same extra input. */
  const writes = (Key: string, extra: Partial<PutObjectCommandInput>) => [
    () => s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x', ...extra })),
    () => s3.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/src`, ...extra })),
    () => s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ...extra })),
  ];

  async function assertNothingWritten(Key: string): Promise<void> {
    await expectError(s3.send(new HeadObjectCommand({ Bucket, Key })), 'NotFound', 404);
  }

  it('an encryption method S3 does not know is 400 InvalidArgument (ceph/s3-tests put_obj_enc_conflict_bad_enc_kms)', async () => {
    for (const w of writes('bad-sse', { ServerSideEncryption: 'aes:kms' as ServerSideEncryption })) {
      const e = await expectError(w(), 'InvalidArgument', 400);
      assert.equal(e.message, 'The encryption method specified is not supported');
    }
    await assertNothingWritten('bad-sse');
  });

  it('SSE-C beside x-amz-server-side-encryption is 400 InvalidArgument; SSE-C or KMS alone 501', async () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const sseC = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key };
    for (const w of writes('sse-c', { ...sseC, ServerSideEncryption: 'AES256' })) {
      const e = await expectError(w(), 'InvalidArgument', 400);
      assert.match(e.message, /Customer provided key is incompatible/);
    }
    for (const w of writes('sse-c', sseC)) await expectError(w(), 'NotImplemented', 501);
    for (const w of writes('sse-kms', { ServerSideEncryption: 'aws:kms' })) {
      await expectError(w(), 'NotImplemented', 501);
    }
    // A KMS key without the aws:kms method is malformed before it is unsupported.
    for (const w of writes('sse-kms', { SSEKMSKeyId: 'alias/some-key', ServerSideEncryption: 'AES256' })) {
      const e = await expectError(w(), 'InvalidArgument', 400);
      assert.match(e.message, /requires HTTP header x-amz-server-side-encryption : aws:kms/);
    }
    await assertNothingWritten('sse-c');
    await assertNothingWritten('sse-kms');
  });

  it('an unknown storage class is 400 InvalidStorageClass; a known one is stored as STANDARD', async () => {
    for (const w of writes('bad-class', { StorageClass: 'COLD' as StorageClass })) {
      await expectError(w(), 'InvalidStorageClass', 400);
    }
    await assertNothingWritten('bad-class');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'ia', Body: 'x', StorageClass: 'STANDARD_IA' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'ia' }));
    assert.equal(listed.Contents?.[0]?.StorageClass, 'STANDARD');
  });

  it('AES256 (SSE-S3) is accepted', async () => {
    for (const w of writes('sse-s3', { ServerSideEncryption: 'AES256' })) await w();
    await s3.send(new HeadObjectCommand({ Bucket, Key: 'sse-s3' }));
  });
});
