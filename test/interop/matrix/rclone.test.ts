/**
 * Compatibility matrix, rclone: the real workflow of a user syncing a tree, against a real
 * `s3local serve` process with auth on, in both bucket modes, with three rclone profiles:
 * provider Other (ListObjects V1, SigV4), `list_version = 2`, and `v2_auth = true` (SigV2).
 * Results are checked through a second client (the AWS SDK) and the server's request log, not
 * just rclone's exit codes.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateMultipartUploadCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { assertOk as ok, clientEnv, clientTestOptions, runClient } from '../../helpers/clients.js';
import { rcloneConfig } from '../../helpers/rclone.js';
import { ALL_SPECS, DOC_TARGET, clientVersion, describeMatrix, listAll, matrixSuite } from './harness.js';
import type { Target } from './harness.js';
import { md5, sortedEntries, treeHashes, writeRandomFile, writeTree } from './trees.js';

interface Profile {
  id: string;
  label: string;
  lines: string[];
  /** The listing operation rclone must use with this profile. */
  listOp: 'ListObjects' | 'ListObjectsV2';
}

const PROFILES: Profile[] = [
  { id: 'v1', label: 'provider Other (ListObjects V1)', lines: [], listOp: 'ListObjects' },
  { id: 'v2', label: 'list_version = 2', lines: ['list_version = 2'], listOp: 'ListObjectsV2' },
  { id: 'sigv2', label: 'v2_auth = true', lines: ['v2_auth = true'], listOp: 'ListObjects' },
];

/** Flags on every rclone command: no retries, so that a server error is never papered over. */
const FLAGS = ['--retries', '1', '--low-level-retries', '1', '--transfers', '8'];

function rcloneConf(t: Target, p: Profile): string {
  return rcloneConfig({
    endpoint: t.endpoint,
    credentials: t,
    // 60 MiB goes through multipart in 12 parts of 5 MiB.
    extra: ['upload_cutoff = 5M', 'chunk_size = 5M', ...p.lines],
  });
}

const docSettings = (p: Profile) =>
  `# rclone.conf\n${rcloneConf(DOC_TARGET, p)}# flags on every command: ${FLAGS.join(' ')}`;

const BIG = 60 * 1024 * 1024;
const MANY_DIRS = 20;
const PER_DIR = 100;
const SPECIAL: Record<string, string> = {
  'empty.bin': '',
  'nested/a/b/c/deep.txt': 'deep file\n',
  'ünïcødé/日本語/ファイル.txt': 'unicode names\n',
  'with spaces/file with spaces & plus+.txt': 'spaces and plus\n',
  "odd/semi;colon=equals,comma'quote(paren)[bracket] #hash ?question %41.txt": 'odd characters\n',
};

async function makeTree(root: string): Promise<void> {
  const files: Record<string, string> = { ...SPECIAL };
  for (let d = 0; d < MANY_DIRS; d++) {
    for (let f = 0; f < PER_DIR; f++) files[`many/d${d}/f${f}.txt`] = `small file ${d}/${f}\n`;
  }
  await writeTree(root, files);
  await writeRandomFile(join(root, 'big', 'sixty.bin'), BIG);
}

const opts = clientTestOptions('rclone');
const suite = matrixSuite('rclone', opts, () => clientVersion('rclone', ['version']));

