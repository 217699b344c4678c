/**
 * `s3local serve --backend-config NAME` serves the data directory saved for a local backend
 * (pys3local ignored saved local backends, §10.1 item 15).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../../src/cli/program.js';
import { fakeTerminal } from '../unit/config/fake-terminal.js';

const root = mkdtempSync(join(tmpdir(), 's3local-cli-config-serve-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('serve --backend-config mylocal serves the saved path', async () => {
  const env: NodeJS.ProcessEnv = {
    HOME: join(root, 'home'),
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_DATA_HOME: join(root, 'xdg-data'),
  };
  const data = join(root, 'saved-data');
  const add = fakeTerminal({ env, stdin: '' });
  assert.equal(
    await runCli(['config', 'add', 'mylocal', '--type', 'local', '--path', data], add.ctx),
    0,
    add.err(),
  );

  let stop!: (signal: string) => void;
  const t = fakeTerminal({ env, stdin: '' });
  t.ctx.stopSignal = new Promise<string>((resolve) => (stop = resolve));
  const serving = runCli(
    ['serve', '--backend-config', 'mylocal', '--listen', '127.0.0.1:0', '--no-auth'],
    t.ctx,
  );
  try {
    const started = await Promise.race([
      t.waitFor(/Starting S3 server at http:\/\/127\.0\.0\.1:\d+\//, 15_000).then(() => true),
      serving.then((code) => assert.fail(`serve exited early with ${code}: ${t.err()}`)),
    ]);
    assert.equal(started, true);
    assert.match(t.out(), new RegExp(`Data directory: ${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    const port = /Starting S3 server at http:\/\/127\.0\.0\.1:(\d+)\//.exec(t.out())![1];
    const url = `http://127.0.0.1:${port}/default/from-saved-config.txt`;
    const put = await fetch(url, {
      method: 'PUT',
      body: 'saved path works',
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(put.status, 200, await put.text());
    assert.equal(await readFile(join(data, 'default', 'from-saved-config.txt'), 'utf8'), 'saved path works');
    const get = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    assert.equal(await get.text(), 'saved path works');
  } finally {
    stop('SIGTERM');
    const code = await Promise.race([
      serving,
      new Promise<number>((_, reject) =>
        setTimeout(() => reject(new Error('serve did not stop within 10 s')), 10_000).unref(),
      ),
    ]);
    assert.equal(code, 0, t.err());
  }
});
