/**
 * s3local as a library: the public API of src/index.ts (what `import ... from 's3local'` gives)
 * in a few lines; listen(0) gives the bound address; close() drains an upload in flight; the
 * options mirror the CLI table; the built package resolves by its name with its type
 * declarations; the README example runs as written.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SERVE_OPTIONS, type ServeOptions } from '../../src/config/options.js';
import { createS3Server, LocalBackend, type S3ServerOptions } from '../../src/index.js';
import { runClient } from '../helpers/clients.js';
import { tempDir } from '../helpers/server.js';
import { get } from './service-helpers.js';

const T = { timeout: 60_000 };
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

describe('library API', () => {
  it('serves S3 in a few lines: listen(0) returns the address, `default` is ready', T, async () => {
    const dir = await tempDir();
    const backend = await LocalBackend.open({ path: dir });
    const server = createS3Server({
      backend,
      accessKeyId: 'lib-key',
      secretAccessKey: 'lib-secret-0123456789',
    });
    const address = await server.listen(0, '127.0.0.1');
    const s3 = new S3Client({
      endpoint: address.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'lib-key', secretAccessKey: 'lib-secret-0123456789' },
      maxAttempts: 1,
    });
    try {
      assert.ok(address.port > 0);
      assert.equal(address.address, '127.0.0.1');
      assert.equal(address.url, `http://127.0.0.1:${address.port}`);
      assert.equal(server.url, address.url);
      assert.equal(server.secure, false);
      await s3.send(new PutObjectCommand({ Bucket: 'default', Key: 'hello.txt', Body: 'Hello' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'default', Key: 'hello.txt' }));
      assert.equal(await got.Body!.transformToString(), 'Hello');
      assert.equal(await readFile(join(dir, 'default', 'hello.txt'), 'utf8'), 'Hello');
    } finally {
      s3.destroy();
      await server.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('listens on every interface without a host; the URL names this machine', T, async () => {
    const dir = await tempDir();
    const backend = await LocalBackend.open({ path: dir });
    const server = createS3Server({ backend, noAuth: true });
    try {
      const { url, port } = await server.listen();
      assert.equal(url, `http://127.0.0.1:${port}`);
      assert.equal((await get(`${url}/_s3local/health`)).status, 200);
    } finally {
      await server.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses contradictory options instead of guessing', T, async () => {
    const dir = await tempDir();
    const backend = await LocalBackend.open({ path: dir });
    try {
      assert.throws(() => createS3Server({ backend }), /accessKeyId and secretAccessKey, or noAuth: true/);
      assert.throws(
        () => createS3Server({ backend, accessKeyId: 'x' }),
        /both accessKeyId and secretAccessKey/,
      );
      assert.throws(
        () => createS3Server({ backend, noAuth: true, accessKeyId: 'x', secretAccessKey: 'y' }),
        /noAuth contradicts/,
      );
      assert.throws(
        () => createS3Server({ backend, noAuth: true, tlsCert: '/x.pem' }),
        /both tlsCert and tlsKey/,
      );
      assert.throws(() => createS3Server({ backend, noAuth: true, maxConnections: 0 }), /maxConnections/);
      assert.throws(() => createS3Server({ backend, noAuth: true, idleTimeout: -1 }), /idleTimeout/);
    } finally {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('close() lets an upload in flight finish, refuses new connections, then resolves', T, async () => {
    const dir = await tempDir();
    const backend = await LocalBackend.open({ path: dir });
    const server = createS3Server({ backend, noAuth: true });
    const { port, url } = await server.listen(0, '127.0.0.1');
    const body = Buffer.alloc(256 * 1024, 7);
    let answered: (v: number) => void;
    const status = new Promise<number>((r) => (answered = r));
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/default/in-flight.bin',
      headers: { 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      res.resume();
      answered(res.statusCode ?? 0);
    });
    req.on('error', () => answered(-1));
    req.write(body.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 200)); // the request is in flight
    let closed = false;
    const closing = server.close(10_000).then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(closed, false, 'close() waits for the request in flight');
    await assert.rejects(get(`${url}/_s3local/health`), 'no new connection is accepted');
    req.end(body.subarray(1000));
    assert.equal(await status, 200);
    await closing;
    assert.equal(closed, true);
    assert.deepEqual(await readFile(join(dir, 'default', 'in-flight.bin')), body);
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('has an option for every option of `s3local serve` that configures the server', () => {
    // Options of the CLI table that choose the process or configure the backend (the options of
    // LocalBackend.open / DrimeBackend.open), not the server.
    const cliOnly = new Set<keyof ServeOptions>([
      'multipartExpiry',
      'path',
      'listen',
      'debug',
      'backend',
      'backendConfig',
      'rootFolder',
      'drimeApiKey',
      'drimeWorkspaceId',
      'drimeApiUrl',
      'drimeDelete',
    ]);
    // Compile-time checked: each name is a key of S3ServerOptions.
    const libraryNames: (keyof S3ServerOptions)[] = [
      'accessKeyId',
      'secretAccessKey',
      'region',
      'noAuth',
      'noSigv2',
      'allowBucketCreation',
      'domain',
      'tlsCert',
      'tlsKey',
      'metricsPublic',
      'logFormat',
      'logLevel',
      'maxConnections',
      'headersTimeout',
      'idleTimeout',
      'maxHeaderSize',
    ];
    const missing = SERVE_OPTIONS.map((s) => s.name).filter(
      (n) => !cliOnly.has(n) && !(libraryNames as string[]).includes(n),
    );
    assert.deepEqual(missing, [], 'CLI options without a library option (add them to S3ServerOptions)');
  });
});

describe('the built package', () => {
  it('resolves by its name, with type declarations', T, async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      name: string;
      exports: { '.': { types: string; default: string } };
    };
    assert.ok(existsSync(join(ROOT, pkg.exports['.'].types)), 'dist/src/index.d.ts is built');
    const dts = await readFile(join(ROOT, pkg.exports['.'].types), 'utf8');
    for (const name of ['createS3Server', 'LocalBackend', 'DrimeBackend', 'S3ServerOptions', 'S3Server']) {
      assert.match(dts, new RegExp(`\\b${name}\\b`), name);
    }
    // A package may import itself by name (self-reference through "exports").
    const specifier = pkg.name;
    const lib = (await import(specifier)) as Record<string, unknown>;
    for (const name of ['createS3Server', 'LocalBackend', 'DrimeBackend', 'S3Error', 'createLogger']) {
      assert.equal(typeof lib[name], 'function', name);
    }
  });

  it('runs the README example as written', T, async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Library use'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(code, 'a ```js block in the "Library use" section');
    assert.match(code, /from 's3local'/);
    // Inside the package, so that `s3local` resolves to this build.
    const file = join(ROOT, 'dist', `readme-example-${process.pid}.mjs`);
    await writeFile(file, code);
    try {
      const r = await runClient(process.execPath, [file], { ...process.env }, 60_000);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), 'Hello from s3local');
    } finally {
      await rm(file, { force: true });
    }
  });
});
