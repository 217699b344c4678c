/**
 * `s3local cache stats|cleanup|vacuum|rebuild` on local stores, through runCli with fake streams:
 * messages, prompts, --yes, exit codes, the store given by --path / --backend-config / env, and
 * the refusal while a server (in this process, or a real `s3local serve` process) holds the store.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../../src/cli/program.js';
import { LocalBackend } from '../../src/storage/local/local-backend.js';
import { bodyFrom } from '../helpers/body.js';
import { CLI, startServeProcess } from '../helpers/serve-process.js';
import { fakeTerminal, KEY } from '../unit/config/fake-terminal.js';

const root = await mkdtemp(join(tmpdir(), 's3local-cli-cache-'));
after(() => rm(root, { recursive: true, force: true }));
let n = 0;
const T = { timeout: 30_000 };

/** A fresh HOME (so no user configuration is read) and a store path under it. */
function fresh(): { env: NodeJS.ProcessEnv; home: string; store: string } {
  const home = join(root, `h${++n}`);
  return {
    home,
    store: join(home, 'store'),
    env: { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), XDG_DATA_HOME: join(home, 'share') },
  };
}

async function run(argv: string[], env: NodeJS.ProcessEnv, opts: { stdin?: string; tty?: boolean } = {}) {
  const t = fakeTerminal({ env, stdin: opts.stdin ?? '', ...(opts.tty === true ? { tty: true } : {}) });
  const code = await runCli(argv, t.ctx);
  return { code, out: t.out(), err: t.err() };
}

/** A store with objects put through the backend (content types and metadata included). */
async function makeStore(path: string, objects: Record<string, Record<string, string>>): Promise<void> {
  const b = await LocalBackend.open({ path });
  try {
    for (const [bucket, keys] of Object.entries(objects)) {
      await b.createBucket(bucket).catch(() => undefined);
      for (const [key, content] of Object.entries(keys)) {
        await b.putObject(bucket, key, bodyFrom(content), {
          headers: { contentType: 'text/plain' },
          metadata: { origin: 'test' },
        });
      }
    }
  } finally {
    await b.close();
  }
}

async function head(path: string, bucket: string, key: string) {
  const b = await LocalBackend.open({ path });
  try {
    return await b.headObject(bucket, key);
  } finally {
    await b.close();
  }
}

describe('cache stats', () => {
  test('no store, an empty store, per-bucket figures, --bucket, --json', T, async () => {
    const { env, store } = fresh();
    let r = await run(['cache', 'stats', '--path', store], env);
    assert.deepEqual(r, {
      code: 1,
      out: '',
      err: `Error: No s3local store at ${store} (there is no .s3local/index.sqlite)\n`,
    });
    await makeStore(store, {});
    r = await run(['cache', 'stats', '--path', store], env);
    assert.deepEqual(r, { code: 0, out: 'Cache is empty\n', err: '' });

    await makeStore(store, {
      default: { a: 'x'.repeat(29), b: 'y'.repeat(2048) },
      photos: { 'p/1.jpg': 'z'.repeat(3 * 1024 * 1024) },
      empty: {},
    });
    r = await run(['cache', 'stats', '--path', store], env);
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      [
        'Local Storage Cache Statistics',
        `Store: ${store}`,
        '',
        'Overall Statistics:',
        '  Total objects: 3',
        '  Total size: 3.0 MB',
        '',
        'Per-Bucket Statistics:',
        '  default:',
        '    Objects: 2',
        '    Size: 2.0 KB',
        '  empty:',
        '    Objects: 0',
        '    Size: 0.0 B',
        '  photos:',
        '    Objects: 1',
        '    Size: 3.0 MB',
        '',
      ].join('\n'),
    );
    r = await run(['cache', 'stats', '--path', store, '--bucket', 'default'], env);
    assert.equal(
      r.out,
      `Cache Statistics - Bucket 'default'\nStore: ${store}\nTotal objects: 2\nTotal size: 2.0 KB\n`,
    );
    r = await run(['cache', 'stats', '--path', store, '--bucket', 'nope'], env);
    assert.deepEqual(r, { code: 0, out: "No cache entries for bucket 'nope'\n", err: '' });
    r = await run(['cache', 'stats', '--path', store, '--json'], env);
    assert.deepEqual(JSON.parse(r.out), {
      store,
      objects: 3,
      bytes: 29 + 2048 + 3 * 1024 * 1024,
      buckets: [
        { name: 'default', objects: 2, bytes: 29 + 2048 },
        { name: 'empty', objects: 0, bytes: 0 },
        { name: 'photos', objects: 1, bytes: 3 * 1024 * 1024 },
      ],
    });
    r = await run(['cache', 'stats', '--path', store, '--bucket', 'default', '--json'], env);
    assert.deepEqual(JSON.parse(r.out), { store, bucket: 'default', objects: 2, bytes: 29 + 2048 });
  });

  test('the store comes from S3LOCAL_PATH, --backend-config, or the default data directory', T, async () => {
    const { env, home, store } = fresh();
    await makeStore(store, { default: { k: '1234' } });
    let r = await run(['cache', 'stats', '--bucket', 'default', '--json'], { ...env, S3LOCAL_PATH: store });
    assert.equal(JSON.parse(r.out).objects, 1);

    r = await run(['config', 'add', 'nas', '--type', 'local', '--path', store], env);
    assert.equal(r.code, 0, r.err);
    r = await run(['cache', 'stats', '--backend-config', 'nas', '--json'], env);
    assert.equal(JSON.parse(r.out).store, store);
    r = await run(['cache', 'stats', '--backend-config', 'missing'], env);
    assert.equal(r.code, 1);
    assert.match(r.err, /Backend config 'missing' not found/);

    const dflt = join(home, 'share', 's3local');
    await makeStore(dflt, { default: { a: '1', b: '2' } });
    r = await run(['cache', 'stats', '--json'], env);
    assert.deepEqual(JSON.parse(r.out), {
      store: dflt,
      objects: 2,
      bytes: 2,
      buckets: [{ name: 'default', objects: 2, bytes: 2 }],
    });
  });
});

