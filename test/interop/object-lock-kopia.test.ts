/**
 * A Kopia-shaped flow with the AWS SDK v3 (Kopia talks to S3 through minio-go): blobs written with
 * a retention and Content-MD5 (no flexible checksum), retention extended on every version by
 * PutObjectRetention (Kopia's maintenance "extend retention"), and a point-in-time view rebuilt
 * from ListObjectVersions (Kopia's `--point-in-time`): per key, the newest version or delete
 * marker with LastModified <= T.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type TestServer } from '../helpers/server.js';
import {
  bodyText,
  contentMd5,
  expectError,
  hasIntegrityHeader,
  listAllVersions,
  newBucket,
  pointInTime,
  recordRequestHeaders,
} from '../helpers/versioning.js';

const DAY = 86_400_000;
const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

describe('Kopia-shaped flow: retention, extension, point-in-time listing', () => {
  let srv: TestServer;
  let s3: S3Client;
  let sent: Array<Record<string, string>>;

  before(async () => {
    srv = await startServer({ advanced: true });
    // minio-go sends Content-MD5 and no x-amz-checksum on a plain PutObject.
    s3 = srv.client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    sent = recordRequestHeaders(s3);
  });
  after(async () => srv.close());

  it('writes locked blobs, extends their retention, and restores any past state by version', async () => {
    const Bucket = await newBucket(s3, 'kopia', { create: { ObjectLockEnabledForBucket: true } });
    const retainUntil = wholeSeconds(Date.now() + DAY);
    /** key -> content, as of each checkpoint */
    const written = new Map<string, string>();
    const putBlob = async (Key: string, Body: string) => {
      const mark = sent.length;
      const out = await s3.send(
        new PutObjectCommand({
          Bucket,
          Key,
          Body,
          ContentMD5: contentMd5(Body),
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: retainUntil,
        }),
      );
      const h = sent[mark]!;
      assert.equal(h['content-md5'], contentMd5(Body), 'the PUT carried Content-MD5');
      assert.ok(
        !Object.keys(h).some((k) => k.startsWith('x-amz-checksum-')) && !('x-amz-trailer' in h),
        'and no flexible checksum: Content-MD5 alone satisfies object lock',
      );
      assert.ok(hasIntegrityHeader(h));
      assert.ok(out.VersionId);
      written.set(Key, Body);
    };
    const deleteBlob = async (Key: string) => {
      const out = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
      assert.equal(out.DeleteMarker, true, `deleting ${Key} in a locked bucket adds a delete marker`);
      written.delete(Key);
    };
    const checkpoint = async () => {
      const state = new Map(written);
      // LastModified may be kept in whole seconds: leave the next phase a clear second apart.
      await sleep(1100);
      const t = new Date();
      await sleep(1100);
      return { t, state };
    };

    // Phase 1: a repository format blob, two pack blobs and an index blob.
    await putBlob('kopia.repository', 'format v1');
    await putBlob('p/p0001', 'pack one');
    await putBlob('p/p0002', 'pack two');
    await putBlob('x/x0001', 'index one');
    const c1 = await checkpoint();
    // Phase 2: compaction rewrites the index, removes a pack, adds one.
    await putBlob('x/x0002', 'index two');
    await deleteBlob('x/x0001');
    await deleteBlob('p/p0001');
    await putBlob('p/p0003', 'pack three');
    const c2 = await checkpoint();
    // Phase 3: the format blob is rewritten, a deleted pack name comes back with new bytes.
    await putBlob('kopia.repository', 'format v2');
    await putBlob('p/p0001', 'pack one, rewritten');
    await deleteBlob('p/p0002');
    const c3 = { t: new Date(Date.now() + 60_000), state: new Map(written) };

    // Maintenance: extend the retention of every version (GOVERNANCE, no bypass: extension only).
    const all = await listAllVersions(srv.endpoint, Bucket, { maxKeys: 3 });
    const versions = all.entries.filter((e) => e.kind === 'Version');
    assert.equal(versions.length, 8, 'eight blob versions written');
    assert.equal(all.entries.length - versions.length, 3, 'three delete markers');
    const extended = wholeSeconds(Date.now() + 3 * DAY);
    for (const v of versions) {
      await s3.send(
        new PutObjectRetentionCommand({
          Bucket,
          Key: v.key,
          VersionId: v.versionId,
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: extended },
        }),
      );
    }
    for (const v of versions) {
      const r = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: v.key, VersionId: v.versionId }));
      assert.equal(r.Retention?.Mode, 'GOVERNANCE');
      assert.equal(
        r.Retention?.RetainUntilDate?.getTime(),
        extended.getTime(),
        `${v.key} ${v.versionId} extended`,
      );
    }
    // Still locked: no version can be removed without the bypass.
    const first = versions[0]!;
    await expectError(
      s3.send(new DeleteObjectCommand({ Bucket, Key: first.key, VersionId: first.versionId })),
      'AccessDenied',
      403,
    );

    // Point-in-time: per key, the newest entry at or before T decides; a delete marker hides it.
    const listing = await listAllVersions(srv.endpoint, Bucket, { maxKeys: 2 });
    for (const [name, c] of [
      ['phase 1', c1],
      ['phase 2', c2],
      ['now', c3],
    ] as const) {
      const view = pointInTime(listing.entries, c.t);
      assert.deepEqual([...view.keys()].sort(), [...c.state.keys()].sort(), `${name}: the keys that existed`);
      for (const [Key, VersionId] of view) {
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }));
        assert.equal(await bodyText(got), c.state.get(Key), `${name}: ${Key} as it was`);
      }
    }
    // Before the first write nothing existed.
    assert.equal(pointInTime(listing.entries, new Date(c1.t.getTime() - 3_600_000)).size, 0);
  });
});
