/**
 * `s3local serve --backend drime` against the fake Drime API, in this process: the start-up
 * checks (missing, rejected or unreachable token; an HTML answer; an unknown workspace) end with
 * a clear message and exit 1 without ever printing the token; `--backend-config NAME` of type
 * drime; the banner; and what DeleteObject does in the trash and permanent delete modes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeDrime, type FakeDrime } from '../fakes/drime/server.js';
import { tempDir } from '../helpers/server.js';
import { fakeFiles, isolatedEnv, runInProcess } from './drime-helpers.js';

/** A port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const SERVE = ['serve', '--backend', 'drime', '--listen', '127.0.0.1:0', '--no-auth'];

describe('s3local serve --backend drime (fake Drime API, in process)', () => {
  let fake: FakeDrime;
  let home: string;
  let n = 0;
  /** A fresh isolated environment (its own config and data directories). */
  const envFor = (extra: Record<string, string>): NodeJS.ProcessEnv =>
    isolatedEnv(join(home, `h${++n}`), extra);

  before(async () => {
    fake = await startFakeDrime({ sameName: 'replace' });
    home = await tempDir('s3local-drime-serve-');
  });
  after(async () => {
    await fake.close();
    await rm(home, { recursive: true, force: true });
  });

  async function failsWith(env: NodeJS.ProcessEnv, pattern: RegExp, args = SERVE): Promise<string> {
    const run = runInProcess(args, env);
    assert.equal(await run.code, 1, `exit code\n${run.out()}\n${run.err()}`);
    assert.match(run.err(), pattern);
    assert.doesNotMatch(run.out(), /Starting S3 server/);
    return run.err();
  }

  it('without an API token: exit 1 naming DRIME_API_KEY and --backend-config', async () => {
    const err = await failsWith(envFor({ DRIME_API_URL: fake.apiUrl }), /needs an API token/);
    assert.match(err, /DRIME_API_KEY/);
    assert.match(err, /--backend-config NAME/);
  });

  it('a rejected token: exit 1, says so, never prints the token', async () => {
    const token = '77|definitely-not-a-valid-token';
    const err = await failsWith(
      envFor({ DRIME_API_KEY: token, DRIME_API_URL: fake.apiUrl }),
      /Drime rejected the API token .*Unauthenticated/,
    );
    assert.match(err, /DRIME_API_KEY/);
    assert.ok(!err.includes(token), err);
  });

  it('an API URL that answers with a web page: exit 1 naming the URL', async () => {
    const url = `${fake.origin}/app`;
    const err = await failsWith(envFor({ DRIME_API_KEY: fake.token, DRIME_API_URL: url }), /HTML page/);
    assert.ok(err.includes(url), err);
    assert.ok(!err.includes(fake.token), err);
  });

  it('an unreachable API: exit 1 without a long wait', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/api/v1`;
    const started = Date.now();
    await failsWith(envFor({ DRIME_API_KEY: fake.token, DRIME_API_URL: url }), /Cannot reach the Drime API/);
    assert.ok(Date.now() - started < 10_000, 'gives up within 10 s');
  });

  it('a workspace the account does not have: exit 1 listing the ones it has', async () => {
    fake.state.addWorkspace('Listed Team', fake.user);
    const err = await failsWith(
      envFor({ DRIME_API_KEY: fake.token, DRIME_API_URL: fake.apiUrl }),
      /workspace 4242 is not one of this account's workspaces/,
      [...SERVE, '--drime-workspace-id', '4242'],
    );
    assert.match(err, /0 \(personal\)/);
    assert.match(err, /\(Listed Team\)/);
  });

  it('--backend-config NAME of type drime: banner, workspace, root folder; DELETE goes to the trash', async () => {
    const ws = fake.state.addWorkspace('Team', fake.user);
    const env = envFor({});
    const add = runInProcess(
      [
        'config',
        'add',
        'cloud',
        '--type',
        'drime',
        '--api-key',
        '-',
        '--api-url',
        fake.apiUrl,
        '--workspace-id',
        String(ws.id),
        '--root-folder',
        'saved/root',
      ],
      env,
      `${fake.token}\n`,
    );
    assert.equal(await add.code, 0, add.err());

    const run = runInProcess(
      ['serve', '--backend-config', 'cloud', '--listen', '127.0.0.1:0', '--no-auth'],
      env,
    );
    try {
      await run.waitFor(/Starting S3 server at http:\/\/127\.0\.0\.1:\d+\//);
      const out = run.out();
      for (const line of [
        'Storage backend: Drime Cloud',
        `  Workspace ID: ${ws.id} (Team)`,
        '  Root folder: saved/root',
        '  Configuration: cloud',
        '  Account: tester@example.test',
        '  Delete mode: trash',
      ]) {
        assert.ok(out.includes(line), `banner has "${line}":\n${out}`);
      }
      assert.match(out, /Index: .*\.drime\/index\.sqlite/);
      assert.ok(!out.includes(fake.token) && !run.err().includes(fake.token), 'the token is never printed');

      const port = /Starting S3 server at http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)![1];
      const url = `http://127.0.0.1:${port}/default/docs/saved.txt`;
      const put = await fetch(url, {
        method: 'PUT',
        body: 'via a saved backend',
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(put.status, 200, await put.text());
      const stored = fakeFiles(fake, 'saved/root', ws.id).get('docs/saved.txt');
      assert.equal(stored?.bytes?.toString(), 'via a saved backend');
      assert.equal(stored?.entry.workspaceId, ws.id);

      const del = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
      assert.equal(del.status, 204);
      const entry = fake.state.entries.get(stored.entry.id);
      assert.ok(entry && entry.deletedAt !== null, 'the file is in the trash, not gone');
    } finally {
      assert.equal(await run.stop(), 0, run.err());
    }
  });

  it('--drime-delete permanent: DELETE removes the file for good', async () => {
    const env = envFor({ DRIME_API_KEY: fake.token, DRIME_API_URL: fake.apiUrl });
    const run = runInProcess(
      [...SERVE, '--root-folder', 'permanent-mode', '--drime-delete', 'permanent'],
      env,
    );
    try {
      await run.waitFor(/Starting S3 server at http:\/\/127\.0\.0\.1:\d+\//);
      assert.match(run.out(), /Delete mode: permanent/);
      const port = /Starting S3 server at http:\/\/127\.0\.0\.1:(\d+)\//.exec(run.out())![1];
      const url = `http://127.0.0.1:${port}/default/gone.txt`;
      const put = await fetch(url, {
        method: 'PUT',
        body: 'short-lived',
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(put.status, 200);
      const stored = fakeFiles(fake, 'permanent-mode').get('gone.txt');
      assert.ok(stored);
      const del = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
      assert.equal(del.status, 204);
      assert.equal(
        fake.state.entries.get(stored.entry.id),
        undefined,
        'no entry left, not even in the trash',
      );
      assert.equal(fake.state.blobOf(stored.entry), undefined, 'the bytes are gone');
    } finally {
      assert.equal(await run.stop(), 0, run.err());
    }
  });

  it('an invalid --drime-delete value is a usage error', async () => {
    const run = runInProcess([...SERVE, '--drime-delete', 'shred'], envFor({}));
    assert.equal(await run.code, 2);
    assert.match(run.err(), /--drime-delete.*shred/);
  });
});
