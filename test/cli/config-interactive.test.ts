/**
 * The interactive `s3local config` menu, driven through in-memory streams flagged as a terminal:
 * @inquirer/prompts reads the keys we type and draws on our stdout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../../src/cli/program.js';
import { BackendsFile } from '../../src/config/backends-file.js';
import { fakeTerminal, KEY } from '../unit/config/fake-terminal.js';

const root = mkdtempSync(join(tmpdir(), 's3local-cli-interactive-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function freshEnv(): { env: NodeJS.ProcessEnv; file: string } {
  const file = join(root, `c${++n}`, 'backends.toml');
  return { env: { HOME: join(root, 'home'), S3LOCAL_CONFIG: file }, file };
}

/** Picks menu entry `k` (1-5) by its number, as in pys3local's numbered menu. */
async function menu(t: ReturnType<typeof fakeTerminal>, k: number): Promise<void> {
  await t.waitFor('Choose an action');
  await t.type(String(k), KEY.enter);
}

/** Rejects after `ms`, so a hung prompt fails the test instead of hanging it. */
function deadline<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

test('interactive: list, add (with invalid input), show, replace refused, remove, exit', async () => {
  const { env, file } = freshEnv();
  const t = fakeTerminal({ env, tty: true });
  const done = deadline(runCli(['config'], t.ctx));

  await t.waitFor('s3local Configuration Manager');
  await t.waitFor(`Backends file: ${file}`);

  await menu(t, 1);
  await t.waitFor('No backends configured');

  // Add a local backend; an invalid name and an empty path are refused in place.
  await menu(t, 2);
  await t.waitFor('Backend name');
  await t.type('../bad', KEY.enter);
  await t.waitFor('Backend name must start with a letter or digit');
  await t.type(...Array<string>(6).fill(KEY.backspace), 'nas', KEY.enter);
  await t.waitFor('Backend type');
  await t.type(KEY.enter); // local is first
  await t.waitFor('Base path');
  await t.type(KEY.enter);
  await t.waitFor('Base path cannot be empty');
  await t.type('/srv/nas', KEY.enter);
  await t.waitFor("✓ Backend 'nas' added successfully");

  // Add a drime backend: the key is masked, a bad workspace id is refused.
  await menu(t, 2);
  await t.waitFor('Backend name');
  await t.type('cloud', KEY.enter);
  await t.waitFor('Backend type');
  await t.type(KEY.down, KEY.enter);
  await t.waitFor('Drime API key');
  await t.type('tok|abc');
  await t.type(KEY.enter);
  await t.waitFor('Workspace ID (0 for personal)');
  await t.type('x', KEY.enter);
  await t.waitFor('Workspace ID must be a whole number');
  await t.type(KEY.backspace, '7', KEY.enter);
  await t.waitFor('Root folder (optional');
  await t.type('backups/s3', KEY.enter);
  await t.waitFor('Drime API URL');
  await t.type(KEY.enter);
  await t.waitFor("✓ Backend 'cloud' added successfully");
  assert.ok(!t.out().includes('tok|abc'), 'the API key is never echoed');

  await menu(t, 1);
  await t.waitFor('Configured backends:\n  • nas (local)\n  • cloud (drime)');

  await menu(t, 3);
  await t.waitFor('Backend to show');
  await t.type(KEY.down, KEY.enter);
  await t.waitFor(
    'Backend: cloud\nType: drime\nConfiguration:\n  api_key: <hidden>\n  workspace_id: 7\n  root_folder: backups/s3\n',
  );

  // Adding an existing name asks before replacing; the default is no.
  await menu(t, 2);
  await t.waitFor('Backend name');
  await t.type('nas', KEY.enter);
  await t.waitFor("Backend 'nas' already exists. Replace it?");
  await t.type(KEY.enter);
  await t.waitFor('Nothing changed.');

  await menu(t, 4);
  await t.waitFor('Backend to remove');
  await t.type(KEY.enter); // nas
  await t.waitFor("Remove backend 'nas'?");
  await t.type('y', KEY.enter);
  await t.waitFor("✓ Backend 'nas' removed");

  await menu(t, 5);
  await t.waitFor('Exiting configuration manager.');
  assert.equal(await done, 0);
  assert.equal(t.err(), '');

  const doc = await BackendsFile.load(file);
  assert.deepEqual(doc.names(), ['cloud']);
  assert.deepEqual(doc.get('cloud').values, {
    api_key: 'tok|abc',
    workspace_id: 7,
    root_folder: 'backups/s3',
  });
  assert.ok(!(await readFile(file, 'utf8')).includes('tok|abc'), 'stored obscured');
});

test('interactive: show and remove with no backends', async () => {
  const { env } = freshEnv();
  const t = fakeTerminal({ env, tty: true });
  const done = deadline(runCli(['config'], t.ctx));
  await menu(t, 3);
  await t.waitFor('No backends configured');
  await menu(t, 4);
  await t.waitFor('No backends configured');
  await menu(t, 5);
  assert.equal(await done, 0);
});

test('interactive: Ctrl-C at the menu exits 130', async () => {
  const { env } = freshEnv();
  const t = fakeTerminal({ env, tty: true });
  const done = deadline(runCli(['config'], t.ctx));
  await t.waitFor('Choose an action');
  await t.type(KEY.ctrlC);
  assert.equal(await done, 130);
  assert.match(t.err(), /Aborted\./);
});

test('interactive: Ctrl-C in the middle of add writes nothing', async () => {
  const { env, file } = freshEnv();
  const t = fakeTerminal({ env, tty: true });
  const done = deadline(runCli(['config'], t.ctx));
  await menu(t, 2);
  await t.waitFor('Backend name');
  await t.type('half', KEY.enter);
  await t.waitFor('Backend type');
  await t.type(KEY.down, KEY.enter);
  await t.waitFor('Drime API key');
  await t.type('secret', KEY.ctrlC);
  assert.equal(await done, 130);
  assert.deepEqual((await BackendsFile.load(file)).names(), []);
});

test('interactive: the end of input leaves cleanly (exit 130) instead of hanging', async () => {
  const { env } = freshEnv();
  const t = fakeTerminal({ env, tty: true });
  const done = deadline(runCli(['config'], t.ctx));
  await t.waitFor('Choose an action');
  t.stdin.end();
  assert.equal(await done, 130);
});
