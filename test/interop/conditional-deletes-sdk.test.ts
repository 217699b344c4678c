/**
 * Conditional deletes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html)
 * with the AWS SDK v3 against a real server, local backend (unversioned and versioned buckets)
 * and Drime (fake Drime API): DeleteObject's IfMatch, IfMatchSize and IfMatchLastModifiedTime, and
 * the ETag of DeleteObjects entries. A condition that does not hold deletes nothing: 412
 * PreconditionFailed, or 404 NoSuchKey when there is no current object.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { bodyText, expectError, newBucket } from '../helpers/versioning.js';
import { startInProcessDrime, type InProcessDrime } from './drime-helpers.js';

const T = { timeout: 60_000 };

async function putText(s3: S3Client, Bucket: string, Key: string, Body: string): Promise<string> {
  const out = await s3.send(new PutObjectCommand({ Bucket, Key, Body }));
  assert.ok(out.ETag);
  return out.ETag;
}

async function text(s3: S3Client, Bucket: string, Key: string): Promise<string> {
  return bodyText(await s3.send(new GetObjectCommand({ Bucket, Key })));
}

/** The If-Match cases every backend must pass, on bucket `Bucket` of `s3()`. */
function ifMatchCases(s3: () => S3Client, bucket: () => string): void {
  it('If-Match: a stale ETag is 412 and deletes nothing; the current one deletes', T, async () => {
    const Bucket = bucket();
    const old = await putText(s3(), Bucket, 'cas.txt', 'first');
    const etag = await putText(s3(), Bucket, 'cas.txt', 'second');
    await expectError(
      s3().send(new DeleteObjectCommand({ Bucket, Key: 'cas.txt', IfMatch: old })),
      'PreconditionFailed',
      412,
    );
    assert.equal(await text(s3(), Bucket, 'cas.txt'), 'second');
    // Unquoted works as well as the quoted form the SDK returns.
    const out = await s3().send(
      new DeleteObjectCommand({ Bucket, Key: 'cas.txt', IfMatch: etag.replace(/"/g, '') }),
    );
    assert.equal(out.$metadata.httpStatusCode, 204);
    await expectError(s3().send(new HeadObjectCommand({ Bucket, Key: 'cas.txt' })), 'NotFound', 404);
  });

  it('If-Match on a missing key is 404 NoSuchKey; without it the delete is 204', T, async () => {
    const Bucket = bucket();
    await expectError(
      s3().send(
        new DeleteObjectCommand({ Bucket, Key: 'never.txt', IfMatch: '"0123456789abcdef0123456789abcdef"' }),
      ),
      'NoSuchKey',
      404,
    );
    await expectError(
      s3().send(new DeleteObjectCommand({ Bucket, Key: 'never.txt', IfMatch: '*' })),
      'NoSuchKey',
      404,
    );
    const out = await s3().send(new DeleteObjectCommand({ Bucket, Key: 'never.txt' }));
    assert.equal(out.$metadata.httpStatusCode, 204);
  });

  it('If-Match: * deletes an object that exists', T, async () => {
    const Bucket = bucket();
    await putText(s3(), Bucket, 'star.txt', 'x');
    await s3().send(new DeleteObjectCommand({ Bucket, Key: 'star.txt', IfMatch: '*' }));
    await expectError(s3().send(new HeadObjectCommand({ Bucket, Key: 'star.txt' })), 'NotFound', 404);
  });

  it('IfMatchSize and IfMatchLastModifiedTime are evaluated too', T, async () => {
    const Bucket = bucket();
    await putText(s3(), Bucket, 'sized.txt', 'five!');
    const head = await s3().send(new HeadObjectCommand({ Bucket, Key: 'sized.txt' }));
    await expectError(
      s3().send(new DeleteObjectCommand({ Bucket, Key: 'sized.txt', IfMatchSize: 6 })),
      'PreconditionFailed',
      412,
    );
    await expectError(
      s3().send(
        new DeleteObjectCommand({
          Bucket,
          Key: 'sized.txt',
          IfMatchLastModifiedTime: new Date(head.LastModified!.getTime() - 86_400_000),
        }),
      ),
      'PreconditionFailed',
      412,
    );
    assert.equal(await text(s3(), Bucket, 'sized.txt'), 'five!');
    await s3().send(
      new DeleteObjectCommand({
        Bucket,
        Key: 'sized.txt',
        IfMatchSize: 5,
        IfMatchLastModifiedTime: head.LastModified,
        IfMatch: head.ETag,
      }),
    );
    await expectError(s3().send(new HeadObjectCommand({ Bucket, Key: 'sized.txt' })), 'NotFound', 404);
  });

  it('DeleteObjects: an entry whose ETag does not hold is an Error, the others are deleted', T, async () => {
    const Bucket = bucket();
    await putText(s3(), Bucket, 'm/stale', 'stale');
    const good = await putText(s3(), Bucket, 'm/good', 'good');
    await putText(s3(), Bucket, 'm/plain', 'plain');
    const Objects: ObjectIdentifier[] = [
      { Key: 'm/stale', ETag: '"00000000000000000000000000000000"' },
      { Key: 'm/good', ETag: good },
      { Key: 'm/plain' },
      { Key: 'm/missing', ETag: '*' },
    ];
    const out = await s3().send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } }));
    assert.deepEqual((out.Deleted ?? []).map((d) => d.Key).sort(), ['m/good', 'm/plain']);
    const errors = new Map((out.Errors ?? []).map((e) => [e.Key, e.Code]));
    assert.deepEqual([...errors.entries()].sort(), [
      ['m/missing', 'NoSuchKey'],
      ['m/stale', 'PreconditionFailed'],
    ]);
    assert.equal(await text(s3(), Bucket, 'm/stale'), 'stale');
    await expectError(s3().send(new HeadObjectCommand({ Bucket, Key: 'm/good' })), 'NotFound', 404);
  });
}

