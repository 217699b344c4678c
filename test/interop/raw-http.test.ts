/**
 * Raw HTTP against a real server: traversal attempts, malformed XML, digests and checksums that do
 * not match (nothing stored, old object intact), unknown sub-resources (501), and a client that
 * disconnects mid-upload (no partial object, no temp file left).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { BACKSLASH_SEPARATES } from '../../src/storage/local/key-path.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const md5b64 = (b: Buffer | string) => createHash('md5').update(b).digest('base64');

describe('raw HTTP', () => {
  let srv: TestServer;
  let sandbox: string;
  before(async () => {
    // The store sits in a private directory, so "nothing outside it changed" is checked against
    // a directory no other test touches.
    sandbox = await tempDir('s3local-raw-');
    await mkdir(join(sandbox, 'data'));
    srv = await startServer({ dataDir: join(sandbox, 'data') });
  });
  after(async () => {
    await srv.close();
    await rm(sandbox, { recursive: true, force: true });
  });

  const put = (path: string, body: string, headers: Record<string, string> = {}) =>
    rawRequest(srv.endpoint, { method: 'PUT', path, body, headers, payloadHash: sha256(body) });
  const get = (path: string) => rawRequest(srv.endpoint, { method: 'GET', path });

  it('refuses traversal attempts and touches nothing outside the bucket', async () => {
    const outside = sandbox;
    const before = new Set(await readdir(outside));
    for (const path of [
      '/default/../escape-1',
      '/default/%2e%2e/escape-2',
      '/default/%2e%2e%2fescape-3',
      '/default/a/%2e%2e/%2e%2e/%2e%2e/escape-4',
      '/default//tmp/escape-5',
      // A backslash is refused only on Windows, where it separates paths; elsewhere that key is a plain name.
      ...(BACKSLASH_SEPARATES ? ['/default/a%5c..%5c..%5cescape-6'] : []),
      '/default/nul%00byte',
      '/default/./dot',
    ]) {
      const res = await put(path, 'evil');
      assert.equal(res.status, 400, `${path}: ${res.text}`);
      assert.ok(
        ['InvalidArgument', 'InvalidURI', 'KeyTooLongError'].includes(errorCode(res.text) ?? ''),
        res.text,
      );
    }
    if (!BACKSLASH_SEPARATES) {
      const plain = await put('/default/a%5c..%5c..%5cescape-6', 'plain');
      assert.equal(plain.status, 200, plain.text);
      assert.equal((await get('/default/a%5c..%5c..%5cescape-6')).text, 'plain');
    }
    assert.deepEqual(new Set(await readdir(outside)), before);
    assert.ok(!existsSync(join(srv.dataDir, 'escape-2')));
    // the bucket itself via '..'
    const res = await put('/../x', 'evil');
    assert.equal(res.status, 400);
  });

  it('answers 501 NotImplemented for unimplemented sub-resources, never a listing or an overwrite', async () => {
    await put('/default/sub.txt', 'original');
    for (const [method, path] of [
      ['GET', '/default?cors'],
      ['GET', '/default?policy'],
      ['GET', '/default?lifecycle'],
      ['GET', '/default?replication'],
      ['GET', '/default?tagging'],
      ['PUT', '/default?policy'],
      ['GET', '/default/sub.txt?attributes'],
      ['PUT', '/default?tagging'],
      ['PUT', '/default?cors'],
      ['DELETE', '/default?tagging'],
    ] as const) {
      const res = await rawRequest(srv.endpoint, {
        method,
        path,
        body: method === 'PUT' ? '<Tagging/>' : undefined,
        payloadHash: method === 'PUT' ? sha256('<Tagging/>') : undefined,
      });
      assert.equal(res.status, 501, `${method} ${path}`);
      assert.equal(errorCode(res.text), 'NotImplemented');
      assert.match(res.text, /<RequestId>[0-9A-F]+<\/RequestId>/);
      assert.ok(res.headers['x-amz-request-id']);
    }
    assert.equal((await get('/default/sub.txt')).text, 'original');
  });

  it('answers MalformedXML for a bad DeleteObjects body', async () => {
    for (const body of ['<Delete><Object><Key>a</Key></Object>', 'not xml at all', '<Other/>']) {
      const res = await rawRequest(srv.endpoint, {
        method: 'POST',
        path: '/default?delete',
        body,
        headers: { 'content-md5': md5b64(body) },
        payloadHash: sha256(body),
      });
      assert.equal(res.status, 400, body);
      assert.equal(errorCode(res.text), 'MalformedXML');
    }
    const body = '<Delete><Object><Key>a</Key></Object></Delete>';
    const noMd5 = await rawRequest(srv.endpoint, {
      method: 'POST',
      path: '/default?delete',
      body,
      payloadHash: sha256(body),
    });
    assert.equal(noMd5.status, 400);
    assert.equal(errorCode(noMd5.text), 'InvalidRequest');
  });

  it('rejects a wrong Content-MD5 with BadDigest and keeps the old object', async () => {
    await put('/default/md5.txt', 'old content');
    const res = await put('/default/md5.txt', 'new content', { 'content-md5': md5b64('something else') });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.text), 'BadDigest');
    assert.equal((await get('/default/md5.txt')).text, 'old content');
    const bad = await put('/default/md5.txt', 'new content', { 'content-md5': 'not base64!' });
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad.text), 'InvalidDigest');
  });

  it('rejects a trailer checksum mismatch: nothing stored, old object intact', async () => {
    await put('/default/trailer.txt', 'old trailer content');
    const data = 'hello trailer';
    const body = `${data.length.toString(16)}\r\n${data}\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`;
    const res = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: '/default/trailer.txt',
      body,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(data.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
    });
    assert.equal(res.status, 400, res.text);
    assert.equal(errorCode(res.text), 'BadDigest');
    assert.equal((await get('/default/trailer.txt')).text, 'old trailer content');
  });

  it('stores an unsigned-trailer aws-chunked body decoded, without framing', async () => {
    const data = 'hello trailer';
    const { crc32 } = await import('node:zlib');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(data));
    const body = `${data.length.toString(16)}\r\n${data}\r\n0\r\nx-amz-checksum-crc32:${crc.toString('base64')}\r\n\r\n`;
    const res = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: '/default/trailer-ok.txt',
      body,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(data.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
    });
    assert.equal(res.status, 200, res.text);
    const got = await get('/default/trailer-ok.txt');
    assert.equal(got.text, data);
    assert.equal(got.headers['content-encoding'], undefined);
  });

  it('leaves no partial object and no temp file when the client disconnects mid-upload', async () => {
    await put('/default/disconnect.bin', 'previous');
    const url = new URL(srv.endpoint);
    // An unsigned-payload PUT announcing 10 MiB, cut after 1 MiB.
    const { SignatureV4 } = await import('@smithy/signature-v4');
    const { Sha256 } = await import('../helpers/sign.js');
    const { TEST_CREDENTIALS } = await import('../helpers/server.js');
    const signer = new SignatureV4({
      credentials: TEST_CREDENTIALS,
      region: 'us-east-1',
      service: 's3',
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/default/disconnect.bin',
      headers: {
        host: url.host,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'content-length': String(10 * 1024 * 1024),
      },
    });
    await new Promise<void>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname, () => {
        let head = 'PUT /default/disconnect.bin HTTP/1.1\r\n';
        for (const [k, v] of Object.entries(signed.headers)) head += `${k}: ${v}\r\n`;
        sock.write(head + '\r\n');
        sock.write(Buffer.alloc(1024 * 1024, 7), () => {
          setTimeout(() => {
            sock.destroy();
            resolve();
          }, 100);
        });
      });
      sock.on('error', reject);
    });
    const tmp = join(srv.dataDir, '.s3local', 'tmp');
    const deadline = Date.now() + 5000;
    while ((await readdir(tmp)).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await readdir(tmp), []);
    assert.equal((await get('/default/disconnect.bin')).text, 'previous');
    assert.equal(await readFile(join(srv.dataDir, 'default', 'disconnect.bin'), 'utf8'), 'previous');
  });

  it('puts a folder marker and a key colliding with a directory', async () => {
    assert.equal((await put('/default/dir/', '')).status, 200);
    assert.equal((await put('/default/dir/child', 'child')).status, 200);
    assert.equal((await put('/default/dir', 'file named like the dir')).status, 200);
    assert.equal((await get('/default/dir')).text, 'file named like the dir');
    assert.equal((await get('/default/dir/child')).text, 'child');
    assert.equal((await get('/default/dir/')).status, 200);
    const list = await get('/default?list-type=2&prefix=dir');
    for (const k of ['<Key>dir</Key>', '<Key>dir/</Key>', '<Key>dir/child</Key>'])
      assert.ok(list.text.includes(k), k);
  });

  it('ignores Expect values other than 100-continue, as S3 does (no 417)', async () => {
    // ceph/s3-tests test_object_create_bad_expect_mismatch / _empty: "garbage, but S3 succeeds!"
    for (const expect of ['200', '']) {
      const res = await put(`/default/expect-${expect || 'empty'}`, 'body', { expect });
      assert.equal(res.status, 200, `Expect: ${expect} -> ${res.status} ${res.text}`);
    }
    assert.equal((await get('/default/expect-200')).text, 'body');
  });

  it('a browser form upload (POST Object) answers 501 NotImplemented, not 403', async () => {
    // It carries no signed headers (its form holds the policy and signature).
    const boundary = 'b0undary';
    const form = [
      `--${boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nform.txt\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nhello\r\n`,
      `--${boundary}--\r\n`,
    ].join('');
    const res = await rawRequest(srv.endpoint, {
      method: 'POST',
      path: '/default',
      body: form,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      unsigned: true,
    });
    assert.equal(res.status, 501, res.text);
    assert.equal(errorCode(res.text), 'NotImplemented');
    assert.equal((await get('/default/form.txt')).status, 404);
  });

  it('answers anonymous requests with AccessDenied and every error with request ids', async () => {
    const res = await rawRequest(srv.endpoint, { method: 'GET', path: '/default/x', unsigned: true });
    assert.equal(res.status, 403);
    assert.equal(errorCode(res.text), 'AccessDenied');
    assert.match(res.text, /<Resource>\/default\/x<\/Resource>/);
    assert.ok(res.headers['x-amz-id-2']);
  });
});