describe('cache rebuild', () => {
  test(
    'a one-line summary off a terminal; files added, changed and removed behind the server',
    T,
    async () => {
      const { env, store } = fresh();
      await makeStore(store, { default: { keep: 'k', change: 'v1', remove: 'r' } });
      await writeFile(join(store, 'default', 'change'), 'version 2');
      await rm(join(store, 'default', 'remove'));
      await mkdir(join(store, 'default', 'new', 'dir'), { recursive: true });
      await writeFile(join(store, 'default', 'new', 'dir', 'file'), 'added by rsync');
      await writeFile(join(store, 'default', '.s3local-junk'), 'ignored');
      const r = await run(['cache', 'rebuild', '--path', store], env);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      const lines = r.out.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.out);
      assert.match(
        lines[0] ?? '',
        new RegExp(
          `^✓ Rebuilt the index of ${store.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 3 files \\(\\d+\\.\\d B\\) in ` +
            '[\\d.]+ s \\([\\d,]+ files/s, [\\d.]+ [KMG]?B/s\\): 1 added, 1 updated, 0 moved, 1 removed, 1 unchanged, ' +
            '1 ignored \\(not object files\\)$',
        ),
      );
      const info = await head(store, 'default', 'new/dir/file');
      assert.equal(info.size, 'added by rsync'.length);
    },
  );

  test('a progress bar on a terminal', T, async () => {
    const { env, store } = fresh();
    await makeStore(store, {});
    for (let i = 0; i < 300; i++) {
      await mkdir(join(store, 'default', `d${i % 7}`), { recursive: true });
      await writeFile(join(store, 'default', `d${i % 7}`, `f${i}`), `file ${i}`);
    }
    const r = await run(['cache', 'rebuild', '--path', store], env, { tty: true });
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /\[[#-]+\] +\d+% {2}[\d,]+\/300 files {2}[\d,]+ files\/s {2}[\d.]+ [KMG]?B\/s {2}ETA \d+:\d\d/,
    );
    assert.match(r.out, /✓ Rebuilt the index of .*: 300 files .*300 added/);
  });

  test('--bucket, an unknown bucket, a missing directory', T, async () => {
    const { env, store } = fresh();
    await makeStore(store, { one: { a: '1' }, two: { b: '2' } });
    await writeFile(join(store, 'two', 'c'), '3');
    await writeFile(join(store, 'one', 'd'), '4');
    let r = await run(['cache', 'rebuild', '--path', store, '--bucket', 'two'], env);
    assert.match(r.out, /: 2 files .* 1 added, 0 updated, 0 moved, 0 removed, 1 unchanged$/m);
    r = await run(['cache', 'rebuild', '--path', store, '--bucket', 'nope'], env);
    assert.deepEqual(r, { code: 1, out: '', err: `Error: No bucket 'nope' in the store at ${store}\n` });
    r = await run(['cache', 'rebuild', '--path', join(store, 'missing')], env);
    assert.deepEqual(r, { code: 1, out: '', err: `Error: No such directory: ${join(store, 'missing')}\n` });
  });
});

