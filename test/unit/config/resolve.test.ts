import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Command } from 'commander';
import { CliExit } from '../../../src/cli/context.js';
import { BackendsFile } from '../../../src/config/backends-file.js';
import { SERVE_OPTIONS, type OptionSpec } from '../../../src/config/options.js';
import {
  addServeOptions,
  explicitFlags,
  resolveServeOptions,
  resolveServeOptionsDetailed,
} from '../../../src/config/resolve.js';

const root = mkdtempSync(join(tmpdir(), 's3local-resolve-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function backends(entries: Parameters<BackendsFile['set']>[0][]): Promise<string> {
  const file = join(root, `b${++n}`, 'backends.toml');
  const doc = await BackendsFile.load(file);
  for (const e of entries) doc.set(e);
  await doc.save();
  return file;
}

/** An environment isolated from the machine's: HOME in the temp dir. */
const baseEnv = (): NodeJS.ProcessEnv => ({ HOME: join(root, 'home') });

function exitWith(code: number, pattern: RegExp) {
  return (err: unknown) => err instanceof CliExit && err.exitCode === code && pattern.test(err.message);
}

/** A distinct sample value per option and layer, and the value it must resolve to. */
function sample(spec: OptionSpec, layer: 'flag' | 'env' | 'config'): { raw: unknown; want: unknown } {
  switch (spec.type) {
    case 'boolean':
      // flag true beats env "off" beats config true: each layer is visible in the result.
      return layer === 'flag'
        ? { raw: true, want: true }
        : layer === 'env'
          ? { raw: 'off', want: false }
          : { raw: true, want: true };
    case 'integer': {
      const v = { flag: 11, env: 22, config: 33 }[layer];
      return { raw: layer === 'config' ? v : String(v), want: v };
    }
    case 'duration':
      return { raw: layer === 'config' ? 5 : '5s', want: 5000 };
    case 'string': {
      // An option with choices takes a different allowed value per layer.
      const choice = spec.choices?.[{ flag: 1, env: 0, config: 1 }[layer] % spec.choices.length];
      if (choice !== undefined) return { raw: choice, want: choice };
      return { raw: `/${layer}-${spec.name}`, want: `/${layer}-${spec.name}` };
    }
  }
}

// `backend` (its config key is the table type) and `backendConfig` (names the table) are tested apart.
const GENERIC = SERVE_OPTIONS.filter((s) => s.name !== 'backend' && s.name !== 'backendConfig');

describe('resolveServeOptions precedence: flag > env > backend config > default', () => {
  test('every option, every layer', async () => {
    const values: Record<string, unknown> = {};
    for (const s of GENERIC) if (s.configKey !== undefined) values[s.configKey] = sample(s, 'config').raw;
    const file = await backends([{ name: 'all', type: 'local', values: values as Record<string, string> }]);

    const flags: Record<string, unknown> = { backendConfig: 'all' };
    const env: NodeJS.ProcessEnv = { ...baseEnv(), S3LOCAL_CONFIG: file };
    for (const s of GENERIC) {
      flags[s.name] = sample(s, 'flag').raw;
      env[s.env[0]!] = sample(s, 'env').raw as string;
    }

    const all = await resolveServeOptionsDetailed({ flags, env });
    const noFlags = await resolveServeOptionsDetailed({ flags: { backendConfig: 'all' }, env });
    const envOnlyBc = { ...baseEnv(), S3LOCAL_CONFIG: file, S3LOCAL_BACKEND_CONFIG: 'all' };
    const configOnly = await resolveServeOptionsDetailed({ flags: {}, env: envOnlyBc });
    const nothing = await resolveServeOptionsDetailed({ flags: {}, env: baseEnv() });

    for (const s of GENERIC) {
      const got = (r: typeof all) => (r.options as unknown as Record<string, unknown>)[s.name];
      assert.deepEqual(got(all), sample(s, 'flag').want, `${s.name}: flag`);
      assert.equal(all.sources[s.name], 'flag');
      assert.deepEqual(got(noFlags), sample(s, 'env').want, `${s.name}: env beats config`);
      assert.equal(noFlags.sources[s.name], 'env');
      if (s.configKey !== undefined) {
        assert.deepEqual(got(configOnly), sample(s, 'config').want, `${s.name}: backend config`);
        assert.equal(configOnly.sources[s.name], 'config');
      } else {
        assert.deepEqual(got(configOnly), s.default, `${s.name}: default`);
      }
      assert.deepEqual(got(nothing), s.default, `${s.name}: default`);
      assert.equal(nothing.sources[s.name], s.default === undefined ? undefined : 'default');
    }
  });

  test('defaults', async () => {
    const o = await resolveServeOptions({ flags: {}, env: baseEnv() });
    assert.deepEqual(o, {
      listen: ':10001',
      region: 'us-east-1',
      noAuth: false,
      noSigv2: false,
      debug: false,
      backend: 'local',
      allowBucketCreation: false,
      drimeDelete: 'trash',
      metricsPublic: false,
      logFormat: 'text',
      logLevel: 'info',
      maxConnections: 1024,
      maxHeaderSize: 16384,
    });
  });

  test('commander attribute names are understood (--no-auth is auth=false)', async () => {
    const o = await resolveServeOptions({ flags: { auth: false, sigv2: false }, env: baseEnv() });
    assert.equal(o.noAuth, true);
    assert.equal(o.noSigv2, true);
    const env = { ...baseEnv(), S3LOCAL_NO_AUTH: 'true' };
    assert.equal((await resolveServeOptions({ flags: {}, env })).noAuth, true);
  });

  test('every option has an env var, and the first listed wins', async () => {
    for (const s of SERVE_OPTIONS) assert.ok(s.env.length > 0 && s.env[0]!.startsWith('S3LOCAL_'), s.name);
    const env = { ...baseEnv(), DRIME_API_KEY: 'k1', DRIME_WORKSPACE_ID: '5', DRIME_API_URL: 'http://d' };
    let o = await resolveServeOptions({ flags: {}, env });
    assert.equal(o.drimeApiKey, 'k1');
    assert.equal(o.drimeWorkspaceId, 5);
    assert.equal(o.drimeApiUrl, 'http://d');
    o = await resolveServeOptions({ flags: {}, env: { ...env, S3LOCAL_DRIME_API_KEY: 'k0' } });
    assert.equal(o.drimeApiKey, 'k0');
  });

  test('boolean words, empty env values, and clear errors', async () => {
    for (const [word, want] of [
      ['1', true],
      ['TRUE', true],
      ['yes', true],
      ['On', true],
      ['0', false],
      ['false', false],
      ['NO', false],
      ['off', false],
    ] as const) {
      const o = await resolveServeOptions({ flags: {}, env: { ...baseEnv(), S3LOCAL_DEBUG: word } });
      assert.equal(o.debug, want, word);
    }
    await assert.rejects(
      resolveServeOptions({ flags: {}, env: { ...baseEnv(), S3LOCAL_DEBUG: 'maybe' } }),
      exitWith(
        1,
        /^Invalid value for S3LOCAL_DEBUG: 'maybe' \(expected 1\/true\/yes\/on or 0\/false\/no\/off\)$/,
      ),
    );
    await assert.rejects(
      resolveServeOptions({ flags: {}, env: { ...baseEnv(), DRIME_WORKSPACE_ID: '12abc' } }),
      exitWith(1, /^Invalid value for DRIME_WORKSPACE_ID: '12abc' is not an integer$/),
    );
    await assert.rejects(
      resolveServeOptions({ flags: { drimeWorkspaceId: '1.5' }, env: baseEnv() }),
      exitWith(1, /--drime-workspace-id: '1\.5' is not an integer/),
    );
    await assert.rejects(
      resolveServeOptions({ flags: {}, env: { ...baseEnv(), S3LOCAL_BACKEND: 's3' } }),
      exitWith(1, /S3LOCAL_BACKEND: 's3' \(choices: local, drime\)/),
    );
    await assert.rejects(
      resolveServeOptions({ flags: { listen: '' }, env: baseEnv() }),
      exitWith(1, /--listen: must not be empty/),
    );
    // An empty variable is unset.
    const o = await resolveServeOptions({
      flags: {},
      env: { ...baseEnv(), S3LOCAL_REGION: '', S3LOCAL_PATH: '' },
    });
    assert.equal(o.region, 'us-east-1');
    assert.equal(o.path, undefined);
  });

  test('an empty flag clears what a saved backend sets', async () => {
    const file = await backends([
      { name: 'd', type: 'drime', values: { api_key: 'k', root_folder: 'saved/root' } },
    ]);
    const env = { ...baseEnv(), S3LOCAL_CONFIG: file };
    assert.equal(
      (await resolveServeOptions({ flags: { backendConfig: 'd' }, env })).rootFolder,
      'saved/root',
    );
    const o = await resolveServeOptionsDetailed({ flags: { backendConfig: 'd', rootFolder: '' }, env });
    assert.equal(o.options.rootFolder, undefined);
    assert.equal(o.sources.rootFolder, 'flag');
  });
});

describe('saved backends in resolveServeOptions', () => {
  test("a saved local backend's path is served (pys3local ignored it)", async () => {
    const file = await backends([{ name: 'mylocal', type: 'local', values: { path: '/srv/saved' } }]);
    const o = await resolveServeOptions({
      flags: { backendConfig: 'mylocal' },
      env: { ...baseEnv(), S3LOCAL_CONFIG: file },
    });
    assert.equal(o.backend, 'local');
    assert.equal(o.path, '/srv/saved');
    assert.equal(o.backendConfig, 'mylocal');
  });

  test('relative and ~ paths in backends.toml', async () => {
    const dir = join(root, 'rel');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'b.toml');
    await writeFile(file, '[r]\ntype = "local"\npath = "data/s3"\n[h]\ntype = "local"\npath = "~/s3"\n');
    const env = { ...baseEnv(), HOME: '/home/someone' };
    assert.equal(
      (await resolveServeOptions({ flags: { backendConfig: 'r', config: file }, env })).path,
      join(dir, 'data/s3'),
    );
    assert.equal(
      (await resolveServeOptions({ flags: { backendConfig: 'h' }, env, configFile: file })).path,
      '/home/someone/s3',
    );
  });

  test('a saved drime backend: type, revealed key, workspace, root folder, url', async () => {
    const file = await backends([
      {
        name: 'cloud',
        type: 'drime',
        values: { api_key: 'secret|tok', workspace_id: 9, root_folder: 'r', api_url: 'https://x/api' },
      },
    ]);
    const r = await resolveServeOptionsDetailed({
      flags: {},
      env: { ...baseEnv(), S3LOCAL_BACKEND_CONFIG: 'cloud', S3LOCAL_CONFIG: file },
    });
    assert.equal(r.options.backend, 'drime');
    assert.equal(r.options.drimeApiKey, 'secret|tok');
    assert.equal(r.options.drimeWorkspaceId, 9);
    assert.equal(r.options.rootFolder, 'r');
    assert.equal(r.options.drimeApiUrl, 'https://x/api');
    assert.equal(r.backendsFile, file);
    assert.equal(r.backend?.name, 'cloud');
  });

  test('the backends file: configFile > flags.config > S3LOCAL_CONFIG > XDG', async () => {
    const a = await backends([{ name: 'x', type: 'local', values: { path: '/a' } }]);
    const b = await backends([{ name: 'x', type: 'local', values: { path: '/b' } }]);
    const c = await backends([{ name: 'x', type: 'local', values: { path: '/c' } }]);
    const env = { ...baseEnv(), S3LOCAL_CONFIG: c, S3LOCAL_BACKEND_CONFIG: 'x' };
    assert.equal((await resolveServeOptions({ flags: { config: b }, env, configFile: a })).path, '/a');
    assert.equal((await resolveServeOptions({ flags: { config: b }, env })).path, '/b');
    assert.equal((await resolveServeOptions({ flags: {}, env })).path, '/c');
    const xdg = join(root, 'xdg');
    const doc = await BackendsFile.load(join(xdg, 's3local', 'backends.toml'));
    doc.set({ name: 'x', type: 'local', values: { path: '/xdg' } });
    await doc.save();
    const xenv = { ...baseEnv(), XDG_CONFIG_HOME: xdg, S3LOCAL_BACKEND_CONFIG: 'x' };
    assert.equal((await resolveServeOptions({ flags: {}, env: xenv })).path, '/xdg');
  });

  test('an unknown name lists the available backends and exits 1', async () => {
    const file = await backends([
      { name: 'alpha', type: 'local', values: { path: '/a' } },
      { name: 'beta', type: 'drime', values: { api_key: 'k' } },
    ]);
    await assert.rejects(
      resolveServeOptions({ flags: { backendConfig: 'nope' }, env: { ...baseEnv(), S3LOCAL_CONFIG: file } }),
      (err: unknown) =>
        err instanceof CliExit &&
        err.exitCode === 1 &&
        err.message === "Backend config 'nope' not found.\nAvailable backends:\n  - alpha\n  - beta",
    );
    await assert.rejects(
      resolveServeOptions({
        flags: { backendConfig: 'nope' },
        env: { ...baseEnv(), S3LOCAL_CONFIG: join(root, 'none.toml') },
      }),
      exitWith(1, /^Backend config 'nope' not found\.\nNo backends are configured in .*none\.toml/),
    );
  });

  test('--backend contradicting the saved type is an error, agreeing is fine', async () => {
    const file = await backends([{ name: 'l', type: 'local', values: { path: '/p' } }]);
    const env = { ...baseEnv(), S3LOCAL_CONFIG: file };
    await assert.rejects(
      resolveServeOptions({ flags: { backendConfig: 'l', backend: 'drime' }, env }),
      exitWith(1, /Backend config 'l' is a local backend, but --backend asks for 'drime'/),
    );
    await assert.rejects(
      resolveServeOptions({ flags: { backendConfig: 'l' }, env: { ...env, S3LOCAL_BACKEND: 'drime' } }),
      exitWith(1, /but S3LOCAL_BACKEND asks for 'drime'/),
    );
    assert.equal(
      (await resolveServeOptions({ flags: { backendConfig: 'l', backend: 'local' }, env })).path,
      '/p',
    );
    // Without a saved backend, flag > env as usual.
    assert.equal(
      (
        await resolveServeOptions({
          flags: { backend: 'drime' },
          env: { ...baseEnv(), S3LOCAL_BACKEND: 'local' },
        })
      ).backend,
      'drime',
    );
  });

  test('a secret that does not reveal stops the server with the backend and key named', async () => {
    const dir = join(root, 'badsecret');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'b.toml');
    await writeFile(file, '[d]\ntype = "drime"\napi_key = "plain-text-token!"\n');
    await assert.rejects(
      resolveServeOptions({ flags: { backendConfig: 'd' }, env: baseEnv(), configFile: file }),
      exitWith(1, /Backend 'd': 'api_key' in .*b\.toml is not an obscured value/),
    );
  });

  test('bad values in the file are reported with their key; unused keys are listed', async () => {
    const dir = join(root, 'badvalue');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'b.toml');
    await writeFile(
      file,
      '[d]\ntype = "drime"\nworkspace_id = "x1"\n[e]\ntype = "ftp"\n[f]\ntype = "local"\npath = "/f"\ntypo_key = 1\n',
    );
    await assert.rejects(
      resolveServeOptions({ flags: { backendConfig: 'd' }, env: baseEnv(), configFile: file }),
      exitWith(1, /Invalid value for 'workspace_id' in backend 'd' \(.*b\.toml\): 'x1' is not an integer/),
    );
    await assert.rejects(
      resolveServeOptions({ flags: { backendConfig: 'e' }, env: baseEnv(), configFile: file }),
      exitWith(1, /'type' in backend 'e'.*'ftp' \(choices: local, drime\)/),
    );
    const r = await resolveServeOptionsDetailed({
      flags: { backendConfig: 'f' },
      env: baseEnv(),
      configFile: file,
    });
    assert.deepEqual(r.ignoredKeys, ['typo_key']);
  });
});

