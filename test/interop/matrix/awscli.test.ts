/**
 * Compatibility matrix, awscli: the Debian awscli v2 and the pyenv awscli v1 (whose 2025+ botocore
 * sends CRC32 checksums in aws-chunked trailers). mb, cp up and down through multipart, sync both
 * ways, ls --recursive, presign fetched with curl, s3api head-object and list-objects-v2 with a
 * delimiter, rb --force; against a real `s3local serve` in both bucket modes (mb/rb in advanced).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { assertOk as ok, PYENV_AWS, clientEnv, clientTestOptions, runClient } from '../../helpers/clients.js';
import {
  ALL_SPECS,
  DOC_TARGET,
  clientVersion,
  describeMatrix,
  listAll,
  matrixSuite,
  optionalClient,
} from './harness.js';
import type { Target } from './harness.js';
import { md5, md5File, sortedEntries, treeHashes, writeRandomFile, writeTree } from './trees.js';

const AWS_CONFIG = [
  '[default]',
  'region = us-east-1',
  's3 =',
  '  addressing_style = path',
  '  multipart_threshold = 8MB',
  '  multipart_chunksize = 8MB',
  '',
].join('\n');

function awsEnv(t: Target, configFile: string): Record<string, string> {
  return {
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_ACCESS_KEY_ID: t.accessKeyId,
    AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

const SETTINGS =
  `# ~/.aws/config (AWS_CONFIG_FILE)\n${AWS_CONFIG}` +
  `# environment\n` +
  Object.entries(awsEnv(DOC_TARGET, '~/.aws/config'))
    .filter(([k]) => k !== 'AWS_CONFIG_FILE' && k !== 'AWS_SHARED_CREDENTIALS_FILE')
    .map(([k, v]) => `${k}=${v}`)
    .join('\n') +
  `\n# every command\naws --endpoint-url ${DOC_TARGET.endpoint} ...`;

const CLIENTS = [
  {
    id: 'v2',
    client: 'awscli v2 (Debian)',
    bin: '/usr/bin/aws',
    available: clientTestOptions('/usr/bin/aws'),
  },
  {
    id: 'v1',
    client: 'awscli v1 (pyenv, botocore 2025+)',
    bin: PYENV_AWS,
    available: optionalClient(
      existsSync(PYENV_AWS),
      `the pyenv awscli v1 (${PYENV_AWS}) is not on this machine; CI can only install the Debian awscli v2`,
    ),
  },
];

const BIG = 20 * 1024 * 1024;

for (const c of CLIENTS) {
  // `aws --version` also names the kernel and build: keep the cli, Python and botocore versions.
  const suite = matrixSuite(c.client, c.available, async () => {
    const v = await clientVersion(c.bin, ['--version']);
    const kept = v.split(' ').filter((t) => /^(aws-cli|Python|botocore)\//.test(t));
    return kept.length > 0 ? kept.join(' ') : v;
  });
  for (const { bucketMode, backend } of ALL_SPECS) {
    describeMatrix(suite, { bucketMode, backend }, { title: c.client, homeTag: 'awscli' }, (m) => {
      const bucket = bucketMode === 'advanced' ? `awscli-${c.id}-matrix` : 'default';
      const prefix = bucketMode === 'advanced' ? '' : `awscli-${c.id}/`;
      const s3url = (key = '') => `s3://${bucket}/${prefix}${key}`;
      const aws = (...args: string[]) =>
        runClient(
          c.bin,
          ['--endpoint-url', m.srv.endpoint, ...args],
          clientEnv(awsEnv(m.srv, join(m.home, 'aws-config'))),
          300_000,
        );
      const cell = (workflow: string) => m.cell(workflow, SETTINGS);

      m.setup(async () => {
        await writeFile(join(m.home, 'aws-config'), AWS_CONFIG);
        await writeRandomFile(join(m.home, 'big.bin'), BIG);
        await writeTree(join(m.home, 'tree'), {
          'a.txt': 'a\n',
          'dir/b.txt': 'b\n',
          'dir/sub/c.txt': 'c\n',
          'dir/sub/ünïcødé name.txt': 'unicode\n',
          'empty.bin': '',
          'with space/d e.txt': 'spaces\n',
        });
      });

      if (bucketMode === 'advanced') {
        suite.workflow(cell('s3 mb'), async () => {
          const mb = await aws('s3', 'mb', `s3://${bucket}`);
          ok(mb, 'aws s3 mb');
          assert.match(mb.out, new RegExp(`make_bucket: ${bucket}`));
          await m.srv.sdk().send(new HeadBucketCommand({ Bucket: bucket }));
          const ls = await aws('s3', 'ls');
          ok(ls, 'aws s3 ls');
          assert.match(ls.out, new RegExp(` ${bucket}$`, 'm'));
        });
      }

      suite.workflow(cell('s3 cp up and down (multipart)'), async () => {
        const mark = await m.srv.mark();
        ok(await aws('s3', 'cp', join(m.home, 'big.bin'), s3url('big file.bin')), 'aws s3 cp up');
        const ops = await m.srv.ops(mark);
        assert.equal(ops.get('CreateMultipartUpload'), 1, '20 MiB goes through multipart');
        assert.equal(ops.get('UploadPart'), 3, 'three parts of 8 MiB');
        assert.equal(ops.get('CompleteMultipartUpload'), 1);
        const down = join(m.home, 'big.down');
        ok(await aws('s3', 'cp', s3url('big file.bin'), down), 'aws s3 cp down');
        assert.equal(await md5File(down), await md5File(join(m.home, 'big.bin')));
        const small = join(m.home, 'tree', 'dir', 'sub', 'ünïcødé name.txt');
        ok(await aws('s3', 'cp', small, s3url('ünïcødé name.txt')), 'aws s3 cp small');
        const got = join(m.home, 'small.down');
        ok(await aws('s3', 'cp', s3url('ünïcødé name.txt'), got), 'aws s3 cp small down');
        assert.equal(await md5File(got), md5('unicode\n'));
      });

      suite.workflow(cell('s3 sync both ways, with --delete'), async () => {
        const tree = join(m.home, 'tree');
        ok(await aws('s3', 'sync', tree, s3url('sync')), 'aws s3 sync up');
        const remote = async () => {
          const all = await listAll(m.srv.sdk(), bucket, `${prefix}sync/`);
          return new Map([...all].map(([k, v]) => [k.slice(`${prefix}sync/`.length), v.etag.slice(1, -1)]));
        };
        assert.deepEqual(sortedEntries(await remote()), sortedEntries(await treeHashes(tree)));
        await writeFile(join(tree, 'a.txt'), 'a, changed and longer\n');
        await unlink(join(tree, 'dir', 'b.txt'));
        const second = await aws('s3', 'sync', '--delete', tree, s3url('sync'));
        ok(second, 'aws s3 sync --delete');
        assert.match(second.out, /delete: s3:\/\/.*dir\/b\.txt/);
        assert.deepEqual(sortedEntries(await remote()), sortedEntries(await treeHashes(tree)));
        const back = join(m.home, 'synced-back');
        ok(await aws('s3', 'sync', s3url('sync'), back), 'aws s3 sync down');
        assert.deepEqual(sortedEntries(await treeHashes(back)), sortedEntries(await treeHashes(tree)));
        // A second sync down has nothing to do.
        const again = await aws('s3', 'sync', s3url('sync'), back);
        ok(again, 'aws s3 sync down again');
        assert.equal(again.out.trim(), '');
      });

      suite.workflow(cell('s3 ls --recursive'), async () => {
        const ls = await aws('s3', 'ls', '--recursive', s3url());
        ok(ls, 'aws s3 ls --recursive');
        const lines = ls.out.trim().split('\n');
        const entries = new Map(
          lines.map((l) => {
            const m = /^\S+ \S+\s+(\d+) (.+)$/.exec(l);
            assert.ok(m, `ls line: ${l}`);
            return [m[2]!.slice(prefix.length), Number(m[1])];
          }),
        );
        assert.equal(entries.get('big file.bin'), BIG);
        assert.equal(entries.get('sync/empty.bin'), 0);
        assert.equal(entries.get('sync/dir/sub/ünïcødé name.txt'), 8);
        assert.equal(entries.size, (await listAll(m.srv.sdk(), bucket, prefix)).size);
      });

      suite.workflow(cell('s3 presign, fetched with curl'), async () => {
        const presign = await aws('s3', 'presign', s3url('big file.bin'), '--expires-in', '300');
        ok(presign, 'aws s3 presign');
        const url = presign.out.trim();
        const out = join(m.home, 'presigned.bin');
        ok(await runClient('curl', ['-sS', '-f', '-o', out, url], clientEnv()), 'curl presigned URL');
        assert.equal(await md5File(out), await md5File(join(m.home, 'big.bin')));
        // Tampering with the signed URL is refused.
        const tampered = url.replace(/big%20file\.bin|big\+file\.bin|big file\.bin/, 'other.bin');
        assert.notEqual(tampered, url);
        const bad = await runClient(
          'curl',
          ['-sS', '-o', '/dev/null', '-w', '%{http_code}', tampered],
          clientEnv(),
        );
        assert.equal(bad.out.trim(), '403');
      });

      suite.workflow(cell('s3api head-object, list-objects-v2 with a delimiter'), async () => {
        const head = await aws('s3api', 'head-object', '--bucket', bucket, '--key', `${prefix}big file.bin`);
        ok(head, 'aws s3api head-object');
        const h = JSON.parse(head.out) as { ContentLength: number; ETag: string };
        assert.equal(h.ContentLength, BIG);
        assert.match(h.ETag, /^"[0-9a-f]{32}-3"$/);
        const list = await aws(
          's3api',
          'list-objects-v2',
          '--bucket',
          bucket,
          '--prefix',
          `${prefix}sync/`,
          '--delimiter',
          '/',
        );
        ok(list, 'aws s3api list-objects-v2');
        const l = JSON.parse(list.out) as {
          Contents?: { Key: string; Size: number }[];
          CommonPrefixes?: { Prefix: string }[];
        };
        assert.deepEqual((l.Contents ?? []).map((o) => o.Key).sort(), [
          `${prefix}sync/a.txt`,
          `${prefix}sync/empty.bin`,
        ]);
        assert.deepEqual((l.CommonPrefixes ?? []).map((p) => p.Prefix).sort(), [
          `${prefix}sync/dir/`,
          `${prefix}sync/with space/`,
        ]);
      });

      if (bucketMode === 'advanced') {
        suite.workflow(cell('s3 rb --force'), async () => {
          const rb = await aws('s3', 'rb', '--force', `s3://${bucket}`);
          ok(rb, 'aws s3 rb --force');
          assert.match(rb.out, new RegExp(`remove_bucket: ${bucket}`));
          await assert.rejects(m.srv.sdk().send(new HeadBucketCommand({ Bucket: bucket })), {
            name: 'NotFound',
          });
        });
      } else {
        suite.workflow(cell('s3 rm --recursive'), async () => {
          ok(await aws('s3', 'rm', '--recursive', s3url()), 'aws s3 rm --recursive');
          assert.equal((await listAll(m.srv.sdk(), bucket, prefix)).size, 0);
        });
      }
    });
  }
}
