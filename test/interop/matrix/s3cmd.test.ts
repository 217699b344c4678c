/**
 * Compatibility matrix, s3cmd with Signature V2 and V4: mb, put (single and multipart), ls, get,
 * sync up with --delete-removed and back down, del and rb, against a real `s3local serve` in both
 * bucket modes.
 */
import assert from 'node:assert/strict';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { assertOk as ok, clientEnv, clientTestOptions, runClient } from '../../helpers/clients.js';
import { ALL_SPECS, DOC_TARGET, clientVersion, describeMatrix, listAll, matrixSuite } from './harness.js';
import type { Target } from './harness.js';
import { md5, md5File, sortedEntries, treeHashes, writeRandomFile, writeTree } from './trees.js';
import { s3cmdConfig } from '../../helpers/s3cmd.js';

function s3cfg(t: Target, v2: boolean): string {
  return s3cmdConfig({
    host: t.host,
    credentials: t,
    signatureV2: v2,
    extra: ['bucket_location = us-east-1', 'multipart_chunk_size_mb = 5'],
  });
}

const BIG = 12 * 1024 * 1024;
const opts = clientTestOptions('s3cmd');
const suite = matrixSuite('s3cmd', opts, () => clientVersion('s3cmd', ['--version']));

for (const { bucketMode, backend } of ALL_SPECS) {
  describeMatrix(suite, { bucketMode, backend }, { title: 's3cmd', homeTag: 's3cmd' }, (m) => {
    for (const v2 of [true, false]) {
      const sig = v2 ? 'V2' : 'V4';
      const bucket = bucketMode === 'advanced' ? `s3cmd-${sig.toLowerCase()}` : 'default';
      const prefix = bucketMode === 'advanced' ? '' : `s3cmd-${sig}/`;
      const url = (key = '') => `s3://${bucket}/${prefix}${key}`;
      const dir = () => join(m.home, sig);
      const s3cmd = (...args: string[]) =>
        runClient('s3cmd', ['-c', join(dir(), 's3cfg'), ...args], clientEnv(), 300_000);
      const cell = (workflow: string) =>
        m.cell(`${workflow} — signature ${sig}`, `# ~/.s3cfg\n${s3cfg(DOC_TARGET, v2)}`);

      if (bucketMode === 'advanced') {
        suite.workflow(cell('mb'), async () => {
          await writeTree(dir(), { s3cfg: s3cfg(m.srv, v2) });
          ok(await s3cmd('mb', `s3://${bucket}`), 's3cmd mb');
          await m.srv.sdk().send(new HeadBucketCommand({ Bucket: bucket }));
          const ls = await s3cmd('ls');
          ok(ls, 's3cmd ls');
          assert.match(ls.out, new RegExp(`s3://${bucket}$`, 'm'));
        });
      }

      suite.workflow(cell('put (single and multipart), ls, get'), async () => {
        if (bucketMode === 'default') await writeTree(dir(), { s3cfg: s3cfg(m.srv, v2) });
        const small = join(dir(), 'small file ü.txt');
        await writeFile(small, `s3cmd ${sig}\n`);
        await writeRandomFile(join(dir(), 'big.bin'), BIG);
        ok(await s3cmd('put', small, url('small file ü.txt')), 's3cmd put small');
        const mark = await m.srv.mark();
        ok(await s3cmd('put', join(dir(), 'big.bin'), url('big.bin')), 's3cmd put multipart');
        const ops = await m.srv.ops(mark);
        assert.equal(ops.get('UploadPart'), 3, '12 MiB in parts of 5 MiB');
        assert.equal(ops.get('CompleteMultipartUpload'), 1);
        const head = await m.srv
          .sdk()
          .send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}big.bin` }));
        assert.equal(head.ContentLength, BIG);
        assert.match(head.ETag!, /-3"$/);
        const ls = await s3cmd('ls', url());
        ok(ls, 's3cmd ls');
        assert.match(ls.out, new RegExp(`\\s${BIG}\\s+s3://${bucket}/${prefix}big\\.bin$`, 'm'));
        assert.match(
          ls.out,
          new RegExp(
            `\\s${Buffer.byteLength(`s3cmd ${sig}\n`)}\\s+s3://${bucket}/${prefix}small file ü\\.txt$`,
            'm',
          ),
        );
        const got = join(dir(), 'got.bin');
        ok(await s3cmd('get', '--force', url('big.bin'), got), 's3cmd get multipart');
        assert.equal(await md5File(got), await md5File(join(dir(), 'big.bin')));
        const gotSmall = join(dir(), 'got.txt');
        ok(await s3cmd('get', '--force', url('small file ü.txt'), gotSmall), 's3cmd get small');
        assert.equal(await md5File(gotSmall), md5(`s3cmd ${sig}\n`));
      });

      suite.workflow(cell('sync up with --delete-removed, sync down'), async () => {
        const tree = join(dir(), 'tree');
        await writeTree(tree, {
          'a.txt': 'a\n',
          'sub/b.txt': 'b\n',
          'sub/deeper/c.txt': 'c\n',
          'sub/ünï cødé.txt': 'unicode\n',
          'empty.bin': '',
        });
        ok(await s3cmd('sync', `${tree}/`, url('tree/')), 's3cmd sync up');
        const remote = async () => {
          const all = await listAll(m.srv.sdk(), bucket, `${prefix}tree/`);
          return new Map([...all].map(([k, v]) => [k.slice(`${prefix}tree/`.length), v.etag.slice(1, -1)]));
        };
        assert.deepEqual(sortedEntries(await remote()), sortedEntries(await treeHashes(tree)));
        await writeFile(join(tree, 'a.txt'), 'a, changed\n');
        await unlink(join(tree, 'sub', 'b.txt'));
        ok(await s3cmd('sync', '--delete-removed', `${tree}/`, url('tree/')), 's3cmd sync --delete-removed');
        assert.deepEqual(sortedEntries(await remote()), sortedEntries(await treeHashes(tree)));
        const back = join(dir(), 'back');
        ok(await s3cmd('sync', url('tree/'), `${back}/`), 's3cmd sync down');
        assert.deepEqual(sortedEntries(await treeHashes(back)), sortedEntries(await treeHashes(tree)));
      });

      suite.workflow(cell('del, del --recursive (and rb in advanced mode)'), async () => {
        ok(await s3cmd('del', url('small file ü.txt')), 's3cmd del');
        let keys = [...(await listAll(m.srv.sdk(), bucket, prefix)).keys()];
        assert.ok(!keys.includes(`${prefix}small file ü.txt`));
        assert.ok(keys.includes(`${prefix}big.bin`));
        ok(await s3cmd('del', '--recursive', '--force', url()), 's3cmd del --recursive');
        keys = [...(await listAll(m.srv.sdk(), bucket, prefix)).keys()];
        assert.deepEqual(keys, []);
        if (bucketMode === 'advanced') {
          ok(await s3cmd('rb', `s3://${bucket}`), 's3cmd rb');
          await assert.rejects(m.srv.sdk().send(new HeadBucketCommand({ Bucket: bucket })), {
            name: 'NotFound',
          });
        }
      });
    }
  });
}
