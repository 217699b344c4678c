/**
 * Issue 7, end to end: the compatibility matrix once saw a key still listed after `rclone purge`
 * on the Drime backend. rclone's sync had self-copied that key (CopyObject, metadata REPLACE) a
 * few seconds before; the superseded entry waits 30 s for its deferred deletion, and the purge's
 * DeleteObject, served by a listing cached before the copy, deleted only the newest entry. The old
 * one stayed on Drime and came back as the key once the listing cache (10 s) was refreshed.
 * Here the real `s3local serve --backend drime` process and real rclone replay those steps, and
 * the fake's state and a listing after the cache's lifetime must both be empty.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { assertOk as ok, clientTestOptions } from '../helpers/clients.js';
import { rcloneRunner, writeRcloneConfig } from '../helpers/rclone.js';
import { startDrimeServe, type DrimeServe } from './drime-helpers.js';

const ROOT = 's3local/purge';
/** How long s3local keeps a folder listing (DrimeBackendOptions.listingCacheTtlMs's default). */
const LISTING_TTL_MS = 10_000;

describe('rclone sync then purge through s3local serve --backend drime (fake Drime API)', () => {
  let drime: DrimeServe;

  before(async () => {
    // Same-name uploads create a second entry (the Drime behaviour the matrix runs against).
    drime = await startDrimeServe({
      fake: { sameName: 'duplicate' },
      homePrefix: 's3local-drime-purge-',
      rootFolder: ROOT,
    });
  });
  after(async () => drime?.close());

  it(
    'a key self-copied by sync and then purged is gone from Drime and stays unlisted',
    { ...clientTestOptions('rclone'), timeout: 180_000 },
    async () => {
      const { fake, home, serve, s3 } = drime;
      const conf = join(home, 'rclone.conf');
      await writeRcloneConfig(conf, { endpoint: serve.endpoint });
      const rclone = rcloneRunner(
        conf,
        ['--retries', '1', '--low-level-retries', '1', '--transfers', '8'],
        120_000,
      );
      const src = join(home, 'src');
      for (let d = 0; d < 5; d++) {
        await mkdir(join(src, 'many', `d${d}`), { recursive: true });
        for (let f = 0; f < 20; f++)
          await writeFile(join(src, 'many', `d${d}`, `f${f}.txt`), `small ${d}/${f}\n`);
      }
      await writeFile(join(src, 'keep.txt'), 'outside the purged directory\n');
      const remote = 'srv:default/v1';
      ok(await rclone('copy', src, remote), 'rclone copy');
      // A newer mtime, same bytes: rclone sync updates it with a self-copy (metadata REPLACE).
      const later = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
      await utimes(join(src, 'many', 'd3', 'f7.txt'), later, later);
      ok(await rclone('sync', src, remote), 'rclone sync');
      ok(await rclone('purge', `${remote}/many`), 'rclone purge');

      const liveFiles = () =>
        [...fake.state.entries.values()]
          .filter((e) => e.type !== 'folder' && e.deletedAt === null)
          .map((e) => e.name)
          .sort();
      const listed = async () =>
        ((await s3.send(new ListObjectsV2Command({ Bucket: 'default', Prefix: 'v1/' }))).Contents ?? [])
          .map((o) => o.Key)
          .sort();
      assert.deepEqual(liveFiles(), ['keep.txt'], 'every DELETE that answered left nothing on Drime');
      assert.deepEqual(await listed(), ['v1/keep.txt']);
      // Past the listing cache's lifetime the folders are read from Drime again.
      await sleep(LISTING_TTL_MS + 500);
      assert.deepEqual(await listed(), ['v1/keep.txt'], 'no purged key comes back');
    },
  );
});