describe('conditional deletes, local backend (AWS SDK v3)', () => {
  let srv: TestServer;
  let s3: S3Client;
  let plain: string;

  before(async () => {
    ({ srv, s3 } = await startWithClient({ advanced: true }));
    plain = await newBucket(s3, 'cond-del');
  });
  after(async () => {
    await srv?.close();
  });

  describe('unversioned bucket', () => {
    ifMatchCases(
      () => s3,
      () => plain,
    );
  });

  describe('versioned bucket', () => {
    let Bucket: string;
    before(async () => {
      Bucket = await newBucket(s3, 'cond-del-v', { versioning: 'Enabled' });
    });

    ifMatchCases(
      () => s3,
      () => Bucket,
    );

    it('the condition is on the current version; a refused delete adds no marker', T, async () => {
      const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: 'doc', Body: 'v1' }));
      const v2 = await s3.send(new PutObjectCommand({ Bucket, Key: 'doc', Body: 'v2' }));
      await expectError(
        s3.send(new DeleteObjectCommand({ Bucket, Key: 'doc', IfMatch: v1.ETag })),
        'PreconditionFailed',
        412,
      );
      let versions = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'doc' }));
      assert.equal(versions.DeleteMarkers, undefined);
      assert.equal(versions.Versions?.length, 2);

      // Deleting v1 by id is conditional on v2, the current version.
      await expectError(
        s3.send(new DeleteObjectCommand({ Bucket, Key: 'doc', VersionId: v1.VersionId, IfMatch: v1.ETag })),
        'PreconditionFailed',
        412,
      );
      const removed = await s3.send(
        new DeleteObjectCommand({ Bucket, Key: 'doc', VersionId: v1.VersionId, IfMatch: v2.ETag }),
      );
      assert.equal(removed.VersionId, v1.VersionId);

      const marker = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'doc', IfMatch: v2.ETag }));
      assert.equal(marker.DeleteMarker, true);
      assert.ok(marker.VersionId);
      // The latest version is a delete marker now: there is no object to match.
      await expectError(
        s3.send(new DeleteObjectCommand({ Bucket, Key: 'doc', IfMatch: '*' })),
        'NoSuchKey',
        404,
      );
      await expectError(
        s3.send(new DeleteObjectCommand({ Bucket, Key: 'doc', IfMatch: v2.ETag })),
        'NoSuchKey',
        404,
      );
      versions = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'doc' }));
      assert.equal(versions.DeleteMarkers?.length, 1);
      assert.deepEqual(
        versions.Versions?.map((v) => v.VersionId),
        [v2.VersionId],
      );
    });
  });
});

describe('conditional deletes, Drime backend (fake Drime API, AWS SDK v3)', () => {
  let drime: InProcessDrime;

  before(async () => {
    drime = await startInProcessDrime('s3local-drime-cond-del-');
  });
  after(async () => {
    await drime?.close();
  });

  ifMatchCases(
    () => drime.s3,
    () => 'default',
  );
});
