import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'smol-toml';
import { writeFileAtomic } from '../../../src/config/atomic-file.js';
import {
  backendNameProblem,
  BackendsFile,
  BackendsFileError,
  SECRET_KEYS,
} from '../../../src/config/backends-file.js';
import { obscure, reveal } from '../../../src/config/obscure.js';

const root = mkdtempSync(join(tmpdir(), 's3local-backends-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `case-${++n}`, 'conf', 'backends.toml');

describe('BackendsFile', () => {
  test('a missing file is an empty set of backends', async () => {
    const doc = await BackendsFile.load(fresh());
    assert.deepEqual(doc.names(), []);
    assert.equal(doc.has('x'), false);
    assert.throws(() => doc.get('x'), BackendsFileError);
  });

  test('writes one [name] table per backend, secrets obscured, mode 0600 in a 0700 dir', async () => {
    const file = fresh();
    const doc = await BackendsFile.load(file);
    doc.set({ name: 'nas', type: 'local', values: { path: '/srv/s3' } });
    doc.set({
      name: 'cloud',
      type: 'drime',
      values: { api_key: 'tok|secret-123', workspace_id: 7, root_folder: 'backups/s3', api_url: undefined },
    });
    await doc.save();

    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes('tok|secret-123'), 'the API key is not stored in clear');
    const data = parse(text) as Record<string, Record<string, unknown>>;
    assert.deepEqual(structuredClone(data.nas), { type: 'local', path: '/srv/s3' });
    assert.equal(data.cloud!.type, 'drime');
    assert.equal(data.cloud!.workspace_id, 7);
    assert.equal(data.cloud!.root_folder, 'backups/s3');
    assert.equal('api_url' in data.cloud!, false);
    assert.equal(reveal(data.cloud!.api_key as string), 'tok|secret-123', 'stored with rclone obscure');

    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(file, '..'))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(join(file, '..')), ['backends.toml'], 'no temp file left behind');

    const back = await BackendsFile.load(file);
    assert.deepEqual(back.names(), ['nas', 'cloud']);
    assert.deepEqual(back.get('cloud'), {
      name: 'cloud',
      type: 'drime',
      values: { api_key: 'tok|secret-123', workspace_id: 7, root_folder: 'backups/s3' },
    });
    assert.deepEqual(back.get('nas').values, { path: '/srv/s3' });
  });

  test('every secret key of the option table is obscured', async () => {
    assert.ok(
      SECRET_KEYS.has('api_key') && SECRET_KEYS.has('secret_access_key') && SECRET_KEYS.has('password'),
    );
    const file = fresh();
    const doc = await BackendsFile.load(file);
    doc.set({ name: 'l', type: 'local', values: { path: '/p', secret_access_key: 'SK', password: 'PW' } });
    await doc.save();
    const data = parse(await readFile(file, 'utf8')) as Record<string, Record<string, string>>;
    assert.equal(reveal(data.l!.secret_access_key!), 'SK');
    assert.equal(reveal(data.l!.password!), 'PW');
    assert.deepEqual((await BackendsFile.load(file)).get('l').values, {
      path: '/p',
      secret_access_key: 'SK',
      password: 'PW',
    });
  });

  test('keeps unknown keys, unknown tables, comments and big integers of untouched backends', async () => {
    const file = fresh();
    await mkdir(join(file, '..'), { recursive: true });
    const original = [
      '# my backends, hand-written',
      'version_hint = 3',
      '',
      '# the NAS in the cellar',
      '[nas]',
      'type = "local"   # plain files',
      'path = "/srv/nas"',
      'future_option = true',
      'huge = 9007199254740993',
      '',
      '[nas.extra]',
      'note = "nested table"',
      '',
      '# old drime account',
      '[old]',
      'type = "drime"',
      `api_key = "${obscure('old-key')}"`,
      '',
      '["my.dotted"]',
      'type = "local"',
      'path = "/d"',
      '',
    ].join('\n');
    await writeFile(file, original);
    const doc = await BackendsFile.load(file);
    assert.deepEqual(doc.names(), ['nas', 'old', 'my.dotted']);
    assert.equal(doc.serialize(), original, 'nothing changed: text kept byte for byte');

    doc.remove('old');
    doc.set({ name: 'new', type: 'local', values: { path: '/new', custom: 'kept' } });
    await doc.save();
    const text = await readFile(file, 'utf8');
    assert.ok(text.startsWith('# my backends, hand-written\nversion_hint = 3\n'), text);
    assert.ok(text.includes('# the NAS in the cellar\n[nas]\ntype = "local"   # plain files\n'), text);
    assert.ok(text.includes('huge = 9007199254740993'), text);
    assert.ok(!text.includes('old drime account'), 'the removed table takes its comment with it');
    assert.ok(!text.includes('[old]'));

    const back = await BackendsFile.load(file);
    assert.deepEqual(back.names(), ['nas', 'my.dotted', 'new']);
    assert.deepEqual(structuredClone(back.get('nas').values), {
      path: '/srv/nas',
      future_option: true,
      huge: 9007199254740993n,
      extra: { note: 'nested table' },
    });
    assert.deepEqual(back.get('new').values, { path: '/new', custom: 'kept' });
    assert.equal(back.get('my.dotted').values.path, '/d');
  });

  test('replacing a backend rewrites only its table', async () => {
    const file = fresh();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(
      file,
      '[a]\ntype = "local"\npath = "/a" # keep me\n\n# about b\n[b]\ntype = "local"\npath = "/b"\n',
    );
    const doc = await BackendsFile.load(file);
    doc.set({ name: 'b', type: 'local', values: { path: '/b2' } });
    await doc.save();
    const text = await readFile(file, 'utf8');
    assert.ok(text.includes('path = "/a" # keep me'), text);
    assert.ok(text.includes('# about b\n[b]\n'), 'a replaced table keeps the comment above it');
    assert.deepEqual((await BackendsFile.load(file)).get('b').values, { path: '/b2' });
    // A second change on the same object uses the text just written.
    doc.set({ name: 'c', type: 'local', values: { path: '/c' } });
    await doc.save();
    const again = await BackendsFile.load(file);
    assert.deepEqual(again.names(), ['a', 'b', 'c']);
    assert.ok((await readFile(file, 'utf8')).includes('# keep me'));
  });

  test('falls back to a plain rewrite when the text cannot be kept safely', async () => {
    const file = fresh();
    await mkdir(join(file, '..'), { recursive: true });
    // A backend defined with dotted keys at the root has no [header] to replace.
    await writeFile(file, 'a.type = "local"\na.path = "/a"\n\n[b]\ntype = "local"\npath = "/b"\n');
    const doc = await BackendsFile.load(file);
    doc.set({ name: 'a', type: 'local', values: { path: '/a2' } });
    await doc.save();
    const back = await BackendsFile.load(file);
    assert.deepEqual(back.get('a').values, { path: '/a2' });
    assert.deepEqual(back.get('b').values, { path: '/b' });
  });

  test('a secret that does not reveal is an error naming the backend and the key', async () => {
    const file = fresh();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(
      file,
      [
        '[plain]',
        'type = "drime"',
        'api_key = "123|my-token-in-clear"',
        '[short]',
        'type = "drime"',
        'api_key = "aGVsbG8"',
        '[number]',
        'type = "drime"',
        'api_key = 42',
        '[ok]',
        'type = "drime"',
        `api_key = "${obscure('fine')}"`,
        '[empty]',
        'type = "drime"',
        'api_key = ""',
        '',
      ].join('\n'),
    );
    const doc = await BackendsFile.load(file);
    for (const name of ['plain', 'short', 'number']) {
      assert.throws(
        () => doc.get(name),
        (err: unknown) =>
          err instanceof BackendsFileError &&
          err.message.includes(`Backend '${name}'`) &&
          err.message.includes("'api_key'") &&
          err.message.includes(file),
        name,
      );
    }
    assert.equal(doc.get('ok').values.api_key, 'fine');
    assert.equal(doc.get('empty').values.api_key, '', 'an empty secret is simply empty');
    // Listing and types do not need the secrets.
    assert.deepEqual(doc.names(), ['plain', 'short', 'number', 'ok', 'empty']);
    assert.equal(doc.typeOf('plain'), 'drime');
  });

  test('a value that reveals to control characters is refused (clear text that decoded by chance)', () => {
    const doc = BackendsFile.fromText(
      '/x.toml',
      `[b]\ntype = "drime"\napi_key = "${obscure('ab\u0001c')}"\n`,
    );
    assert.throws(() => doc.get('b'), /Backend 'b': 'api_key' in \/x\.toml does not reveal to text/);
  });

  test('a missing type means local; a bad TOML file is a clear error', () => {
    const doc = BackendsFile.fromText('/x.toml', '[t]\npath = "/p"\n');
    assert.equal(doc.get('t').type, 'local');
    assert.throws(() => BackendsFile.fromText('/x.toml', '[t\npath = '), /Cannot parse \/x\.toml/);
  });

  test('names are validated: no path separators, no leading dot or dash', () => {
    for (const bad of ['', '../x', 'a/b', 'a\\b', '.hidden', '-x', 'a b', 'é', 'x'.repeat(65)]) {
      assert.notEqual(backendNameProblem(bad), undefined, bad);
    }
    for (const good of ['nas', 'my-backend_1.2', 'A', '0', 'constructor']) {
      assert.equal(backendNameProblem(good), undefined, good);
    }
    const doc = BackendsFile.fromText('/x.toml', '');
    assert.throws(
      () => doc.set({ name: '../evil', type: 'local', values: { path: '/p' } }),
      BackendsFileError,
    );
  });

  test('names that are Object.prototype properties are ordinary backends', async () => {
    const file = fresh();
    const doc = await BackendsFile.load(file);
    doc.set({ name: 'constructor', type: 'local', values: { path: '/c' } });
    doc.set({ name: 'toString', type: 'local', values: { path: '/t' } });
    await doc.save();
    const back = await BackendsFile.load(file);
    assert.deepEqual(back.names(), ['constructor', 'toString']);
    assert.equal(back.get('toString').values.path, '/t');
    assert.equal(back.has('hasOwnProperty'), false);
  });
});

describe('writeFileAtomic', () => {
  test('writes through a symlink, keeping the link', async () => {
    const dir = join(root, 'symlink');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'real.toml'), 'old');
    await symlink('real.toml', join(dir, 'link.toml'));
    await writeFileAtomic(join(dir, 'link.toml'), 'new');
    assert.equal(await readFile(join(dir, 'real.toml'), 'utf8'), 'new');
    assert.ok((await import('node:fs')).lstatSync(join(dir, 'link.toml')).isSymbolicLink());
    assert.equal((await stat(join(dir, 'real.toml'))).mode & 0o777, 0o600);
  });

  test('a failed replace leaves the old content and no temp file', async () => {
    const dir = join(root, 'fail');
    const target = join(dir, 'target');
    await mkdir(join(target, 'inside'), { recursive: true }); // rename over a non-empty directory fails
    await assert.rejects(writeFileAtomic(target, 'data'));
    assert.deepEqual(await readdir(dir), ['target']);
    assert.deepEqual(await readdir(target), ['inside']);
  });
});
