/**
 * Real tools against versioned buckets on an in-process server (clients run as child processes
 * through runClient, so the server's event loop stays free): rclone `backend versioning`,
 * `--s3-versions` and `--s3-version-at`; restic backups into a versioned bucket, then
 * `forget --prune`, which must leave delete markers while every removed object's data stays
 * restorable by version.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CopyObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { clientEnv, clientTestOptions, runClient, type ClientRun } from '../helpers/clients.js';
import { startServer, tempDir, TEST_CREDENTIALS, type TestServer } from '../helpers/server.js';
import { rcloneRunner, writeRcloneConfig } from '../helpers/rclone.js';
import { listAllVersions, newBucket } from '../helpers/versioning.js';
import { listAll } from './matrix/harness.js';
import { sortedEntries, treeHashes, writeRandomFile, writeTree } from './matrix/trees.js';

const ok = (r: ClientRun, what: string) => assert.equal(r.code, 0, `${what}:\n${r.err}\n${r.out}`);

/** rclone's name for an old version: `name-vYYYY-MM-DD-HHMMSS-sss.ext`, from its LastModified (UTC). */
function rcloneVersionName(path: string, lastModified: Date): string {
  const iso = lastModified.toISOString(); // 2024-05-06T07:08:09.123Z
  const stamp = `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${iso.slice(20, 23)}`;
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}-v${stamp}${path.slice(dot)}` : `${path}-v${stamp}`;
}

/** `rclone ls` output -> path -> size. */
function parseLs(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    const match = /^\s*(\d+) (.+)$/.exec(line);
    if (match) m.set(match[2]!, Number(match[1]));
  }
  return m;
}

describe('rclone with versioned buckets', () => {
  const opts = clientTestOptions('rclone');
  let srv: TestServer;
  let s3: S3Client;
  let home: string;
  let conf: string;
  // `conf` is set in before(): build the runner at call time.
  const rclone = (...args: string[]) =>
    rcloneRunner(conf, ['--retries', '1', '--low-level-retries', '1'])(...args);

  before(async () => {
    if (opts.skip) return;
    srv = await startServer({ advanced: true });
    s3 = srv.client();
    home = await tempDir('s3local-versioning-rclone-');
    conf = join(home, 'rclone.conf');
    await writeRcloneConfig(conf, { endpoint: srv.endpoint });
  });
  after(async () => {
    if (opts.skip) return;
    await srv.close();
    await rm(home, { recursive: true, force: true });
  });

  it('`rclone backend versioning` reads and sets the bucket versioning status', opts, async () => {
    const bucket = await newBucket(s3, 'rcver');
    const status = async () => {
      const r = await rclone('backend', 'versioning', `srv:${bucket}`);
      ok(r, 'rclone backend versioning');
      return r.out.trim();
    };
    // rclone prints the Status of GetBucketVersioning, or "Unversioned" when there is none.
    assert.match(await status(), /^Unversioned$/);
    const en = await rclone('backend', 'versioning', `srv:${bucket}`, 'Enabled');
    ok(en, 'rclone backend versioning Enabled');
    assert.match(en.out.trim(), /^Enabled$/);
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Enabled');
    assert.match(await status(), /^Enabled$/);
    const sus = await rclone('backend', 'versioning', `srv:${bucket}`, 'Suspended');
    ok(sus, 'rclone backend versioning Suspended');
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status, 'Suspended');
    assert.match(await status(), /^Suspended$/);
  });

  it('`rclone ls --s3-versions` lists old versions as name-vYYYY-MM-DD-HHMMSS-sss.ext', opts, async () => {
    const bucket = await newBucket(s3, 'rcls', { versioning: 'Enabled' });
    const local = join(home, 'ls');
    await mkdir(local, { recursive: true });
    const file = join(local, 'file.txt');
    const contents = ['first version\n', 'second version, longer\n', 'third\n'];
    for (const c of contents) {
      await writeFile(file, c);
      ok(await rclone('copyto', file, `srv:${bucket}/dir/file.txt`), 'rclone copyto');
      // rclone finds an old version by the time in its name: keep the versions' times apart even
      // where LastModified has whole seconds.
      await sleep(1100);
    }
    const { entries } = await listAllVersions(srv.endpoint, bucket);
    assert.equal(entries.length, 3, 'three versions on the server');
    const [, older, oldest] = entries;
    const plain = await rclone('ls', `srv:${bucket}`);
    ok(plain, 'rclone ls');
    assert.deepEqual([...parseLs(plain.out)], [['dir/file.txt', contents[2]!.length]]);
    const versioned = await rclone('ls', '--s3-versions', `srv:${bucket}`);
    ok(versioned, 'rclone ls --s3-versions');
    const names = parseLs(versioned.out);
    const n1 = rcloneVersionName('dir/file.txt', older!.lastModified);
    const n0 = rcloneVersionName('dir/file.txt', oldest!.lastModified);
    assert.deepEqual(
      sortedEntries(names),
      sortedEntries(
        new Map([
          ['dir/file.txt', contents[2]!.length],
          [n1, contents[1]!.length],
          [n0, contents[0]!.length],
        ]),
      ),
      versioned.out,
    );
    assert.match(n0, /^dir\/file-v\d{4}-\d{2}-\d{2}-\d{6}-\d{3}\.txt$/);
    // Old versions download like files. (rclone 1.60 does not resolve a versioned name given as
    // the remote path itself below a directory, so the directory is copied and filtered.)
    const cat = await rclone(
      'cat',
      '--s3-versions',
      `srv:${bucket}/dir`,
      '--include',
      n0.slice('dir/'.length),
    );
    ok(cat, 'rclone cat of an old version');
    assert.equal(cat.out, contents[0]);
    const down = join(home, 'ls-down');
    ok(await rclone('copy', '--s3-versions', `srv:${bucket}/dir`, down), 'rclone copy --s3-versions');
    const got = await treeHashes(down);
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    assert.deepEqual(
      sortedEntries(got),
      sortedEntries(
        new Map([
          ['file.txt', md5(contents[2]!)],
          [n1.slice('dir/'.length), md5(contents[1]!)],
          [n0.slice('dir/'.length), md5(contents[0]!)],
        ]),
      ),
    );
    // After a delete (a delete marker), the plain listing is empty and the versions remain.
    ok(await rclone('delete', `srv:${bucket}/dir`), 'rclone delete');
    const afterDelete = await rclone('ls', `srv:${bucket}`);
    ok(afterDelete, 'rclone ls after delete');
    assert.equal(afterDelete.out.trim(), '');
    const stillThere = parseLs((await rclone('ls', '--s3-versions', `srv:${bucket}`)).out);
    assert.ok(
      stillThere.has(n0) && stillThere.has(n1),
      `old versions still listed: ${[...stillThere.keys()].join(', ')}`,
    );
  });

  it('`rclone copy --s3-version-at` restores the tree as it was', opts, async () => {
    const bucket = await newBucket(s3, 'rcat', { versioning: 'Enabled' });
    const src = join(home, 'at-src');
    await writeTree(src, {
      'a.txt': 'A as it was\n',
      'b.txt': 'B, deleted later\n',
      'sub/c.txt': 'C stays\n',
    });
    ok(await rclone('sync', src, `srv:${bucket}`), 'rclone sync #1');
    const then = await treeHashes(src);
    await sleep(1100);
    const at = new Date();
    await sleep(1100);
    await writeFile(join(src, 'a.txt'), 'A changed afterwards, longer\n');
    await unlink(join(src, 'b.txt'));
    await writeFile(join(src, 'd.txt'), 'D added afterwards\n');
    ok(await rclone('sync', src, `srv:${bucket}`), 'rclone sync #2');
    const now = await treeHashes(src);
    const restoreNow = join(home, 'at-now');
    ok(await rclone('copy', `srv:${bucket}`, restoreNow), 'rclone copy (current)');
    assert.deepEqual(sortedEntries(await treeHashes(restoreNow)), sortedEntries(now));
    const restoreThen = join(home, 'at-then');
    ok(
      await rclone('copy', '--s3-version-at', at.toISOString(), `srv:${bucket}`, restoreThen),
      'rclone copy --s3-version-at',
    );
    assert.deepEqual(sortedEntries(await treeHashes(restoreThen)), sortedEntries(then));
  });
});

describe('restic into a versioned bucket', () => {
  const opts = clientTestOptions('restic');
  let srv: TestServer;
  let s3: S3Client;
  let home: string;
  let bucket: string;
  const env = () =>
    clientEnv({
      RESTIC_REPOSITORY: `s3:${srv.endpoint}/${bucket}`,
      RESTIC_PASSWORD: 'versioning test repository password',
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      RESTIC_CACHE_DIR: join(home, 'cache'),
    });
  const restic = (...args: string[]) => runClient('restic', args, env(), 300_000);

  before(async () => {
    if (opts.skip) return;
    srv = await startServer({ advanced: true });
    s3 = srv.client();
    home = await tempDir('s3local-versioning-restic-');
  });
  after(async () => {
    if (opts.skip) return;
    await srv.close();
    await rm(home, { recursive: true, force: true });
  });

  it(
    'forget --prune leaves delete markers; the removed objects stay restorable by version',
    opts,
    async () => {
      bucket = await newBucket(s3, 'restic', { versioning: 'Enabled' });
      const src = join(home, 'src');
      await writeTree(src, { 'docs/readme.txt': 'first backup\n', 'gone.txt': 'only in the first backup\n' });
      await writeRandomFile(join(src, 'data', 'one.bin'), 700 * 1024);
      await writeRandomFile(join(src, 'data', 'changed.bin'), 600 * 1024);
      ok(await restic('init'), 'restic init');
      const first = await restic('backup', '--json', src);
      ok(first, 'restic backup #1');
      const firstId = (JSON.parse(first.out.trim().split('\n').pop()!) as { snapshot_id: string })
        .snapshot_id;
      const firstTree = await treeHashes(src);
      await writeFile(join(src, 'docs', 'readme.txt'), 'second backup\n');
      await unlink(join(src, 'gone.txt'));
      await writeRandomFile(join(src, 'data', 'changed.bin'), 600 * 1024);
      ok(await restic('backup', src), 'restic backup #2');

      const before = await listAll(s3, bucket);
      ok(await restic('forget', '--keep-last', '1', '--prune'), 'restic forget --prune');
      const after = await listAll(s3, bucket);
      const removed = [...before.keys()].filter((k) => !after.has(k) && !k.startsWith('locks/'));
      assert.ok(
        removed.some((k) => k.startsWith('snapshots/')),
        `the forgotten snapshot was deleted: ${removed.join(', ')}`,
      );
      assert.ok(
        removed.some((k) => k.startsWith('index/')),
        `prune rewrote the index: ${removed.join(', ')}`,
      );

      // Every removed object: a delete marker on top, its last data version underneath, intact.
      for (const key of removed) {
        const { entries } = await listAllVersions(srv.endpoint, bucket, { prefix: key });
        const mine = entries.filter((e) => e.key === key);
        assert.equal(mine[0]?.kind, 'DeleteMarker', `${key}: a delete marker is the latest`);
        assert.equal(mine[0]?.isLatest, true);
        const data = mine.find((e) => e.kind === 'Version');
        assert.ok(data, `${key}: the data version is kept`);
        assert.equal(data.etag, before.get(key)!.etag, `${key}: the same version as before the prune`);
        const got = await s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: data.versionId }),
        );
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        assert.equal(bytes.length, before.get(key)!.size);
        if (!data.etag.includes('-')) {
          assert.equal(
            `"${createHash('md5').update(bytes).digest('hex')}"`,
            data.etag,
            `${key}: bytes intact`,
          );
        }
      }
      const snapsAfterPrune = JSON.parse((await restic('snapshots', '--json')).out) as unknown[];
      assert.equal(snapsAfterPrune.length, 1);

      // Undo the prune by copying each removed object's old version back over its key.
      for (const key of removed) {
        const { entries } = await listAllVersions(srv.endpoint, bucket, { prefix: key });
        const data = entries.find((e) => e.key === key && e.kind === 'Version')!;
        const out = await s3.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: key,
            CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}?versionId=${encodeURIComponent(data.versionId)}`,
          }),
        );
        assert.equal(out.CopySourceVersionId, data.versionId);
      }
      const snaps = await restic('--no-cache', 'snapshots', '--json');
      ok(snaps, 'restic snapshots after the undo');
      const ids = (JSON.parse(snaps.out) as { id: string }[]).map((s) => s.id);
      assert.equal(ids.length, 2, 'the forgotten snapshot is back');
      assert.ok(
        ids.some((id) => id.startsWith(firstId)),
        `${firstId} listed again`,
      );
      const target = join(home, 'restore-first');
      ok(
        await restic('--no-cache', 'restore', firstId, '--target', target),
        'restic restore of the pruned snapshot',
      );
      assert.deepEqual(sortedEntries(await treeHashes(join(target, src))), sortedEntries(firstTree));
    },
  );
});
