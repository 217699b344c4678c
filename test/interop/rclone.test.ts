/**
 * rclone (the Debian package) against the real `s3local serve` process, configured with exactly
 * the rclone block the server prints at startup (generated credentials, auth on).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientEnv, clientTestOptions, runClient } from '../helpers/clients.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/server.js';

function rclone(conf: string, ...args: string[]) {
  return runClient(
    'rclone',
    ['--config', conf, '--retries', '1', '--low-level-retries', '1', ...args],
    clientEnv(),
  );
}

describe('rclone with the printed config', () => {
  let home: string;
  let serve: ServeProcess;
  let conf: string;
  const opts = clientTestOptions('rclone');

  before(async () => {
    if (opts.skip) return;
    home = await tempDir('s3local-rclone-');
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(home, 'config') };
    delete env.S3LOCAL_ACCESS_KEY_ID;
    delete env.S3LOCAL_SECRET_ACCESS_KEY;
    serve = await startServeProcess(['--path', join(home, 'data'), '--listen', '127.0.0.1:0'], env);
    conf = join(home, 'rclone.conf');
    await writeFile(conf, serve.rcloneBlock());
  });
  after(async () => {
    if (opts.skip) return;
    assert.equal(await serve.stop(), 0, 'serve exits 0 on SIGTERM');
    await rm(home, { recursive: true, force: true });
  });

  it('prints a working block with generated credentials', opts, async () => {
    const block = serve.rcloneBlock();
    assert.match(block, /^\[s3local\]$/m);
    assert.match(block, /^force_path_style = true$/m);
    assert.match(block, /^secret_access_key = [A-Za-z0-9]{40}$/m);
    const lsd = await rclone(conf, 'lsd', 's3local:');
    assert.equal(lsd.code, 0, lsd.err);
    assert.match(lsd.out, / default$/m);
  });

  it('copies a tree with nested dirs, a 0-byte file and unicode names; check passes', opts, async () => {
    const src = join(home, 'src');
    await mkdir(join(src, 'a', 'b', 'c'), { recursive: true });
    await mkdir(join(src, 'ünï cødé', '日本'), { recursive: true });
    await writeFile(join(src, 'empty.bin'), '');
    await writeFile(join(src, 'a', 'b', 'c', 'deep.txt'), 'deep file\n');
    await writeFile(join(src, 'ünï cødé', '日本', 'ファイル.txt'), 'unicode\n');
    await writeFile(join(src, 'a', 'with space & plus+.txt'), 'odd name\n');
    await writeFile(join(src, 'a', 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 17, 0xab));
    const copy = await rclone(conf, 'copy', src, 's3local:default/tree');
    assert.equal(copy.code, 0, copy.err);
    const check = await rclone(conf, 'check', src, 's3local:default/tree');
    assert.equal(check.code, 0, check.err + check.out);
    const ls = await rclone(conf, 'lsf', '-R', 's3local:default/tree');
    assert.equal(ls.code, 0, ls.err);
    for (const p of [
      'empty.bin',
      'a/b/c/deep.txt',
      'ünï cødé/日本/ファイル.txt',
      'a/with space & plus+.txt',
    ]) {
      assert.ok(ls.out.split('\n').includes(p), `${p} listed:\n${ls.out}`);
    }
    // a changed mtime is synced by a server-side self-copy (metadata REPLACE)
    const later = new Date(Date.now() + 86_400_000);
    const { utimes } = await import('node:fs/promises');
    await utimes(join(src, 'a', 'b', 'c', 'deep.txt'), later, later);
    const sync = await rclone(conf, 'sync', src, 's3local:default/tree');
    assert.equal(sync.code, 0, sync.err);
    const lsl = await rclone(conf, 'lsl', 's3local:default/tree/a/b/c');
    assert.match(lsl.out, new RegExp(later.toISOString().slice(0, 10)));
    const check2 = await rclone(conf, 'check', src, 's3local:default/tree');
    assert.equal(check2.code, 0, check2.err);
  });
});
