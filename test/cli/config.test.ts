import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'smol-toml';
import { runCli } from '../../src/cli/program.js';
import { obscure, reveal } from '../../src/config/obscure.js';
import { fakeTerminal, KEY } from '../unit/config/fake-terminal.js';

const root = mkdtempSync(join(tmpdir(), 's3local-cli-config-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh XDG config home per test, so the default backends file is isolated. */
function freshEnv(): { env: NodeJS.ProcessEnv; file: string } {
  const home = join(root, `home${++n}`);
  return {
    env: { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') },
    file: join(home, 'cfg', 's3local', 'backends.toml'),
  };
}

async function run(argv: string[], env: NodeJS.ProcessEnv, opts: { stdin?: string; tty?: boolean } = {}) {
  const t = fakeTerminal({ env, stdin: opts.stdin ?? '', ...(opts.tty === true ? { tty: true } : {}) });
  const code = await runCli(argv, t.ctx);
  return { code, out: t.out(), err: t.err() };
}

describe('s3local config (non-interactive)', () => {
  test('list on an empty configuration', async () => {
    const { env } = freshEnv();
    assert.deepEqual(await run(['config', 'list'], env), {
      code: 0,
      out: 'No backends configured\n',
      err: '',
    });
    assert.deepEqual(await run(['config', 'list', '--json'], env), { code: 0, out: '[]\n', err: '' });
  });

  test('add local and drime, then list, show, show --reveal', async () => {
    const { env, file } = freshEnv();
    let r = await run(['config', 'add', 'nas', '--type', 'local', '--path', 'rel/dir'], env);
    assert.deepEqual(r, { code: 0, out: "✓ Backend 'nas' added successfully\n", err: '' });
    r = await run(
      [
        'config',
        'add',
        'cloud',
        '--type',
        'drime',
        '--api-key',
        'tok|123',
        '--workspace-id',
        '42',
        '--root-folder',
        'backups',
      ],
      env,
    );
    assert.equal(r.code, 0, r.err);

    const data = parse(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
    assert.equal(data.nas!.path, resolve('rel/dir'), 'a local path is stored absolute');
    assert.equal((await run(['config', 'add', 'tilde', '--type', 'local', '--path=~/s3'], env)).code, 0);
    assert.match((await run(['config', 'show', 'tilde'], env)).out, new RegExp(`path: ${env.HOME!}/s3\\n`));
    assert.equal((await run(['config', 'remove', 'tilde', '--yes'], env)).code, 0);
    assert.equal(data.cloud!.workspace_id, 42);
    assert.equal(reveal(data.cloud!.api_key as string), 'tok|123');
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    r = await run(['config', 'list'], env);
    assert.equal(r.out, 'Configured backends:\n  • nas (local)\n  • cloud (drime)\n');
    r = await run(['config', 'list', '--json'], env);
    assert.deepEqual(JSON.parse(r.out), [
      { name: 'nas', type: 'local' },
      { name: 'cloud', type: 'drime' },
    ]);

    r = await run(['config', 'show', 'cloud'], env);
    assert.deepEqual(r, {
      code: 0,
      out: 'Backend: cloud\nType: drime\nConfiguration:\n  api_key: <hidden>\n  workspace_id: 42\n  root_folder: backups\n',
      err: '',
    });
    r = await run(['config', 'show', 'cloud', '--reveal'], env);
    assert.match(r.out, /^ {2}api_key: tok\|123$/m);
    r = await run(['config', 'show', 'cloud', '--json'], env);
    assert.deepEqual(JSON.parse(r.out), {
      name: 'cloud',
      type: 'drime',
      config: { api_key: '<hidden>', workspace_id: 42, root_folder: 'backups' },
    });
  });

  test('--config and S3LOCAL_CONFIG choose the file', async () => {
    const { env } = freshEnv();
    const flagFile = join(root, `flag${n}.toml`);
    const envFile = join(root, `env${n}.toml`);
    assert.equal(
      (await run(['config', 'add', 'a', '--type', 'local', '--path', '/a', '--config', flagFile], env)).code,
      0,
    );
    assert.equal(
      (await run(['config', '--config', flagFile, 'list'], env)).out,
      'Configured backends:\n  • a (local)\n',
    );
    const envWith = { ...env, S3LOCAL_CONFIG: envFile };
    assert.equal((await run(['config', 'add', 'b', '--type', 'local', '--path', '/b'], envWith)).code, 0);
    assert.equal((await run(['config', 'list'], envWith)).out, 'Configured backends:\n  • b (local)\n');
    assert.equal((await run(['config', 'list'], env)).out, 'No backends configured\n');
  });

  test('add refuses bad names, missing or misplaced options, bad values, and duplicates', async () => {
    const { env } = freshEnv();
    const cases: [string[], number, RegExp][] = [
      [
        ['config', 'add', '../evil', '--type', 'local', '--path', '/p'],
        1,
        /Backend name must start with a letter or digit.*'\.\.\/evil'/,
      ],
      [['config', 'add', 'a/b', '--type', 'local', '--path', '/p'], 1, /Backend name/],
      [['config', 'add', 'x', '--type', 'local'], 1, /--path is required for a local backend/],
      [
        ['config', 'add', 'x', '--type', 'local', '--path', '/p', '--api-key', 'k'],
        1,
        /--api-key only applies to a drime backend/,
      ],
      [
        ['config', 'add', 'x', '--type', 'drime', '--api-key', 'k', '--path', '/p'],
        1,
        /--path only applies to a local backend/,
      ],
      [['config', 'add', 'x', '--type', 'drime'], 1, /--api-key is required for a drime backend/],
      [
        ['config', 'add', 'x', '--type', 'drime', '--api-key', 'k', '--workspace-id', 'abc'],
        1,
        /Workspace ID must be a whole number/,
      ],
      [
        ['config', 'add', 'x', '--type', 'drime', '--api-key', 'k', '--api-url', 'ftp://x'],
        1,
        /API URL must be an http/,
      ],
      [['config', 'add', 'x', '--type', 'ftp', '--path', '/p'], 2, /Allowed choices are local, drime/],
      [['config', 'add', 'x', '--path', '/p'], 2, /required option '--type <type>' not specified/],
    ];
    for (const [argv, code, pattern] of cases) {
      const r = await run(argv, env);
      assert.equal(r.code, code, argv.join(' '));
      assert.match(r.err, pattern, argv.join(' '));
      assert.equal(r.out, '');
    }
    assert.equal((await run(['config', 'list'], env)).out, 'No backends configured\n', 'nothing was written');

    assert.equal((await run(['config', 'add', 'x', '--type', 'local', '--path', '/1'], env)).code, 0);
    const dup = await run(['config', 'add', 'x', '--type', 'local', '--path', '/2'], env);
    assert.deepEqual(
      [dup.code, dup.err],
      [1, "Error: Backend 'x' already exists (use --force to replace it)\n"],
    );
    const forced = await run(['config', 'add', 'x', '--type', 'local', '--path', '/2', '--force'], env);
    assert.deepEqual([forced.code, forced.out], [0, "✓ Backend 'x' replaced\n"]);
    assert.match((await run(['config', 'show', 'x'], env)).out, /path: \/2/);
  });

  test('add --api-key - reads the key from stdin', async () => {
    const { env } = freshEnv();
    const r = await run(['config', 'add', 'd', '--type', 'drime', '--api-key', '-'], env, {
      stdin: 'from|stdin\n',
    });
    assert.equal(r.code, 0, r.err);
    assert.match((await run(['config', 'show', 'd', '--reveal'], env)).out, /api_key: from\|stdin\n/);
    assert.match((await run(['config', 'show', 'd'], env)).out, /workspace_id: 0\n/);
  });

  test('show and remove of an unknown backend exit 1', async () => {
    const { env } = freshEnv();
    assert.deepEqual(await run(['config', 'show', 'ghost'], env), {
      code: 1,
      out: '',
      err: "Error: Backend 'ghost' not found\n",
    });
    assert.deepEqual(await run(['config', 'remove', 'ghost', '--yes'], env), {
      code: 1,
      out: '',
      err: "Error: Backend 'ghost' not found\n",
    });
  });

  test('remove: --yes, refusal without a terminal, prompt on a terminal', async () => {
    const { env } = freshEnv();
    for (const name of ['a', 'b', 'c'])
      await run(['config', 'add', name, '--type', 'local', '--path', `/${name}`], env);

    const refused = await run(['config', 'remove', 'a'], env);
    assert.equal(refused.code, 1);
    assert.match(
      refused.err,
      /Refusing to remove backend 'a' without confirmation: stdin is not a terminal \(use --yes\)/,
    );

    assert.deepEqual(await run(['config', 'remove', 'a', '--yes'], env), {
      code: 0,
      out: "✓ Backend 'a' removed\n",
      err: '',
    });

    // On a terminal: answer the confirmation.
    const t = fakeTerminal({ env, tty: true });
    const p = runCli(['config', 'remove', 'b'], t.ctx);
    await t.waitFor("Remove backend 'b'?");
    await t.type('y', KEY.enter);
    assert.equal(await p, 0);
    assert.match(t.out(), /✓ Backend 'b' removed/);

    const t2 = fakeTerminal({ env, tty: true });
    const p2 = runCli(['config', 'remove', 'c'], t2.ctx);
    await t2.waitFor("Remove backend 'c'?");
    await t2.type(KEY.enter); // default: no
    assert.equal(await p2, 0);
    assert.match(t2.out(), /Aborted\./);

    assert.equal((await run(['config', 'list'], env)).out, 'Configured backends:\n  • c (local)\n');
  });

  test('a damaged secret: show flags it (exit 1), --reveal refuses, other backends still work', async () => {
    const { env, file } = freshEnv();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(
      file,
      `[bad]\ntype = "drime"\napi_key = "clear-text-key!"\n\n[good]\ntype = "drime"\napi_key = "${obscure('k')}"\n`,
    );
    const shown = await run(['config', 'show', 'bad'], env);
    assert.equal(shown.code, 1);
    assert.match(shown.out, /api_key: <hidden>/);
    assert.match(shown.err, /Backend 'bad': 'api_key' in .* is not an obscured value/);
    const revealed = await run(['config', 'show', 'bad', '--reveal'], env);
    assert.equal(revealed.code, 1);
    assert.equal(revealed.out, '');
    assert.match((await run(['config', 'show', 'good', '--reveal'], env)).out, /api_key: k\n/);
    assert.equal((await run(['config', 'list'], env)).code, 0);
  });

  test('a broken TOML file is reported with its path', async () => {
    const { env, file } = freshEnv();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, '[oops\n');
    const r = await run(['config', 'list'], env);
    assert.equal(r.code, 1);
    assert.ok(r.err.startsWith(`Error: Cannot parse ${file}`), r.err);
  });

  test('config without a subcommand needs a terminal', async () => {
    const { env } = freshEnv();
    const r = await run(['config'], env);
    assert.equal(r.code, 1);
    assert.match(r.err, /interactive and needs a terminal/);
    assert.match(r.err, /s3local config list\|show\|add\|remove/);
  });
});

describe('s3local obscure / reveal', () => {
  const { env } = freshEnv();

  test('obscure PASSWORD prints a value that reveals to it', async () => {
    const r = await run(['obscure', 'hunter2'], env);
    assert.equal(r.code, 0);
    // base64url, unpadded, of a 16-byte IV + 7 bytes
    assert.match(r.out, /^[A-Za-z0-9_-]{31}\n$/);
    assert.equal(reveal(r.out.trim()), 'hunter2');
    assert.deepEqual(await run(['reveal', '--', r.out.trim()], env), { code: 0, out: 'hunter2\n', err: '' });
  });

  test('reads the first line of stdin when not a terminal (or with "-")', async () => {
    for (const argv of [['obscure'], ['obscure', '-']]) {
      const r = await run(argv, env, { stdin: 'from-stdin\r\nsecond line\n' });
      assert.equal(r.code, 0);
      assert.equal(reveal(r.out.trim()), 'from-stdin');
    }
    const v = obscure('piped');
    assert.equal((await run(['reveal', '-'], env, { stdin: `${v}\n` })).out, 'piped\n');
  });

  test('an empty password is an error', async () => {
    assert.deepEqual(await run(['obscure', ''], env), {
      code: 1,
      out: '',
      err: 'Error: Password cannot be empty\n',
    });
    assert.deepEqual(await run(['obscure'], env, { stdin: '' }), {
      code: 1,
      out: '',
      err: 'Error: Password cannot be empty\n',
    });
  });

  test('prompts with hidden input on a terminal; Ctrl-C exits 130', async () => {
    const t = fakeTerminal({ env, tty: true });
    const p = runCli(['obscure'], t.ctx);
    await t.waitFor('Enter password to obscure');
    await t.type('s3cr3t');
    assert.ok(!t.out().includes('s3cr3t'), 'the password is not echoed');
    await t.type(KEY.enter);
    assert.equal(await p, 0);
    const value = /([A-Za-z0-9_-]{30})\n$/.exec(t.out())?.[1];
    assert.equal(reveal(value!), 's3cr3t');
    assert.match(t.err(), /obfuscation, not encryption/);

    const t2 = fakeTerminal({ env, tty: true });
    const p2 = runCli(['obscure'], t2.ctx);
    await t2.waitFor('Enter password to obscure');
    await t2.type('abc', KEY.ctrlC);
    assert.equal(await p2, 130);
    assert.match(t2.err(), /Aborted\./);
  });

  test('values and passwords that start with "-" are arguments, not options', async () => {
    let value: string;
    // "-V…" is left out: the program-level -V (--version) is matched anywhere on the line unless the
    // program enables positional options; `--` covers that case, tested below.
    do value = obscure('dash');
    while (!value.startsWith('-') || value.startsWith('-V'));
    assert.deepEqual(await run(['reveal', value], env), { code: 0, out: 'dash\n', err: '' });
    assert.deepEqual(await run(['reveal', '--', value], env), { code: 0, out: 'dash\n', err: '' });
    let vValue: string;
    do vValue = obscure('vee');
    while (!vValue.startsWith('-V'));
    assert.deepEqual(await run(['reveal', '--', vValue], env), { code: 0, out: 'vee\n', err: '' });
    const r = await run(['obscure', '-x-password'], env);
    assert.equal(r.code, 0, r.err);
    assert.equal(reveal(r.out.trim()), '-x-password');
  });

  test('reveal of a bad value is a clear error', async () => {
    const r = await run(['reveal', 'not*base64'], env);
    assert.deepEqual(r, {
      code: 1,
      out: '',
      err: 'Error: Cannot reveal: base64 decode failed when revealing password - is it obscured?\n',
    });
    assert.match((await run(['reveal', 'aGVsbG8'], env)).err, /input too short/);
  });

  test('--help says it is obfuscation, not encryption, and rclone-compatible', async () => {
    const r = await run(['obscure', '--help'], env);
    assert.equal(r.code, 0);
    const help = r.out.replace(/\s+/g, ' ');
    assert.match(help, /obfuscation, NOT encryption/);
    assert.match(help, /rclone reveal/);
    assert.match((await run(['reveal', '--help'], env)).out, /obfuscation, NOT encryption/);
  });

  test('round trip with the rclone binary through the CLI', async (t) => {
    const probe = spawnSync('rclone', ['version'], { timeout: 20_000 });
    if (probe.status !== 0) {
      if (process.env.CI === 'true') assert.fail('rclone binary not found on PATH (required under CI=true)');
      t.skip('rclone binary not found on PATH (install it: apt-get install -y rclone)');
      return;
    }
    const rcEnv = { ...process.env, RCLONE_CONFIG: join(root, 'rclone.conf') };
    const ours = (await run(['obscure', 'to-rclone'], env)).out.trim();
    const { stdout } = await promisify(execFile)('rclone', ['reveal', '--', ours], {
      env: rcEnv,
      timeout: 20_000,
    });
    assert.equal(stdout.trim(), 'to-rclone');
    const theirs = await promisify(execFile)('rclone', ['obscure', 'from-rclone'], {
      env: rcEnv,
      timeout: 20_000,
    });
    assert.equal((await run(['reveal', '--', theirs.stdout.trim()], env)).out, 'from-rclone\n');
  });
});