describe('addServeOptions + explicitFlags', () => {
  function parse(argv: string[]): Command {
    const cmd = addServeOptions(
      new Command('serve').exitOverride().configureOutput({ writeErr: () => undefined }),
    );
    cmd.parse(argv, { from: 'user' });
    return cmd;
  }

  test('declares every flag and --config, with no commander defaults', () => {
    const cmd = parse([]);
    for (const s of SERVE_OPTIONS)
      assert.ok(
        cmd.options.some((o) => o.flags === s.flag),
        s.flag,
      );
    assert.ok(cmd.options.some((o) => o.long === '--config'));
    assert.deepEqual(explicitFlags(cmd), {});
    for (const o of cmd.options) assert.notEqual(cmd.getOptionValueSource(o.attributeName()), 'cli');
  });

  test('only command-line values reach resolve, and they win', async () => {
    const cmd = parse([
      '--no-auth',
      '--debug',
      '--path',
      '/p',
      '--drime-workspace-id',
      '3',
      '--backend',
      'drime',
    ]);
    const flags = explicitFlags(cmd);
    assert.deepEqual(flags, {
      auth: false,
      debug: true,
      path: '/p',
      drimeWorkspaceId: '3',
      backend: 'drime',
    });
    const o = await resolveServeOptions({
      flags,
      env: { ...baseEnv(), S3LOCAL_PATH: '/env', S3LOCAL_NO_AUTH: '0' },
    });
    assert.equal(o.noAuth, true);
    assert.equal(o.debug, true);
    assert.equal(o.path, '/p');
    assert.equal(o.drimeWorkspaceId, 3);
    assert.equal(o.backend, 'drime');
  });

  test('choices are enforced by commander (usage error)', () => {
    assert.throws(
      () => parse(['--backend', 's3']),
      (err: unknown) => (err as { code?: string }).code === 'commander.invalidArgument',
    );
  });

  test('help shows the env vars and defaults from the table', () => {
    const help = addServeOptions(new Command('serve')).helpInformation().replace(/\s+/g, ' ');
    assert.match(help, /--listen <addr> [^-]*\(default: :10001\) \[env: S3LOCAL_LISTEN\]/);
    assert.match(help, /\[env: S3LOCAL_DRIME_API_KEY, DRIME_API_KEY\]/);
    assert.match(help, /--config <file>.*S3LOCAL_CONFIG/s);
    assert.match(help, /choices: "local", "drime"/);
  });
});
