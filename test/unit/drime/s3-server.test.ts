/**
 * The Drime backend behind the real S3 server, driven by the AWS SDK v3, over the fake Drime API
 * (default bucket mode, a root folder, random faults on 3 % of Drime requests).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createS3Server } from '../../../src/server/s3-server.js';
import { DrimeBackend } from '../../../src/storage/drime/backend.js';
import { TEST_CREDENTIALS } from '../../helpers/server.js';
import { bytes, withRig } from './helpers.js';

/** Every test has a deadline. */
const T = { timeout: 60_000 };

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

test('AWS SDK v3 through s3local onto the fake Drime: put, ranged get, list, copy, delete', T, async () => {
  await withRig(async (rig) => {
    const backend = await DrimeBackend.open({
      apiKey: rig.fake.token,
      workspaceId: 0,
      apiUrl: rig.fake.apiUrl,
      advanced: false,
      rootFolder: 'Backups/S3',
      indexPath: join(rig.dir, 'index.sqlite'),
      spoolDir: join(rig.dir, 'spool'),
      simpleUploadMaxBytes: 256 * 1024,
      partSizeBytes: 5 * 1024 * 1024,
      client: { retry: { attempts: 8, baseDelayMs: 1, maxDelayMs: 20 } },
    });
    const server = createS3Server({
      backend,
      auth: { credentials: TEST_CREDENTIALS, region: 'us-east-1', allowSigV2: false },
      settings: { region: 'us-east-1', allowBucketCreation: false },
    });
    const { port } = await server.listen(0, '127.0.0.1');
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      rig.fake.faults.setRandom({ seed: 7, probability: 0.03, retryAfter: '0' });
      const big = bytes(6 * 1024 * 1024 + 17, 4);
      const objects: Record<string, Buffer> = {
        'restic/data/ab/0123abcd': bytes(3000, 1),
        'restic/config': Buffer.from('config'),
        'photos/Summer.JPG': bytes(1000, 2),
        'photos/summer.jpg': bytes(1001, 3),
        'photos/big.bin': big,
      };
      for (const [Key, Body] of Object.entries(objects)) {
        const out = await s3.send(
          new PutObjectCommand({
            Bucket: 'default',
            Key,
            Body,
            ContentType: 'application/x-test',
            Metadata: { who: 'sdk' },
          }),
        );
        assert.equal(out.ETag, `"${md5(Body)}"`, Key);
      }
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'default', Key: 'photos/summer.jpg' }));
      assert.equal(head.ContentLength, 1001);
      assert.equal(head.ContentType, 'application/x-test');
      assert.deepEqual(head.Metadata, { who: 'sdk' });
      const ranged = await s3.send(
        new GetObjectCommand({ Bucket: 'default', Key: 'photos/big.bin', Range: 'bytes=5000000-5000099' }),
      );
      assert.equal(ranged.ContentRange, `bytes 5000000-5000099/${big.length}`);
      assert.ok(
        Buffer.from(await ranged.Body!.transformToByteArray()).equals(big.subarray(5_000_000, 5_000_100)),
      );
      const top = await s3.send(new ListObjectsV2Command({ Bucket: 'default', Delimiter: '/' }));
      assert.deepEqual(
        top.CommonPrefixes?.map((p) => p.Prefix),
        ['photos/', 'restic/'],
      );
      const photos = await s3.send(
        new ListObjectsV2Command({ Bucket: 'default', Prefix: 'photos/', MaxKeys: 2 }),
      );
      assert.deepEqual(
        photos.Contents?.map((c) => c.Key),
        ['photos/Summer.JPG', 'photos/big.bin'],
      );
      assert.equal(photos.IsTruncated, true);
      const rest = await s3.send(
        new ListObjectsV2Command({
          Bucket: 'default',
          Prefix: 'photos/',
          ContinuationToken: photos.NextContinuationToken,
        }),
      );
      assert.deepEqual(
        rest.Contents?.map((c) => c.Key),
        ['photos/summer.jpg'],
      );
      await s3.send(
        new CopyObjectCommand({
          Bucket: 'default',
          Key: 'restic/config.bak',
          CopySource: 'default/restic/config',
        }),
      );
      const copy = await s3.send(new GetObjectCommand({ Bucket: 'default', Key: 'restic/config.bak' }));
      assert.equal(await copy.Body!.transformToString(), 'config');
      await s3.send(new DeleteObjectCommand({ Bucket: 'default', Key: 'restic/config' }));
      await s3.send(new DeleteObjectCommand({ Bucket: 'default', Key: 'restic/config' }));
      // Everything is where it belongs in Drime, under the root folder.
      rig.fake.faults.clear();
      const root = rig.fake.state.children(null, 0).find((e) => e.name === 'Backups')!;
      const s3root = rig.fake.state.children(root.id, 0).find((e) => e.name === 'S3')!;
      const files = rig.fake.state.files(0, s3root.id);
      for (const key of [
        'restic/data/ab/0123abcd',
        'photos/Summer.JPG',
        'photos/big.bin',
        'restic/config.bak',
      ]) {
        const stored = [...files.entries()].find(
          ([k]) => k.endsWith(key.split('/').pop()!) && k.startsWith(key.split('/')[0]!),
        );
        assert.ok(stored, key);
      }
      assert.ok(rig.fake.state.blobOf(files.get('photos/big.bin')!)!.equals(big));
      assert.ok(!files.has('restic/config'));
    } finally {
      s3.destroy();
      await server.close(2000);
      await backend.close();
    }
  });
});