describe('cache cleanup', () => {
  test('option errors exit 1 with pys3local messages', T, async () => {
    const { env, store } = fresh();
    await makeStore(store, { default: { a: '1' } });
    assert.deepEqual(await run(['cache', 'cleanup', '--path', store], env), {
      code: 1,
      out: '',
      err: 'Error: Must specify --bucket or --all\n',
    });
    assert.deepEqual(await run(['cache', 'cleanup', '--path', store, '--all', '--bucket', 'default'], env), {
      code: 1,
      out: '',
      err: 'Error: Cannot combine --all with --bucket\n',
    });
  });

  test(
    'off a terminal it refuses without --yes; with --yes rows go and come back from the files',
    T,
    async () => {
      const { env, store } = fresh();
      await makeStore(store, { default: { a: 'aa', 'b/c': 'bc' }, other: { x: 'x' } });
      let r = await run(['cache', 'cleanup', '--path', store, '--all'], env);
      assert.equal(r.code, 1);
      assert.equal(
        r.err,
        'Error: Refusing to remove 3 objects from the cache without confirmation: stdin is not a terminal (use --yes)\n',
      );
      assert.equal((await head(store, 'default', 'a')).headers.contentType, 'text/plain', 'nothing removed');

      r = await run(['cache', 'cleanup', '--path', store, '--bucket', 'default', '--yes'], env);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.trimEnd().split('\n');
      assert.equal(lines[0], 'Warning: This will remove 2 objects from the cache.');
      assert.match(lines[1] ?? '', /^The files stay on disk and are indexed again right away/);
      assert.equal(lines[2], "✓ Removed 2 objects for bucket 'default'");
      assert.match(
        lines[3] ?? '',
        /^✓ Rebuilt the index of .*: 2 files .* 2 added, 0 updated, 0 moved, 0 removed, 0 unchanged$/,
      );
      assert.equal(lines.length, 4);
      // The objects are there again (data never deleted), described from their files.
      const a = await head(store, 'default', 'a');
      assert.equal(a.size, 2);
      assert.deepEqual(a.headers, {});
      assert.deepEqual(a.metadata, {});
      assert.equal(
        (await head(store, 'other', 'x')).headers.contentType,
        'text/plain',
        'other bucket untouched',
      );

      r = await run(['cache', 'cleanup', '--path', store, '--bucket', 'nope', '--yes'], env);
      assert.deepEqual(r, { code: 0, out: "No entries found for bucket 'nope'\n", err: '' });
    },
  );

  test('on a terminal: the prompt, "no" aborts (exit 0), "yes" cleans', T, async () => {
    const { env, store } = fresh();
    await makeStore(store, { default: { a: 'aa' } });
    let t = fakeTerminal({ env, tty: true });
    let done = runCli(['cache', 'cleanup', '--path', store, '--all'], t.ctx);
    await t.waitFor('Are you sure? (y/N)');
    await t.type('n', KEY.enter);
    assert.equal(await done, 0);
    assert.match(t.out(), /Warning: This will remove 1 objects from the cache\./);
    assert.match(t.out(), /Aborted\.\n$/);
    assert.equal((await head(store, 'default', 'a')).headers.contentType, 'text/plain');

    t = fakeTerminal({ env, tty: true });
    done = runCli(['cache', 'cleanup', '--path', store, '--all'], t.ctx);
    await t.waitFor('Are you sure? (y/N)');
    await t.type('y', KEY.enter);
    assert.equal(await done, 0);
    assert.match(t.out(), /✓ Removed 1 objects from cache\n/);
    assert.match(t.out(), /✓ Rebuilt the index of .*1 added/);
    assert.deepEqual((await head(store, 'default', 'a')).headers, {});

    const r = await run(['cache', 'cleanup', '--path', store, '--all', '--yes'], env);
    assert.equal(r.code, 0);
    await run(['cache', 'cleanup', '--path', store, '--all', '--yes'], env);
    await rm(join(store, 'default', 'a'));
    await run(['cache', 'rebuild', '--path', store], env);
    assert.deepEqual(await run(['cache', 'cleanup', '--path', store, '--all'], env), {
      code: 0,
      out: 'Cache is already empty\n',
      err: '',
    });
  });
});

