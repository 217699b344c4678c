/**
 * Versions, delete markers, null versions, bucket versioning states, object lock configurations,
 * retentions and legal holds survive a server restart over the same data directory, and survive
 * `s3local cache rebuild` (every index row dropped, then rebuilt from what is on disk): the issue
 * requires the lock state to be persisted, not only held in the index.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { LocalBackend } from '../../src/index.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';
import { caught, expectError, listAllVersions, newBucket, setVersioning } from '../helpers/versioning.js';

const DAY = 86_400_000;
const wholeSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

interface Buckets {
  locked: string;
  versioned: string;
  plain: string;
}

/** Everything a client can observe about the three buckets, in a deepEqual-friendly shape. */
async function snapshot(srv: TestServer, s3: S3Client, b: Buckets): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const Bucket of [b.locked, b.versioned, b.plain]) {
    const versioning = (await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status ?? 'unset';
    const lock = await s3.send(new GetObjectLockConfigurationCommand({ Bucket })).then(
      (r) => r.ObjectLockConfiguration,
      (e: { name?: string }) => e.name,
    );
    const { entries } = await listAllVersions(srv.endpoint, Bucket);
    const described = [];
    for (const e of entries) {
      const base = {
        kind: e.kind,
        key: e.key,
        versionId: e.versionId,
        isLatest: e.isLatest,
        // LastModified drives point-in-time restores: it must survive (to the second).
        lastModified: Math.floor(e.lastModified.getTime() / 1000),
      };
      if (e.kind === 'DeleteMarker') {
        const err = await caught(
          s3.send(new HeadObjectCommand({ Bucket, Key: e.key, VersionId: e.versionId })),
        );
        described.push({ ...base, head: err.status, marker: err.headers['x-amz-delete-marker'] });
        continue;
      }
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: e.key, VersionId: e.versionId }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      described.push({
        ...base,
        etag: e.etag,
        size: e.size,
        md5: createHash('md5').update(bytes).digest('hex'),
        mode: got.ObjectLockMode,
        retainUntil: got.ObjectLockRetainUntilDate?.getTime(),
        legalHold: got.ObjectLockLegalHoldStatus === 'ON' ? 'ON' : 'OFF',
      });
    }
    const current = await s3.send(new ListObjectsV2Command({ Bucket }));
    out[Bucket] = {
      versioning,
      lock,
      versions: described,
      current: (current.Contents ?? []).map((o) => [o.Key, o.ETag, o.Size]),
    };
  }
  return out;
}

/** Builds a store with every kind of version state in it. */
async function populate(s3: S3Client): Promise<Buckets & { lockedVersion: string; heldVersion: string }> {
  const locked = await newBucket(s3, 'plocked', { create: { ObjectLockEnabledForBucket: true } });
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: locked,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
      },
    }),
  );
  const put = async (Bucket: string, Key: string, Body: string, extra: Record<string, unknown> = {}) =>
    (await s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }))).VersionId;
  const a1 = (await put(locked, 'a', 'a one'))!; // default GOVERNANCE retention
  const a2 = (await put(locked, 'a', 'a two', {
    ObjectLockMode: 'COMPLIANCE',
    ObjectLockRetainUntilDate: wholeSeconds(Date.now() + 2 * DAY),
  }))!;
  await s3.send(
    new PutObjectLegalHoldCommand({ Bucket: locked, Key: 'a', VersionId: a1, LegalHold: { Status: 'ON' } }),
  );
  await s3.send(new DeleteObjectCommand({ Bucket: locked, Key: 'a' })); // delete marker over locked versions
  const c1 = (await put(locked, 'dir/c', 'c one', { ObjectLockLegalHoldStatus: 'ON' }))!;
  await s3.send(
    new PutObjectRetentionCommand({
      Bucket: locked,
      Key: 'dir/c',
      VersionId: c1,
      Retention: { Mode: 'GOVERNANCE', RetainUntilDate: wholeSeconds(Date.now() + 5 * DAY) },
    }),
  );
  const versioned = await newBucket(s3, 'pversioned');
  await put(versioned, 'x', 'x before versioning'); // the null version
  await setVersioning(s3, versioned, 'Enabled');
  await put(versioned, 'x', 'x one');
  await put(versioned, 'x', 'x two');
  await s3.send(new DeleteObjectCommand({ Bucket: versioned, Key: 'x' }));
  await put(versioned, 'y', 'y one');
  await put(versioned, 'z', 'z one');
  await setVersioning(s3, versioned, 'Suspended');
  await put(versioned, 'y', 'y null while suspended');
  await s3.send(new DeleteObjectCommand({ Bucket: versioned, Key: 'z' })); // a null delete marker
  const plain = await newBucket(s3, 'pplain');
  await put(plain, 'p', 'plain object');
  return { locked, versioned, plain, lockedVersion: a2, heldVersion: c1 };
}

describe('versions and object lock survive restarts and cache rebuild', () => {
  it(
    'restart over the same data dir, then dropIndexRows + rebuildIndex on the closed store',
    { timeout: 120_000 },
    async () => {
      const dataDir = await tempDir('s3local-lock-persist-');
      let srv: TestServer | undefined;
      try {
        srv = await startServer({ advanced: true, dataDir });
        let s3 = srv.client();
        const b = await populate(s3);
        const before = await snapshot(srv, s3, b);
        await srv.close();
        srv = undefined;

        srv = await startServer({ advanced: true, dataDir });
        s3 = srv.client();
        assert.deepEqual(await snapshot(srv, s3, b), before, 'identical after a restart');
        await expectError(
          s3.send(new DeleteObjectCommand({ Bucket: b.locked, Key: 'a', VersionId: b.lockedVersion })),
          'AccessDenied',
          403,
        );
        await srv.close();
        srv = undefined;

        // `s3local cache rebuild` on a store no server holds: drop every index row, rebuild.
        const backend = await LocalBackend.open({ path: dataDir });
        try {
          assert.ok(backend.dropIndexRows() > 0, 'rows were dropped');
          await backend.rebuildIndex();
        } finally {
          await backend.close();
        }

        srv = await startServer({ advanced: true, dataDir });
        s3 = srv.client();
        assert.deepEqual(await snapshot(srv, s3, b), before, 'identical after cache rebuild');
        // The locks still hold, the legal hold too, even with the governance bypass.
        for (const [Key, VersionId] of [
          ['a', b.lockedVersion],
          ['dir/c', b.heldVersion],
        ] as const) {
          await expectError(
            s3.send(
              new DeleteObjectCommand({ Bucket: b.locked, Key, VersionId, BypassGovernanceRetention: true }),
            ),
            'AccessDenied',
            403,
          );
        }
        await expectError(s3.send(new GetObjectCommand({ Bucket: b.versioned, Key: 'x' })), 'NoSuchKey', 404);
      } finally {
        await srv?.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  );
});
