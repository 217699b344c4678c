/**
 * DeleteBucket of a bucket that holds no object but has multipart uploads in progress, through a
 * real server: S3 deletes it and aborts the uploads
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html asks only that objects,
 * versions and delete markers be gone; only directory buckets refuse, per
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html). versitygw's
 * ListObjects_should_not_list_pending_mps expects 204; `rclone purge` after an interrupted upload
 * deletes the bucket. In default mode the `default` bucket stays and only its uploads go.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';
import { assertOk, clientTestOptions } from '../helpers/clients.js';
import { rcloneRunner, writeRcloneConfig } from '../helpers/rclone.js';
import { expectError, expectStatus, setVersioning } from '../helpers/versioning.js';
import { startInProcessDrime, type InProcessDrime } from './drime-helpers.js';

const T = { timeout: 60_000 };

/** Starts an upload of `Key` with one part; returns its id. */
async function startUpload(s3: S3Client, Bucket: string, Key: string): Promise<string> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  assert.ok(UploadId);
  await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'a part' }));
  return UploadId;
}

async function uploadIds(s3: S3Client, Bucket: string): Promise<string[]> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
  return (out.Uploads ?? []).map((u) => u.UploadId ?? '');
}

/** The staging directories of the local store (one per open upload). */
function staged(srv: TestServer): Promise<string[]> {
  return readdir(join(srv.dataDir, '.s3local', 'uploads'));
}

describe('DeleteBucket with uploads in progress (AWS SDK v3, advanced mode)', () => {
  let srv: TestServer;
  let s3: S3Client;
  before(async () => {
    srv = await startServer({ advanced: true });
    s3 = srv.client();
  });
  after(async () => srv?.close());

  it('deletes a bucket holding only pending uploads and aborts them (versitygw)', T, async () => {
    const Bucket = 'pending-mps';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const id1 = await startUpload(s3, Bucket, 'my-obj');
    const id2 = await startUpload(s3, Bucket, 'dir/other');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket }));
    assert.equal(listed.KeyCount, 0, 'a pending upload is not listed');
    assert.deepEqual((await staged(srv)).sort(), [id1, id2].sort());

    const deleted = await s3.send(new DeleteBucketCommand({ Bucket }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await expectStatus(s3.send(new HeadBucketCommand({ Bucket })), 404);
    assert.deepEqual(await staged(srv), [], 'the staged parts are gone');
    await expectError(
      s3.send(new UploadPartCommand({ Bucket, Key: 'my-obj', UploadId: id1, PartNumber: 2, Body: 'x' })),
      'NoSuchBucket',
      404,
    );
    await expectError(s3.send(new ListMultipartUploadsCommand({ Bucket })), 'NoSuchBucket', 404);

    // Created again, the bucket has no upload of its previous life.
    await s3.send(new CreateBucketCommand({ Bucket }));
    assert.deepEqual(await uploadIds(s3, Bucket), []);
    await expectError(
      s3.send(new UploadPartCommand({ Bucket, Key: 'my-obj', UploadId: id1, PartNumber: 2, Body: 'x' })),
      'NoSuchUpload',
      404,
    );
    await s3.send(new DeleteBucketCommand({ Bucket }));
  });

  it('an object left: 409 BucketNotEmpty, the upload stays', T, async () => {
    const Bucket = 'object-left';
    await s3.send(new CreateBucketCommand({ Bucket }));
    const id = await startUpload(s3, Bucket, 'big');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'small', Body: 'x' }));
    await expectError(s3.send(new DeleteBucketCommand({ Bucket })), 'BucketNotEmpty', 409);
    assert.deepEqual(await uploadIds(s3, Bucket), [id]);
    assert.deepEqual(await staged(srv), [id]);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'small' }));
    await s3.send(new DeleteBucketCommand({ Bucket }));
    assert.deepEqual(await staged(srv), []);
  });

  it('rclone purge after an interrupted upload deletes the bucket', clientTestOptions('rclone'), async () => {
    const Bucket = 'rclone-purge';
    await s3.send(new CreateBucketCommand({ Bucket }));
    for (const Key of ['a.txt', 'dir/b.txt']) await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    // What an interrupted `rclone copy` of a large file leaves: an upload with some parts.
    await startUpload(s3, Bucket, 'dir/huge.bin');
    const dir = await tempDir('s3local-rclone-purge-');
    const conf = join(dir, 'rclone.conf');
    await writeRcloneConfig(conf, { endpoint: srv.endpoint });
    const rclone = rcloneRunner(conf, ['--retries', '1', '--low-level-retries', '1']);
    assertOk(await rclone('purge', `srv:${Bucket}`), 'rclone purge');
    await expectStatus(s3.send(new HeadBucketCommand({ Bucket })), 404);
    assert.deepEqual(await staged(srv), []);
  });
});

describe('DeleteBucket default with uploads in progress (AWS SDK v3, default mode)', () => {
  let srv: TestServer;
  let s3: S3Client;
  const Bucket = 'default';
  before(async () => {
    srv = await startServer();
    s3 = srv.client();
  });
  after(async () => srv?.close());

  it('the default bucket stays; its uploads are aborted', T, async () => {
    await startUpload(s3, Bucket, 'pending');
    const deleted = await s3.send(new DeleteBucketCommand({ Bucket }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await s3.send(new HeadBucketCommand({ Bucket }));
    assert.deepEqual(await uploadIds(s3, Bucket), []);
    assert.deepEqual(await staged(srv), []);
  });

  it('with an object: 409 BucketNotEmpty and the upload stays', T, async () => {
    const id = await startUpload(s3, Bucket, 'pending');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'obj', Body: 'x' }));
    await expectError(s3.send(new DeleteBucketCommand({ Bucket })), 'BucketNotEmpty', 409);
    assert.deepEqual(await uploadIds(s3, Bucket), [id]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'pending', UploadId: id }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'obj' }));
  });

  it('a delete marker left: 409 BucketNotEmpty (versions count, as on S3)', T, async () => {
    await setVersioning(s3, Bucket, 'Enabled');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'versioned', Body: 'v1' }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'versioned' }));
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket }))).KeyCount, 0);
    const id = await startUpload(s3, Bucket, 'pending');
    await expectError(s3.send(new DeleteBucketCommand({ Bucket })), 'BucketNotEmpty', 409);
    assert.deepEqual(await uploadIds(s3, Bucket), [id]);
  });
});

describe('DeleteBucket default with uploads in progress (Drime backend, fake Drime API)', () => {
  let drime: InProcessDrime;
  let s3: S3Client;
  const Bucket = 'default';
  before(async () => {
    drime = await startInProcessDrime('s3local-drime-delbucket-');
    s3 = drime.s3;
  });
  after(async () => drime?.close());

  it('the root stays; its uploads and staged parts are gone', T, async () => {
    const id = await startUpload(s3, Bucket, 'pending');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'obj', Body: 'x' }));
    await expectError(s3.send(new DeleteBucketCommand({ Bucket })), 'BucketNotEmpty', 409);
    assert.deepEqual(await uploadIds(s3, Bucket), [id]);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'obj' }));

    const deleted = await s3.send(new DeleteBucketCommand({ Bucket }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    await s3.send(new HeadBucketCommand({ Bucket }));
    assert.deepEqual(await uploadIds(s3, Bucket), []);
    assert.deepEqual(await readdir(drime.backend.multipart.dir), []);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'after', Body: 'y' }));
    assert.equal((await s3.send(new ListObjectsV2Command({ Bucket }))).KeyCount, 1);
  });
});