describe('cache cleanup and multipart uploads', () => {
  test('uploads started more than 7 days ago are removed, recent ones kept', T, async () => {
    const { env, store } = fresh();
    await makeStore(store, { default: {} });
    const b = await LocalBackend.open({ path: store });
    let old: string;
    let recent: string;
    try {
      old = (await b.multipart.createUpload('default', 'old', { headers: {}, metadata: {} })).uploadId;
      recent = (await b.multipart.createUpload('default', 'recent', { headers: {}, metadata: {} })).uploadId;
    } finally {
      await b.close();
    }
    const db = new Database(join(store, '.s3local', 'index.sqlite'));
    db.prepare('UPDATE multipart_uploads SET initiated = ? WHERE upload_id = ?').run(
      Date.now() - 8 * 24 * 3600 * 1000,
      old,
    );
    db.close();
    const r = await run(['cache', 'cleanup', '--path', store, '--all', '--yes'], env);
    assert.deepEqual(r, {
      code: 0,
      out:
        'Cache is already empty\n' +
        '✓ Removed 1 abandoned multipart uploads (started more than 7 days ago)\n',
      err: '',
    });
    const again = await LocalBackend.open({ path: store, multipartExpiryMs: 0 });
    try {
      const page = await again.multipart.listUploads('default', {
        prefix: '',
        delimiter: '',
        keyMarker: '',
        uploadIdMarker: '',
        maxUploads: 10,
      });
      assert.deepEqual(
        page.uploads.map((u) => u.uploadId),
        [recent],
      );
    } finally {
      await again.close();
    }
  });
});

describe('cache vacuum', () => {
  test('prints Before/After and Saved when it shrank', T, async () => {
    const { env, store } = fresh();
    const many: Record<string, string> = {};
    for (let i = 0; i < 400; i++) many[`k${i}`] = 'v';
    await makeStore(store, { default: many });
    for (const k of Object.keys(many)) await rm(join(store, 'default', k));
    await run(['cache', 'rebuild', '--path', store], env);
    const r = await run(['cache', 'vacuum', '--path', store], env);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^Optimizing cache database\.\.\.\n✓ Database optimized\n {2}Before: [\d.]+ KB\n {2}After: [\d.]+ KB\n {2}Saved: [\d.]+ KB\n$/,
    );
    assert.deepEqual(await run(['cache', 'vacuum', '--path', join(store, 'none')], env), {
      code: 1,
      out: '',
      err: `Error: No s3local store at ${join(store, 'none')} (there is no .s3local/index.sqlite)\n`,
    });
  });
});

describe('the store lock', () => {
  test(
    'rebuild, cleanup and vacuum refuse while this process holds the store; stats still reads',
    T,
    async () => {
      const { env, store } = fresh();
      await makeStore(store, { default: { a: '1' } });
      const held = await LocalBackend.open({ path: store });
      try {
        const msg = `Error: the store at ${store} is in use by s3local (pid ${process.pid}); stop the server first\n`;
        for (const argv of [
          ['cache', 'rebuild', '--path', store],
          ['cache', 'cleanup', '--path', store, '--all', '--yes'],
          ['cache', 'vacuum', '--path', store],
        ]) {
          assert.deepEqual(await run(argv, env), { code: 1, out: '', err: msg }, argv.join(' '));
        }
        const r = await run(['cache', 'stats', '--path', store, '--json'], env);
        assert.equal(JSON.parse(r.out).objects, 1);
      } finally {
        await held.close();
      }
      assert.equal((await run(['cache', 'rebuild', '--path', store], env)).code, 0);
    },
  );

  test(
    'a running `s3local serve` holds the store: rebuild refuses, a second server refuses to start',
    T,
    async () => {
      const { env, store } = fresh();
      const childEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } as NodeJS.ProcessEnv;
      const server = await startServeProcess(
        ['--path', store, '--listen', '127.0.0.1:0', '--no-auth'],
        childEnv,
      );
      try {
        const pid = server.child.pid;
        const r = await run(['cache', 'rebuild', '--path', store], env);
        assert.deepEqual(r, {
          code: 1,
          out: '',
          err: `Error: the store at ${store} is in use by s3local (pid ${pid}); stop the server first\n`,
        });
        const second = spawn(
          process.execPath,
          [CLI, 'serve', '--path', store, '--listen', '127.0.0.1:0', '--no-auth'],
          {
            env: childEnv,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let err = '';
        second.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const code = await new Promise<number | null>((resolve, reject) => {
          const timer = setTimeout(() => {
            second.kill('SIGKILL');
            reject(new Error('the second server did not exit'));
          }, 15_000);
          second.on('exit', (c) => {
            clearTimeout(timer);
            resolve(c);
          });
        });
        assert.equal(code, 1);
        assert.equal(err, `Error: the store at ${store} is in use by s3local (pid ${pid})\n`);
      } finally {
        assert.equal(await server.stop(), 0);
      }
      // Stopped: the store is free again, and the temp dir is clean.
      assert.equal((await run(['cache', 'rebuild', '--path', store], env)).code, 0);
      assert.deepEqual(await readdir(join(store, '.s3local', 'tmp')), []);
    },
  );
});
