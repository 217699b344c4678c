/**
 * The Drime backend keeps no S3 versions: versioning and object lock operations answer 501
 * NotImplemented (docs/drime.md), lock headers 400 InvalidRequest, and the read-only answers of an
 * unversioned bucket stay correct (GetBucketVersioning empty, ListObjectVersions = null versions).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startDrimeServe, type DrimeServe } from './drime-helpers.js';

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  assert.fail('expected the request to fail');
}

describe('versioning and object lock on the Drime backend (fake Drime API)', { timeout: 60_000 }, () => {
  let drime: DrimeServe;
  let s3: S3Client;
  const Bucket = 'default';

  before(async () => {
    drime = await startDrimeServe({
      fake: { sameName: 'replace', download: 'stream' },
      homePrefix: 's3local-drime-versioning-',
    });
    s3 = drime.s3;
  });
  after(async () => drime?.close());

  it('PutBucketVersioning and the object lock operations answer 501 NotImplemented', async () => {
    const enable = s3.send(
      new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    assert.deepEqual(await failure(enable), { name: 'NotImplemented', status: 501 });
    const lock = s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(await failure(lock), { name: 'NotImplemented', status: 501 });
    const hold = s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'k', LegalHold: { Status: 'ON' } }));
    assert.deepEqual(await failure(hold), { name: 'NotImplemented', status: 501 });
  });

  it('a PUT with object lock headers is refused with InvalidRequest and stores nothing', async () => {
    const put = s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'locked.txt',
        Body: 'x',
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 86_400_000),
      }),
    );
    assert.deepEqual(await failure(put), { name: 'InvalidRequest', status: 400 });
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'locked' }));
    assert.equal(list.Versions, undefined);
  });

  it('GetBucketVersioning is empty and ListObjectVersions lists the objects as null versions', async () => {
    const status = await s3.send(new GetBucketVersioningCommand({ Bucket }));
    assert.equal(status.Status, undefined);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'v/a.txt', Body: 'alpha' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'v/b.txt', Body: 'beta!' }));
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'v/' }));
    assert.deepEqual(
      list.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size]),
      [
        ['v/a.txt', 'null', true, 5],
        ['v/b.txt', 'null', true, 5],
      ],
    );
    assert.equal(list.DeleteMarkers, undefined);
  });
});
