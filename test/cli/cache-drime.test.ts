/**
 * The Drime variants of `s3local cache` against the fake Drime API: `stats --workspace`,
 * `cleanup --workspace`, `migrate --backend-config NAME [--dry-run]`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { drimeIndexPath } from '../../src/cli/drime.js';
import { runCli } from '../../src/cli/program.js';
import { DrimeBackend } from '../../src/storage/drime/backend.js';
import { bodyFrom, md5Hex } from '../helpers/body.js';
import { startFakeDrime, type FakeDrime } from '../fakes/drime/server.js';
import { fakeTerminal } from '../unit/config/fake-terminal.js';

const T = { timeout: 30_000 };

describe('cache commands on a Drime backend', () => {
  let fake: FakeDrime;
  let home: string;
  let env: NodeJS.ProcessEnv;

  async function run(argv: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const t = fakeTerminal({ env: { ...env, ...extraEnv }, stdin: '' });
    const code = await runCli(argv, t.ctx);
    return { code, out: t.out(), err: t.err() };
  }

  before(async () => {
    fake = await startFakeDrime();
    home = await mkdtemp(join(tmpdir(), 's3local-cli-cache-drime-'));
    env = {
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'cfg'),
      XDG_DATA_HOME: join(home, 'share'),
      DRIME_API_KEY: fake.token,
      DRIME_API_URL: fake.apiUrl,
    };
    // Two objects written through s3local (their MD5s are in the index) ...
    const b = await DrimeBackend.open({
      apiKey: fake.token,
      workspaceId: 0,
      apiUrl: fake.apiUrl,
      advanced: false,
      indexPath: drimeIndexPath(env),
      spoolDir: join(home, 'spool'),
      retireDelayMs: 0,
    });
    try {
      for (const [key, content] of [
        ['a.txt', 'alpha'],
        ['dir/b.txt', 'bravo!'],
      ]) {
        await b.putObject('default', key!, bodyFrom(content!), { headers: {}, metadata: {} });
      }
    } finally {
      await b.close();
    }
    // ... and one uploaded to Drime some other way.
    const e = fake.state.createEntry({
      name: 'outside.txt',
      type: 'text',
      parentId: null,
      workspaceId: 0,
      ownerId: fake.user.id,
      fileName: fake.state.newFileName(),
      size: 11,
      mime: 'text/plain',
      extension: 'txt',
    });
    fake.state.blobs.set(fake.state.blobKey(e.fileName), Buffer.from('from phone!'));
  });

  after(async () => {
    await fake.close();
    await rm(home, { recursive: true, force: true });
  });

  test('stats --workspace reads the local Drime index', T, async () => {
    let r = await run(['cache', 'stats', '--workspace', '0']);
    assert.deepEqual(r, {
      code: 0,
      out: `Drime Cache Statistics - Workspace 0\nIndex: ${drimeIndexPath(env)}\nTotal objects: 2\nTotal size: 11.0 B\n`,
      err: '',
    });
    r = await run(['cache', 'stats', '--workspace', '7', '--json']);
    assert.deepEqual(JSON.parse(r.out), { index: drimeIndexPath(env), workspace: 7, objects: 0, bytes: 0 });
    r = await run(['cache', 'stats', '--workspace', 'x']);
    assert.equal(r.code, 1);
    assert.equal(r.err, "Error: Invalid value for --workspace: 'x' (a workspace id: 0 = personal)\n");
  });

  test('migrate --dry-run counts, migrate fills the MD5s of files written elsewhere', T, async () => {
    let r = await run([
      'config',
      'add',
      'cloud',
      '--type',
      'drime',
      '--api-key',
      fake.token,
      '--workspace-id',
      '0',
      '--api-url',
      fake.apiUrl,
    ]);
    assert.equal(r.code, 0, r.err);
    const noEnv = { DRIME_API_KEY: '', DRIME_API_URL: '' };
    r = await run(['cache', 'migrate', '--backend-config', 'cloud', '--dry-run'], noEnv);
    assert.deepEqual(r, {
      code: 0,
      out: '1 of 3 files have no MD5 in the cache (11.0 B to download); run without --dry-run to fill them\n',
      err: '',
    });
    r = await run(['cache', 'migrate', '--backend-config', 'cloud'], noEnv);
    assert.deepEqual(r, { code: 0, out: '✓ Filled 1 MD5s (11.0 B downloaded); 3 files checked\n', err: '' });
    r = await run(['cache', 'stats', '--backend-config', 'cloud', '--json'], noEnv);
    assert.deepEqual(JSON.parse(r.out), { index: drimeIndexPath(env), workspace: 0, objects: 3, bytes: 22 });
    r = await run(['cache', 'migrate', '--backend-config', 'cloud', '--dry-run'], noEnv);
    assert.match(r.out, /^0 of 3 files have no MD5/);
    // The filled MD5 is served as the ETag from now on.
    const b = await DrimeBackend.open({
      apiKey: fake.token,
      workspaceId: 0,
      apiUrl: fake.apiUrl,
      advanced: false,
      indexPath: drimeIndexPath(env),
      spoolDir: join(home, 'spool2'),
    });
    try {
      assert.equal((await b.headObject('default', 'outside.txt')).etag, md5Hex('from phone!'));
    } finally {
      await b.close();
    }
  });

  test('cleanup --workspace drops the records of entries gone from Drime', T, async () => {
    const gone = fake.state.files(0).get('a.txt');
    assert.ok(gone);
    gone.deletedAt = Date.now();
    let r = await run(['cache', 'cleanup', '--workspace', '0']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^✓ Removed 1 stale entries from the cache of workspace 0 \(\d+ kept\)\n$/);
    r = await run(['cache', 'cleanup', '--workspace', '0', '--bucket', 'default']);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /every bucket of workspace 0 is checked\.\nNo stale entries in the cache of workspace 0/,
    );
  });

  test('errors: migrate on a local store, a rejected token, --path with --workspace', T, async () => {
    let r = await run(['cache', 'migrate', '--path', home]);
    assert.equal(r.code, 1);
    assert.match(r.err, /cache migrate works on a Drime backend/);
    r = await run(['cache', 'cleanup', '--workspace', '0'], { DRIME_API_KEY: 'wrong-token' });
    assert.equal(r.code, 1);
    assert.match(r.err, /^Error: .*(token|API key|rejected)/i);
    r = await run(['cache', 'stats', '--workspace', '0', '--path', home]);
    assert.deepEqual(r, {
      code: 1,
      out: '',
      err: 'Error: Cannot combine --path with a Drime backend (--workspace)\n',
    });
  });
});
