/**
 * Compatibility matrix, duplicity (Debian, boto3 backend `boto3+s3://`): a GnuPG-encrypted full
 * backup in 10 MB volumes uploaded through multipart, an incremental, verify --compare-data,
 * collection-status, and restores (latest and as of the full) compared byte for byte, against a
 * real `s3local serve` in both bucket modes.
 */
import assert from 'node:assert/strict';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { assertOk as ok, clientEnv, clientTestOptions, runClient } from '../../helpers/clients.js';
import { ALL_SPECS, DOC_TARGET, clientVersion, describeMatrix, listAll, matrixSuite } from './harness.js';
import type { BucketMode, Target } from './harness.js';
import { sortedEntries, treeHashes, writeRandomFile, writeTree } from './trees.js';

const AWS_CONFIG = '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n';

/** Options on every duplicity command (the archive dir and name are per test run). */
function duplicityOptions(t: Target): string[] {
  return [
    '--s3-endpoint-url',
    t.endpoint,
    '--s3-region-name',
    'us-east-1',
    '--volsize',
    '10',
    '--s3-multipart-chunk-size',
    '5',
    '--num-retries',
    '1',
  ];
}

function duplicityEnv(t: Target, configFile: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: t.accessKeyId,
    AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    PASSPHRASE: 'matrix gpg passphrase',
  };
}

const targetUrl = (mode: BucketMode) =>
  mode === 'advanced' ? 'boto3+s3://duplicity-matrix/backup' : 'boto3+s3://default/duplicity';

const settings = (mode: BucketMode) =>
  `# ~/.aws/config (AWS_CONFIG_FILE)\n${AWS_CONFIG}# environment\n` +
  Object.entries(duplicityEnv(DOC_TARGET, '~/.aws/config'))
    .filter(([k]) => !['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE'].includes(k))
    .map(([k, v]) => `${k}=${k === 'PASSPHRASE' ? '<gpg passphrase>' : v}`)
    .join('\n') +
  `\n# command line\nduplicity full|incremental|verify|restore ${duplicityOptions(DOC_TARGET).join(' ')} ` +
  `... ${targetUrl(mode)}` +
  (mode === 'advanced' ? '\n# the bucket must exist: duplicity does not create it' : '');

const opts = clientTestOptions('duplicity');
const suite = matrixSuite('duplicity', opts, () => clientVersion('duplicity', ['--version']));

for (const { bucketMode, backend } of ALL_SPECS) {
  describeMatrix(suite, { bucketMode, backend }, { title: 'duplicity', homeTag: 'duplicity' }, (m) => {
    let src: string;
    let fullTree: Map<string, string>;
    let fullTime: Date;
    const bucket = bucketMode === 'advanced' ? 'duplicity-matrix' : 'default';
    const prefix = bucketMode === 'advanced' ? 'backup/' : 'duplicity/';
    const url = targetUrl(bucketMode);
    const duplicity = (action: string, ...args: string[]) =>
      runClient(
        'duplicity',
        [
          action,
          ...duplicityOptions(m.srv),
          '--archive-dir',
          join(m.home, 'archive'),
          '--name',
          'matrix',
          '--tempdir',
          join(m.home, 'tmp'),
          ...args,
        ],
        clientEnv({ ...duplicityEnv(m.srv, join(m.home, 'aws-config')), GNUPGHOME: join(m.home, 'gnupg') }),
        300_000,
      );
    const remoteNames = async () =>
      [...(await listAll(m.srv.sdk(), bucket, prefix)).keys()].map((k) => k.slice(prefix.length));
    const cell = (workflow: string) => m.cell(workflow, settings(bucketMode));

    m.setup(async () => {
      await writeFile(join(m.home, 'aws-config'), AWS_CONFIG);
      await mkdir(join(m.home, 'gnupg'), { recursive: true, mode: 0o700 });
      await mkdir(join(m.home, 'tmp'), { recursive: true });
      src = join(m.home, 'src');
      await writeTree(src, {
        'docs/readme.txt': 'duplicity matrix\n',
        'docs/ünïcødé name.txt': 'unicode\n',
        'empty.bin': '',
        'nested/a/b/c.txt': 'nested\n',
      });
      // Random bytes do not compress: about three 10 MB volumes.
      await writeRandomFile(join(src, 'big.bin'), 24 * 1024 * 1024);
      if (bucketMode === 'advanced') await m.srv.sdk().send(new CreateBucketCommand({ Bucket: bucket }));
    });

    suite.workflow(cell('full backup (encrypted, multipart volumes)'), async () => {
      const mark = await m.srv.mark();
      ok(await duplicity('full', src, url), 'duplicity full');
      fullTree = await treeHashes(src);
      fullTime = new Date();
      const names = await remoteNames();
      const vols = names.filter((n) => /^duplicity-full\.\d{8}T\d{6}Z\.vol\d+\.difftar\.gpg$/.test(n));
      assert.ok(vols.length >= 3, `volumes: ${names.join(', ')}`);
      assert.equal(names.filter((n) => /^duplicity-full\..*\.manifest\.gpg$/.test(n)).length, 1);
      assert.equal(names.filter((n) => /^duplicity-full-signatures\..*\.sigtar\.gpg$/.test(n)).length, 1);
      const ops = await m.srv.ops(mark);
      // Each 10 MB volume is above the 5 MB multipart threshold.
      assert.ok(
        (ops.get('CompleteMultipartUpload') ?? 0) >= 2,
        `multipart volumes: ${JSON.stringify([...ops])}`,
      );
      assert.ok((ops.get('UploadPart') ?? 0) >= 4);
    });

    suite.workflow(cell('incremental backup'), async () => {
      await sleep(1100); // duplicity times have a resolution of one second
      await writeFile(join(src, 'docs', 'readme.txt'), 'duplicity matrix, second version\n');
      await writeFile(join(src, 'new file.txt'), 'added before the incremental\n');
      await unlink(join(src, 'nested', 'a', 'b', 'c.txt'));
      ok(await duplicity('incremental', src, url), 'duplicity incremental');
      const names = await remoteNames();
      assert.equal(names.filter((n) => /^duplicity-inc\..*\.manifest\.gpg$/.test(n)).length, 1);
      assert.equal(names.filter((n) => /^duplicity-new-signatures\..*\.sigtar\.gpg$/.test(n)).length, 1);
      const status = await duplicity('collection-status', url);
      ok(status, 'duplicity collection-status');
      assert.match(status.out, /Full\s+\S+.*\s\d+\s+\S*$/m);
      assert.match(status.out, /Incremental\s+/);
      assert.match(status.out, /Number of contained backup sets: 2/);
    });

    suite.workflow(cell('verify --compare-data'), async () => {
      const r = await duplicity('verify', '--compare-data', url, src);
      ok(r, 'duplicity verify');
      assert.match(r.out, /Verify complete: \d+ files compared, 0 differences found\./);
    });

    suite.workflow(cell('restore (latest and as of the full) and byte-compare'), async () => {
      const latest = join(m.home, 'restore-latest');
      ok(await duplicity('restore', url, latest), 'duplicity restore');
      assert.deepEqual(sortedEntries(await treeHashes(latest)), sortedEntries(await treeHashes(src)));
      const first = join(m.home, 'restore-full');
      const at = new Date(Math.floor(fullTime.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
      ok(await duplicity('restore', '--time', at, url, first), 'duplicity restore --time');
      assert.deepEqual(sortedEntries(await treeHashes(first)), sortedEntries(fullTree));
    });
  });
}
