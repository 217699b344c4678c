/**
 * Compatibility matrix, restic (minio-go inside; over plain HTTP it sends signed aws-chunked
 * bodies): init, two backups, check --read-data, snapshots, restore with a byte compare,
 * forget --prune, and unlock of a stale lock, against a real `s3local serve` in both bucket modes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertOk as ok, clientEnv, clientTestOptions, runClient } from '../../helpers/clients.js';
import { ALL_SPECS, DOC_TARGET, clientVersion, describeMatrix, listAll, matrixSuite } from './harness.js';
import type { BucketMode, Target } from './harness.js';
import { sortedEntries, treeHashes, writeRandomFile, writeTree } from './trees.js';

/** Default mode: a prefix of the one bucket; advanced mode: restic creates its own bucket. */
function repoUrl(t: Target, mode: BucketMode): string {
  return mode === 'advanced' ? `s3:${t.endpoint}/restic-repo` : `s3:${t.endpoint}/default/restic-repo`;
}

function resticEnv(t: Target, mode: BucketMode, cacheDir: string): Record<string, string> {
  return {
    RESTIC_REPOSITORY: repoUrl(t, mode),
    RESTIC_PASSWORD: 'matrix repository password',
    AWS_ACCESS_KEY_ID: t.accessKeyId,
    AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
    RESTIC_CACHE_DIR: cacheDir,
  };
}

const settings = (mode: BucketMode) =>
  Object.entries(resticEnv(DOC_TARGET, mode, '<cache dir>'))
    .filter(([k]) => k !== 'RESTIC_CACHE_DIR')
    .map(([k, v]) => `${k}=${k === 'RESTIC_PASSWORD' ? '<repository password>' : v}`)
    .join('\n');

const opts = clientTestOptions('restic');
const suite = matrixSuite('restic', opts, () => clientVersion('restic', ['version']));

interface Snapshot {
  short_id: string;
  id: string;
}

