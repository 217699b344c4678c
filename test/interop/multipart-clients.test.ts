/**
 * Multipart uploads from real command-line clients: awscli `s3 cp` (Debian v2 and the pyenv v1
 * with a 2025+ botocore sending CRC32 part trailers), boto3 `upload_file` from the pyenv Python
 * (default CRC32 COMPOSITE, and FULL_OBJECT when given the whole-file CRC32), and rclone with
 * 5 MiB chunks followed by `rclone check`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { awscliEnv, awscliVariants, clientEnv, clientTestOptions, runClient } from '../helpers/clients.js';
import { TEST_CREDENTIALS, startServer, tempDir, type TestServer } from '../helpers/server.js';
import { rcloneRunner, writeRcloneConfig } from '../helpers/rclone.js';
import { compositeCrc32, crc32Bytes, md5Bytes, multipartETag } from '../helpers/multipart.js';

const MiB = 1024 * 1024;
const PYENV_PYTHON = join(homedir(), '.pyenv', 'shims', 'python3');
const PYTHON = existsSync(PYENV_PYTHON) ? PYENV_PYTHON : 'python3';

/** boto3 must import in the chosen Python; otherwise skip loudly (and fail under CI). */
async function boto3Options(): Promise<{ skip?: string; timeout: number }> {
  const probe = await runClient(PYTHON, ['-c', 'import boto3'], clientEnv(), 60_000);
  if (probe.code === 0 || process.env.CI === 'true') return { timeout: 600_000 };
  const reason = `boto3 does not import in ${PYTHON} (${probe.err.trim().split('\n').pop() ?? ''}): pip install boto3 to run this test`;
  process.stderr.write(`\n*** SKIPPING: ${reason} ***\n\n`);
  return { skip: reason, timeout: 600_000 };
}

const BOTO3_SCRIPT = `
import base64, json, sys, zlib
import boto3
from boto3.s3.transfer import TransferConfig
endpoint, path, key, mode, out = sys.argv[1:6]
s3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1')
config = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024)
extra = {}
if mode == 'full':
    with open(path, 'rb') as f:
        crc = zlib.crc32(f.read()) & 0xffffffff
    extra['ChecksumCRC32'] = base64.b64encode(crc.to_bytes(4, 'big')).decode()
s3.upload_file(path, 'default', key, ExtraArgs=extra, Config=config)
head = s3.head_object(Bucket='default', Key=key, ChecksumMode='ENABLED')
s3.download_file('default', key, out, Config=config)
print(json.dumps({k: head.get(k) for k in ['ETag', 'ChecksumCRC32', 'ChecksumType', 'ContentLength']}))
`;

describe('multipart with command-line clients', () => {
  let srv: TestServer;
  let dir: string;
  let data: Buffer;
  let file: string;

  before(async () => {
    srv = await startServer();
    dir = await tempDir('s3local-mp-cli-');
    data = randomBytes(60 * MiB);
    file = join(dir, 'big.bin');
    await writeFile(file, data.subarray(0, 50 * MiB));
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  const awsEnv = (config: string) => awscliEnv(config, TEST_CREDENTIALS);

  for (const { label, bin, opts } of awscliVariants()) {
    it(`${label}: s3 cp of 50 MiB in 8 MiB parts, up and down`, opts, async () => {
      const config = join(dir, `aws-config-${label.length}`);
      await writeFile(
        config,
        '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n',
      );
      const env = awsEnv(config);
      const aws = (...args: string[]) => runClient(bin, ['--endpoint-url', srv.endpoint, ...args], env);
      const key = `awscli-${label.length}/big file.bin`;
      const up = await aws('s3', 'cp', file, `s3://default/${key}`);
      assert.equal(up.code, 0, up.err);
      const whole = data.subarray(0, 50 * MiB);
      const head = await aws(
        's3api',
        'head-object',
        '--bucket',
        'default',
        '--key',
        key,
        '--checksum-mode',
        'ENABLED',
      );
      assert.equal(head.code, 0, head.err);
      const h = JSON.parse(head.out) as { ETag: string; ContentLength: number; ChecksumCRC32?: string };
      assert.equal(h.ETag, multipartETag(whole, 8 * MiB));
      assert.equal(h.ContentLength, whole.length);
      if (h.ChecksumCRC32 !== undefined) assert.equal(h.ChecksumCRC32, compositeCrc32(whole, 8 * MiB));
      const down = join(dir, `down-${label.length}.bin`);
      const dl = await aws('s3', 'cp', `s3://default/${key}`, down);
      assert.equal(dl.code, 0, dl.err);
      assert.ok(md5Bytes(await readFile(down)).equals(md5Bytes(whole)));
    });
  }

  it('boto3 upload_file (pyenv Python): CRC32 COMPOSITE by default, FULL_OBJECT with a whole-file CRC32', async (t) => {
    const opts = await boto3Options();
    if (opts.skip) {
      t.skip(opts.skip);
      return;
    }
    const script = join(dir, 'upload.py');
    await writeFile(script, BOTO3_SCRIPT);
    const env = clientEnv({
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_CONFIG_FILE: join(dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    const whole = data.subarray(0, 50 * MiB);
    for (const mode of ['default', 'full'] as const) {
      const out = join(dir, `boto3-${mode}.bin`);
      const run = await runClient(
        PYTHON,
        [script, srv.endpoint, file, `boto3/${mode}.bin`, mode, out],
        env,
        300_000,
      );
      assert.equal(run.code, 0, run.err);
      const head = JSON.parse(run.out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
      assert.equal(head.ETag, multipartETag(whole, 8 * MiB));
      assert.equal(head.ContentLength, whole.length);
      if (mode === 'default') {
        assert.equal(head.ChecksumType, 'COMPOSITE');
        assert.equal(head.ChecksumCRC32, compositeCrc32(whole, 8 * MiB));
      } else {
        assert.equal(head.ChecksumType, 'FULL_OBJECT');
        assert.equal(head.ChecksumCRC32, crc32Bytes(whole).toString('base64'));
      }
      assert.ok(md5Bytes(await readFile(out)).equals(md5Bytes(whole)));
    }
  });

  it('rclone copy of 60 MiB with 5 MiB chunks, then rclone check', clientTestOptions('rclone'), async () => {
    const src = join(dir, 'rclone-src');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'sixty.bin'), data);
    const conf = join(dir, 'rclone.conf');
    await writeRcloneConfig(conf, { endpoint: srv.endpoint });
    const rclone = rcloneRunner(conf, ['--retries', '1', '--low-level-retries', '1']);
    const copy = await rclone(
      'copy',
      src,
      'srv:default/rclone',
      '--s3-upload-cutoff',
      '5M',
      '--s3-chunk-size',
      '5M',
    );
    assert.equal(copy.code, 0, copy.err);
    const head = await srv.backend.headObject('default', 'rclone/sixty.bin');
    assert.equal(`"${head.etag}"`, multipartETag(data, 5 * MiB));
    assert.equal(head.parts?.sizes.length, 12);
    const check = await rclone('check', src, 'srv:default/rclone');
    assert.equal(check.code, 0, check.err + check.out);
  });
});
