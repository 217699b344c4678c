/**
 * Real command-line clients against a real server with auth on and non-default credentials:
 * awscli (Debian v2 and the pyenv v1 with a 2025+ botocore that sends CRC32 trailers), `aws s3
 * presign` fetched with plain HTTP, s3cmd with Signature V2 and V4, rclone with v2_auth and V4.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { awscliEnv, awscliVariants, clientEnv, clientTestOptions, runClient } from '../helpers/clients.js';
import { rcloneRunner, writeRcloneConfig } from '../helpers/rclone.js';
import { TEST_CREDENTIALS, startServer, tempDir, type TestServer } from '../helpers/server.js';
import { s3cmdConfig } from '../helpers/s3cmd.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const run = runClient;

describe('command-line clients with auth on', () => {
  let srv: TestServer;
  let dir: string;
  let big: Buffer;
  let bigFile: string;

  before(async () => {
    srv = await startServer();
    dir = await tempDir('s3local-cli-');
    big = randomBytes(20 * 1024 * 1024);
    bigFile = join(dir, 'big.bin');
    await writeFile(bigFile, big);
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function awsEnv(): Promise<NodeJS.ProcessEnv> {
    const config = join(dir, 'aws-config');
    // Path-style addressing; the default 8 MiB multipart threshold (the 20 MiB file goes in parts).
    await writeFile(config, '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n');
    return awscliEnv(config, TEST_CREDENTIALS);
  }

  for (const { label, bin, opts } of awscliVariants()) {
    it(`${label}: cp a 20 MiB file up and down, ls, head-object, presign`, opts, async () => {
      const env = await awsEnv();
      const aws = (...args: string[]) => run(bin, ['--endpoint-url', srv.endpoint, ...args], env);
      const key = `aws-${label.length}/big file.bin`;
      const up = await aws('s3', 'cp', bigFile, `s3://default/${key}`);
      assert.equal(up.code, 0, up.err);
      const down = join(dir, `down-${label.length}.bin`);
      const dl = await aws('s3', 'cp', `s3://default/${key}`, down);
      assert.equal(dl.code, 0, dl.err);
      assert.equal(md5(await readFile(down)), md5(big));
      const ls = await aws('s3', 'ls', '--recursive', 's3://default/');
      assert.equal(ls.code, 0, ls.err);
      assert.match(ls.out, new RegExp(`${big.length} ${key.replace(/[/.]/g, '\\$&')}`));
      const head = await aws('s3api', 'head-object', '--bucket', 'default', '--key', key);
      assert.equal(head.code, 0, head.err);
      // Uploaded in 8 MiB parts: the multipart ETag of 3 parts.
      const md5s = [0, 1, 2].map((i) =>
        createHash('md5')
          .update(big.subarray(i * 8 * 1024 * 1024, (i + 1) * 8 * 1024 * 1024))
          .digest(),
      );
      assert.equal(
        JSON.parse(head.out).ETag,
        `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-3"`,
      );
      const presign = await aws('s3', 'presign', `s3://default/${key}`, '--expires-in', '300');
      assert.equal(presign.code, 0, presign.err);
      const res = await fetch(presign.out.trim());
      assert.equal(res.status, 200);
      assert.equal(md5(Buffer.from(await res.arrayBuffer())), md5(big));
      const rm = await aws('s3', 'rm', `s3://default/${key}`);
      assert.equal(rm.code, 0, rm.err);
    });
  }

  for (const v2 of [true, false]) {
    it(`s3cmd with signature_v2 = ${v2}: put, ls, get, del`, clientTestOptions('s3cmd'), async () => {
      const cfg = join(dir, `s3cfg-${v2}`);
      const host = new URL(srv.endpoint).host;
      await writeFile(
        cfg,
        s3cmdConfig({
          host,
          signatureV2: v2,
          extra: ['bucket_location = us-east-1', 'multipart_chunk_size_mb = 64'],
        }),
      );
      const s3cmd = (...args: string[]) => run('s3cmd', ['-c', cfg, ...args], clientEnv());
      const file = join(dir, 'small file ü.txt');
      await writeFile(file, `s3cmd ${v2}\n`);
      const key = `s3cmd-${v2}/small file ü.txt`;
      const put = await s3cmd('put', file, `s3://default/${key}`);
      assert.equal(put.code, 0, put.err);
      const ls = await s3cmd('ls', `s3://default/s3cmd-${v2}/`);
      assert.equal(ls.code, 0, ls.err);
      assert.ok(ls.out.includes(key), ls.out);
      const out = join(dir, `got-${v2}.txt`);
      const get = await s3cmd('get', '--force', `s3://default/${key}`, out);
      assert.equal(get.code, 0, get.err);
      assert.equal(await readFile(out, 'utf8'), `s3cmd ${v2}\n`);
      const del = await s3cmd('del', `s3://default/${key}`);
      assert.equal(del.code, 0, del.err);
      const ls2 = await s3cmd('ls', `s3://default/s3cmd-${v2}/`);
      assert.ok(!ls2.out.includes(key));
    });
  }

  for (const v2 of [true, false]) {
    it(`rclone with v2_auth = ${v2}: copy and check`, clientTestOptions('rclone'), async () => {
      const conf = join(dir, `rclone-${v2}.conf`);
      await writeRcloneConfig(conf, { endpoint: srv.endpoint, extra: [`v2_auth = ${v2}`] });
      const rclone = rcloneRunner(conf, ['--retries', '1']);
      const copy = await rclone('copyto', bigFile, `srv:default/rclone-${v2}/big.bin`);
      assert.equal(copy.code, 0, copy.err);
      const check = await rclone('check', dir, `srv:default/rclone-${v2}`, '--include', 'big.bin');
      assert.equal(check.code, 0, check.err);
      const del = await rclone('purge', `srv:default/rclone-${v2}`);
      assert.equal(del.code, 0, del.err);
    });
  }
});