for (const { bucketMode, backend } of ALL_SPECS) {
  describeMatrix(suite, { bucketMode, backend }, { title: 'restic', homeTag: 'restic' }, (m) => {
    let src: string;
    let firstTree: Map<string, string>;
    let firstSnapshot: string;
    const bucket = bucketMode === 'advanced' ? 'restic-repo' : 'default';
    const prefix = bucketMode === 'advanced' ? '' : 'restic-repo/';
    const env = () => clientEnv(resticEnv(m.srv, bucketMode, join(m.home, 'cache')));
    const restic = (...args: string[]) => runClient('restic', args, env(), 300_000);
    const repoKeys = async () =>
      [...(await listAll(m.srv.sdk(), bucket, prefix)).keys()].map((k) => k.slice(prefix.length));
    const snapshots = async (): Promise<Snapshot[]> => {
      const r = await restic('snapshots', '--json');
      ok(r, 'restic snapshots');
      return JSON.parse(r.out) as Snapshot[];
    };
    const cell = (workflow: string) => m.cell(workflow, settings(bucketMode));

    m.setup(async () => {
      src = join(m.home, 'src');
      await writeTree(src, {
        'docs/readme.txt': 'restic matrix\n',
        'docs/ünïcødé name.txt': 'unicode\n',
        'empty.bin': '',
        'nested/a/b/c.txt': 'nested\n',
      });
      await writeRandomFile(join(src, 'big.bin'), 24 * 1024 * 1024);
      await writeRandomFile(join(src, 'medium.bin'), 3 * 1024 * 1024 + 17);
    });

    suite.workflow(cell('init'), async () => {
      ok(await restic('init'), 'restic init');
      const keys = await repoKeys();
      assert.ok(keys.includes('config'), `config object written: ${keys.join(', ')}`);
      assert.equal(keys.filter((k) => k.startsWith('keys/')).length, 1, 'one key file');
      // A second init must see the existing config and refuse.
      const again = await restic('init');
      assert.notEqual(again.code, 0);
      assert.match(again.err, /already (exists|initialized)/);
    });

    suite.workflow(cell('two backups'), async () => {
      const first = await restic('backup', '--json', src);
      ok(first, 'restic backup #1');
      const s1 = JSON.parse(first.out.trim().split('\n').pop()!) as {
        message_type: string;
        files_new: number;
        snapshot_id: string;
      };
      assert.equal(s1.message_type, 'summary');
      assert.equal(s1.files_new, 6);
      firstSnapshot = s1.snapshot_id;
      firstTree = await treeHashes(src);
      await writeFile(join(src, 'docs', 'readme.txt'), 'restic matrix, second version\n');
      await writeFile(join(src, 'new file.txt'), 'added before the second backup\n');
      await unlink(join(src, 'nested', 'a', 'b', 'c.txt'));
      const second = await restic('backup', '--json', src);
      ok(second, 'restic backup #2');
      const s2 = JSON.parse(second.out.trim().split('\n').pop()!) as {
        files_new: number;
        files_changed: number;
        files_unmodified: number;
      };
      assert.equal(s2.files_new, 1);
      assert.equal(s2.files_changed, 1);
      assert.equal(s2.files_unmodified, 4);
      const keys = await repoKeys();
      assert.equal(keys.filter((k) => k.startsWith('snapshots/')).length, 2);
      assert.ok(keys.filter((k) => k.startsWith('data/')).length >= 2, 'pack files stored');
      assert.equal(keys.filter((k) => k.startsWith('locks/')).length, 0, 'locks released');
    });

    suite.workflow(cell('check --read-data'), async () => {
      const r = await restic('check', '--read-data');
      ok(r, 'restic check --read-data');
      assert.match(r.out, /no errors were found/);
    });

    suite.workflow(cell('snapshots'), async () => {
      const snaps = await snapshots();
      assert.equal(snaps.length, 2);
      assert.ok(
        snaps.some((s) => s.id.startsWith(firstSnapshot)),
        `${firstSnapshot} listed`,
      );
    });

    suite.workflow(cell('restore and byte-compare'), async () => {
      const latest = join(m.home, 'restore-latest');
      ok(await restic('restore', 'latest', '--target', latest), 'restic restore latest');
      assert.deepEqual(
        sortedEntries(await treeHashes(join(latest, src))),
        sortedEntries(await treeHashes(src)),
      );
      const first = join(m.home, 'restore-first');
      ok(await restic('restore', firstSnapshot, '--target', first), 'restic restore first');
      assert.deepEqual(sortedEntries(await treeHashes(join(first, src))), sortedEntries(firstTree));
    });

    suite.workflow(cell('forget --prune'), async () => {
      const packsBefore = (await repoKeys()).filter((k) => k.startsWith('data/')).length;
      const r = await restic('forget', '--keep-last', '1', '--prune');
      ok(r, 'restic forget --prune');
      const snaps = await snapshots();
      assert.equal(snaps.length, 1);
      assert.ok(!snaps[0]!.id.startsWith(firstSnapshot), 'the older snapshot is forgotten');
      const keys = await repoKeys();
      assert.equal(keys.filter((k) => k.startsWith('snapshots/')).length, 1);
      assert.ok(keys.filter((k) => k.startsWith('data/')).length <= packsBefore + 1, 'prune repacked');
      const check = await restic('check', '--read-data');
      ok(check, 'restic check after prune');
      assert.match(check.out, /no errors were found/);
      const latest = join(m.home, 'restore-after-prune');
      ok(await restic('restore', 'latest', '--target', latest), 'restic restore after prune');
      assert.deepEqual(
        sortedEntries(await treeHashes(join(latest, src))),
        sortedEntries(await treeHashes(src)),
      );
    });

    suite.workflow(cell('unlock a stale lock'), async () => {
      // A backup reading stdin holds its lock until stdin closes; killing it leaves a stale lock
      // (same host, dead PID), which `restic unlock` must find and remove.
      const child = spawn('restic', ['backup', '--stdin', '--stdin-filename', 'stream.bin'], {
        env: env(),
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.stdin.write('some bytes');
      const locks = async () => (await repoKeys()).filter((k) => k.startsWith('locks/'));
      const deadline = Date.now() + 30_000;
      while ((await locks()).length === 0) {
        assert.ok(Date.now() < deadline, 'restic took a lock within 30 s');
        await sleep(200);
      }
      const exited = new Promise((resolve) => child.on('close', resolve));
      child.kill('SIGKILL');
      await exited;
      assert.equal((await locks()).length, 1, 'the killed backup left its lock');
      const r = await restic('unlock');
      ok(r, 'restic unlock');
      assert.deepEqual(await locks(), []);
      assert.equal((await snapshots()).length, 1, 'the killed backup made no snapshot');
    });
  });
}