for (const { bucketMode, backend } of ALL_SPECS) {
  describeMatrix(suite, { bucketMode, backend }, { title: 'rclone', homeTag: 'rclone' }, (m) => {
    for (const p of PROFILES) {
      // Default mode: everything under default/<profile>/; advanced mode: a bucket per profile.
      const bucket = bucketMode === 'advanced' ? `rclone-${p.id}` : 'default';
      const prefix = bucketMode === 'advanced' ? '' : `${p.id}/`;
      const remote = `srv:${bucket}${prefix ? '/' + prefix.slice(0, -1) : ''}`;
      const src = () => join(m.home, p.id, 'src');
      const conf = () => join(m.home, p.id, 'rclone.conf');
      const rclone = (...args: string[]) =>
        runClient('rclone', ['--config', conf(), ...FLAGS, ...args], clientEnv(), 300_000);
      const cell = (workflow: string) => m.cell(`${workflow} — ${p.label}`, docSettings(p));
      /** The remote's keys (prefix stripped) with their sizes and ETags, through the SDK. */
      const remoteKeys = async () => {
        const all = await listAll(m.srv.sdk(), bucket, prefix);
        return new Map([...all].map(([k, v]) => [k.slice(prefix.length), v]));
      };
      /** Asserts the remote holds exactly the local tree, byte for byte (MD5 ETags). */
      const assertMirror = async () => {
        const local = await treeHashes(src());
        const remote = await remoteKeys();
        assert.deepEqual(
          sortedEntries(new Map([...remote].map(([k]) => [k, true]))).map(([k]) => k),
          [...sortedEntries(local).map(([k]) => k)],
        );
        for (const [key, hash] of local) {
          const etag = remote.get(key)!.etag;
          if (key === 'big/sixty.bin') assert.match(etag, /^"[0-9a-f]{32}-12"$/, 'multipart ETag');
          else assert.equal(etag, `"${hash}"`, `ETag of ${key}`);
        }
      };
      const checkOk = async () => {
        const check = await rclone('check', src(), remote);
        ok(check, 'rclone check');
        assert.match(check.err, / 0 differences found/);
        return check;
      };

      suite.workflow(cell('mkdir'), async () => {
        await mkdir(join(m.home, p.id), { recursive: true });
        await writeFile(conf(), rcloneConf(m.srv, p));
        await makeTree(src());
        ok(await rclone('mkdir', `srv:${bucket}`), 'rclone mkdir');
        await m.srv.sdk().send(new HeadBucketCommand({ Bucket: bucket }));
        const lsd = await rclone('lsd', 'srv:');
        ok(lsd, 'rclone lsd srv:');
        assert.match(lsd.out, new RegExp(` ${bucket}$`, 'm'));
      });

      suite.workflow(
        cell('copy a tree: 2,000 small files, 0-byte, unicode, spaces, 60 MiB multipart; check'),
        async () => {
          const mark = await m.srv.mark();
          ok(await rclone('copy', src(), remote), 'rclone copy');
          const ops = await m.srv.ops(mark);
          assert.equal(ops.get('CreateMultipartUpload'), 1, 'the 60 MiB file goes through multipart');
          assert.equal(ops.get('UploadPart'), 12, '12 parts of 5 MiB');
          assert.equal(ops.get('CompleteMultipartUpload'), 1);
          await assertMirror();
          const check = await checkOk();
          assert.match(
            check.err,
            new RegExp(` ${MANY_DIRS * PER_DIR + Object.keys(SPECIAL).length + 1} matching files`),
          );
        },
      );

      suite.workflow(cell('ls, lsjson, lsd'), async () => {
        const local = await treeHashes(src());
        const mark = await m.srv.mark();
        const ls = await rclone('ls', remote);
        ok(ls, 'rclone ls');
        const lines = ls.out.trim().split('\n');
        assert.equal(lines.length, local.size);
        assert.ok(
          lines.some((l) => l.trim() === `${BIG} big/sixty.bin`),
          'ls shows the 60 MiB file',
        );
        assert.ok(
          lines.some((l) => l.trim() === '0 empty.bin'),
          'ls shows the 0-byte file',
        );
        const json = await rclone('lsjson', '-R', '--files-only', '--hash', remote);
        ok(json, 'rclone lsjson');
        const entries = JSON.parse(json.out) as { Path: string; Size: number; Hashes?: { md5?: string } }[];
        assert.equal(entries.length, local.size);
        for (const e of entries) {
          const want = local.get(e.Path);
          assert.ok(want, `lsjson lists ${e.Path}, which is local`);
          assert.equal(e.Hashes?.md5, want, `md5 of ${e.Path}`);
        }
        const lsd = await rclone('lsd', remote);
        ok(lsd, 'rclone lsd');
        const dirs = lsd.out
          .trim()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).slice(4).join(' '))
          .sort();
        assert.deepEqual(dirs, ['big', 'many', 'nested', 'odd', 'with spaces', 'ünïcødé'].sort());
        const ops = await m.srv.ops(mark);
        const other = p.listOp === 'ListObjects' ? 'ListObjectsV2' : 'ListObjects';
        assert.ok((ops.get(p.listOp) ?? 0) > 0, `rclone lists with ${p.listOp}`);
        assert.equal(ops.get(other) ?? 0, 0, `rclone never uses ${other} with this profile`);
      });

      suite.workflow(
        cell('sync with deletions, a changed file and changed mtimes (self-copy REPLACE)'),
        async () => {
          const s = src();
          for (let f = 0; f < 5; f++) await unlink(join(s, 'many', 'd3', `f${f}.txt`));
          await writeFile(join(s, 'nested', 'a', 'b', 'c', 'deep.txt'), 'deep file, changed\n');
          await writeFile(join(s, 'nested', 'new.txt'), 'a new file\n');
          const touched = 'many/d7/f7.txt';
          const later = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000);
          await utimes(join(s, touched), later, later);
          const before = await m.srv
            .sdk()
            .send(new HeadObjectCommand({ Bucket: bucket, Key: prefix + touched }));
          const mark = await m.srv.mark();
          ok(await rclone('sync', s, remote), 'rclone sync');
          const ops = await m.srv.ops(mark);
          assert.equal(ops.get('DeleteObject') ?? 0, 5, 'five deletions');
          assert.equal(ops.get('PutObject'), 2, 'the changed and the new file are uploaded');
          assert.equal(ops.get('CopyObject'), 1, 'the touched file gets its mtime by a self-copy');
          const head = await m.srv
            .sdk()
            .send(new HeadObjectCommand({ Bucket: bucket, Key: prefix + touched }));
          assert.equal(head.ETag, before.ETag, 'a self-copy keeps the bytes');
          assert.equal(Number(head.Metadata?.mtime), later.getTime() / 1000, 'x-amz-meta-mtime replaced');
          await assertMirror();
          await checkOk();
          const lsjson = await rclone('lsjson', `${remote}/many/d7`);
          const entry = (JSON.parse(lsjson.out) as { Name: string; ModTime: string }[]).find(
            (e) => e.Name === 'f7.txt',
          );
          assert.equal(new Date(entry!.ModTime).getTime(), later.getTime());
        },
      );

      suite.workflow(cell('--fast-list'), async () => {
        // `check` walks the remote directory by directory, or with --fast-list in one recursive
        // listing (pages of 1,000). `ls`/`lsf -R` would use the recursive listing either way.
        const m1 = await m.srv.mark();
        await checkOk();
        const walkCalls = (await m.srv.ops(m1)).get(p.listOp) ?? 0;
        const m2 = await m.srv.mark();
        const fast = await rclone('check', '--fast-list', src(), remote);
        ok(fast, 'rclone check --fast-list');
        assert.match(fast.err, / 0 differences found/);
        const fastCalls = (await m.srv.ops(m2)).get(p.listOp) ?? 0;
        assert.ok(walkCalls > MANY_DIRS, `a directory walk lists each directory (${walkCalls} calls)`);
        assert.ok(fastCalls <= 4, `--fast-list lists recursively (${fastCalls} calls)`);
        const m3 = await m.srv.mark();
        ok(await rclone('sync', '--fast-list', src(), remote), 'rclone sync --fast-list');
        const ops = await m.srv.ops(m3);
        assert.equal((ops.get('PutObject') ?? 0) + (ops.get('CopyObject') ?? 0), 0, 'nothing to transfer');
        assert.equal(ops.get('DeleteObject') ?? 0, 0, 'nothing to delete');
        assert.ok((ops.get(p.listOp) ?? 0) <= 4);
      });

      suite.workflow(cell('cleanup of unfinished multipart uploads'), async () => {
        const key = `${prefix}abandoned.bin`;
        const created = await m.srv
          .sdk()
          .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
        assert.ok(created.UploadId);
        const uploads = async () =>
          (await m.srv.sdk().send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
        // `rclone cleanup` removes uploads older than 24 h: a fresh one stays.
        ok(await rclone('cleanup', remote), 'rclone cleanup');
        assert.deepEqual(
          (await uploads()).map((u) => u.UploadId),
          [created.UploadId],
        );
        await sleep(1100);
        ok(await rclone('backend', 'cleanup', '-o', 'max-age=1s', remote), 'rclone backend cleanup');
        assert.deepEqual(await uploads(), []);
      });

      suite.workflow(cell('moveto, delete, purge'), async () => {
        const sdk = m.srv.sdk();
        const before = await remoteKeys();
        ok(
          await rclone('moveto', `${remote}/nested/new.txt`, `${remote}/moved/renamed.txt`),
          'rclone moveto',
        );
        let now = await remoteKeys();
        assert.ok(!now.has('nested/new.txt'), 'moveto removes the source');
        assert.equal(now.get('moved/renamed.txt')?.etag, `"${md5('a new file\n')}"`);
        ok(await rclone('delete', `${remote}/many/d0`), 'rclone delete');
        now = await remoteKeys();
        assert.equal([...now.keys()].filter((k) => k.startsWith('many/d0/')).length, 0);
        assert.equal(now.size, before.size - PER_DIR, 'delete removed only many/d0');
        ok(await rclone('purge', `${remote}/many`), 'rclone purge of a directory');
        now = await remoteKeys();
        assert.equal([...now.keys()].filter((k) => k.startsWith('many/')).length, 0);
        assert.ok(now.has('big/sixty.bin'), 'purge stays inside its directory');
        if (bucketMode === 'advanced') {
          ok(await rclone('purge', `srv:${bucket}`), 'rclone purge of a bucket');
          await assert.rejects(sdk.send(new HeadBucketCommand({ Bucket: bucket })), { name: 'NotFound' });
          const lsd = await rclone('lsd', 'srv:');
          assert.doesNotMatch(lsd.out, new RegExp(` ${bucket}$`, 'm'));
        } else {
          ok(await rclone('purge', remote), 'rclone purge of the prefix');
          assert.equal((await remoteKeys()).size, 0);
          await sdk.send(new HeadBucketCommand({ Bucket: 'default' }));
        }
      });
    }
  });
}
