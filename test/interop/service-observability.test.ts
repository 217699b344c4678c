/**
 * Health, metrics and logs of a real server: `/_s3local/health` answers without credentials and
 * flips to 503 when the store stops taking writes (failures injected that stop root too);
 * `/_s3local/metrics` is protected by the S3 credentials and its counters move with the requests
 * made (scraped and parsed); the access log has one line per request, in text or JSON, never a
 * secret, and an error is logged once with its request id.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { LocalBackend, createS3Server, type StorageBackend } from '../../src/index.js';
import { rawRequest, errorCode } from '../helpers/sign.js';
import { startServer, tempDir, TEST_CREDENTIALS, type TestServer } from '../helpers/server.js';
import { basic, canMount, get, LogSink, mountCmd, sample, scrape, waitFor } from './service-helpers.js';

const T = { timeout: 60_000 };
const creds = basic(TEST_CREDENTIALS.accessKeyId, TEST_CREDENTIALS.secretAccessKey);

describe('health', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  it('answers 200 without credentials, GET and HEAD, with a JSON body', T, async () => {
    const res = await get(`${srv.endpoint}/_s3local/health`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(JSON.parse(res.text), { status: 'ok', backend: 'local' });
    assert.match(String(res.headers['x-amz-request-id']), /^[0-9A-F]{16}$/);
    const head = await get(`${srv.endpoint}/_s3local/health`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    const post = await rawRequest(srv.endpoint, { method: 'POST', path: '/_s3local/health' });
    assert.equal(post.status, 405);
    assert.equal(errorCode(post.text), 'MethodNotAllowed');
  });

  it('is not intercepted for virtual-host style requests: there it is an object key', T, async () => {
    const res = await get(`${srv.endpoint}/_s3local/health`, { headers: { host: 'default.localhost' } });
    assert.equal(res.status, 403, 'an anonymous GetObject on bucket default');
    assert.equal(errorCode(res.text), 'AccessDenied');
  });

  it('flips to 503 when .s3local/tmp cannot take a file (a file in its place), and back', T, async () => {
    // chmod does not stop root: replace the temp directory by a regular file (ENOTDIR for anyone).
    const tmp = join(srv.dataDir, '.s3local', 'tmp');
    await rmdir(tmp);
    await writeFile(tmp, 'not a directory');
    try {
      const res = await get(`${srv.endpoint}/_s3local/health`);
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '5');
      const doc = JSON.parse(res.text) as { status: string; reason: string };
      assert.equal(doc.status, 'unavailable');
      assert.match(doc.reason, /does not take writes \(ENOTDIR\)/);
      assert.ok(!doc.reason.includes(srv.dataDir), 'no path in an unauthenticated answer');
    } finally {
      await rm(tmp);
      await mkdir(tmp, { mode: 0o700 });
    }
    assert.equal((await get(`${srv.endpoint}/_s3local/health`)).status, 200);
  });

  it('flips to 503 while another process holds the index write lock, and back', T, async () => {
    // What `sqlite3 index.sqlite` left in a transaction, or a stuck maintenance tool, does.
    const other = new Database(join(srv.dataDir, '.s3local', 'index.sqlite'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const res = await get(`${srv.endpoint}/_s3local/health`);
      assert.equal(res.status, 503);
      assert.match(
        (JSON.parse(res.text) as { reason: string }).reason,
        /the index cannot be written \(SQLITE_BUSY\)/,
      );
      other.exec('ROLLBACK');
      assert.equal((await get(`${srv.endpoint}/_s3local/health`)).status, 200);
    } finally {
      other.close();
    }
  });
});

describe('health on a read-only mount', () => {
  let dir: string;
  let mountable = false;
  before(async () => {
    dir = await tempDir('s3local-ro-');
    mountable = await canMount(dir);
    if (!mountable)
      process.stderr.write('\n*** SKIPPING the read-only mount test: cannot mount a tmpfs here ***\n\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('flips to 503 (EROFS) when the store is remounted read-only, and back', T, async (t) => {
    if (!mountable) {
      t.skip('mounting a tmpfs needs root with CAP_SYS_ADMIN; the ENOTDIR injection above still runs');
      return;
    }
    // A real read-only file system, which stops root too. Linux refuses to remount a file system
    // read-only while a file on it is open for writing (the index is), so the file system that
    // goes read-only is the one every write lands on first: a tmpfs mounted on .s3local/tmp.
    const data = join(dir, 'data');
    const tmp = join(data, '.s3local', 'tmp');
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    await mountCmd(['mount', '-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', tmp]);
    try {
      const backend = await LocalBackend.open({ path: data });
      const server = createS3Server({ backend, noAuth: true });
      const { url } = await server.listen(0, '127.0.0.1');
      try {
        assert.equal((await get(`${url}/_s3local/health`)).status, 200);
        await mountCmd(['mount', '-o', 'remount,ro', tmp]);
        const res = await get(`${url}/_s3local/health`);
        assert.equal(res.status, 503);
        assert.match((JSON.parse(res.text) as { reason: string }).reason, /does not take writes \(EROFS\)/);
        await mountCmd(['mount', '-o', 'remount,rw', tmp]);
        assert.equal((await get(`${url}/_s3local/health`)).status, 200);
      } finally {
        await server.close();
        await backend.close();
      }
    } finally {
      await mountCmd(['umount', '-l', tmp]);
    }
  });
});

describe('metrics', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ advanced: true });
  });
  after(async () => {
    await srv.close();
  });

  it('needs the S3 credentials: Basic or a signature; anonymous and wrong ones are refused', T, async () => {
    const anonymous = await get(`${srv.endpoint}/_s3local/metrics`);
    assert.equal(anonymous.status, 403);
    assert.equal(errorCode(anonymous.text), 'AccessDenied');
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="s3local"/);
    assert.match(anonymous.text, /--metrics-public/);
    const wrong = await get(`${srv.endpoint}/_s3local/metrics`, {
      headers: basic(TEST_CREDENTIALS.accessKeyId, 'wrong-secret'),
    });
    assert.equal(wrong.status, 403);
    const ok = await get(`${srv.endpoint}/_s3local/metrics`, { headers: creds });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const signed = await rawRequest(srv.endpoint, { method: 'GET', path: '/_s3local/metrics' });
    assert.equal(signed.status, 200, signed.text);
    assert.match(signed.text, /^# HELP s3local_info /m);
    // Signed for another region: refused like any S3 request.
    const badSig = await rawRequest(srv.endpoint, {
      method: 'GET',
      path: '/_s3local/metrics',
      region: 'eu-west-1',
    });
    assert.equal(badSig.status, 400);
    assert.equal(errorCode(badSig.text), 'AuthorizationHeaderMalformed');
  });

  it('are public with metricsPublic, and under noAuth', T, async () => {
    for (const extra of [{ metricsPublic: true }, {}]) {
      const dir = await tempDir();
      const backend = await LocalBackend.open({ path: dir });
      const server = createS3Server({
        backend,
        ...('metricsPublic' in extra ? TEST_CREDENTIALS : { noAuth: true }),
        ...extra,
      });
      const { url } = await server.listen(0, '127.0.0.1');
      try {
        assert.equal((await get(`${url}/_s3local/metrics`)).status, 200);
      } finally {
        await server.close();
        await backend.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  it('count requests by operation and status, bytes, latency; per-bucket objects and bytes', T, async (t) => {
    // A fresh server: per-bucket figures are cached for a moment between scrapes.
    const srv = await startServer({ advanced: true });
    t.after(() => srv.close());
    const s3 = srv.client();
    await srv.backend.createBucket('photos');
    await srv.backend.createBucket('empty');
    const bodies = [randomBytes(1000), randomBytes(20_000), randomBytes(300_000)];
    for (const [i, Body] of bodies.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: `p/${i}.jpg`, Body }));
    }
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'p/big.bin' }));
    assert.ok(upload.UploadId);
    // The first scrape after the writes: exact per-bucket figures from the index.
    const m1 = await scrape(srv.endpoint, creds);
    assert.equal(sample(m1, 's3local_bucket_objects', { bucket: 'photos' }), 3);
    assert.equal(
      sample(m1, 's3local_bucket_bytes', { bucket: 'photos' }),
      bodies.reduce((n, b) => n + b.length, 0),
    );
    assert.equal(sample(m1, 's3local_bucket_objects', { bucket: 'empty' }), 0);
    assert.equal(sample(m1, 's3local_multipart_uploads_open'), 1);
    assert.ok(m1.some((s) => s.name === 's3local_bucket_objects' && s.labels.bucket === 'empty'));
    assert.equal(sample(m1, 's3local_requests_total', { operation: 'PutObject', status: '200' }), 3);
    assert.equal(sample(m1, 's3local_requests_in_flight'), 1, 'the scrape itself');
    assert.ok(sample(m1, 's3local_connections_open') >= 1);
    assert.equal(sample(m1, 's3local_info', { backend: 'local' }), 1);

    // More requests, then the counters moved by exactly what was done.
    const body = randomBytes(50_000);
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'p/more.jpg', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'p/more.jpg' }));
    await got.Body!.transformToByteArray();
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'nope' })), {
      name: 'NoSuchKey',
    });
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'nope' })));
    const m2 = await scrape(srv.endpoint, creds);
    const delta = (name: string, labels: Record<string, string>) =>
      sample(m2, name, labels) - sample(m1, name, labels);
    assert.equal(delta('s3local_requests_total', { operation: 'PutObject', status: '200' }), 1);
    assert.equal(delta('s3local_requests_total', { operation: 'GetObject', status: '200' }), 1);
    assert.equal(delta('s3local_requests_total', { operation: 'GetObject', status: '404' }), 1);
    assert.equal(delta('s3local_requests_total', { operation: 'HeadObject', status: '404' }), 1);
    assert.equal(delta('s3local_requests_total', { operation: 'Metrics', status: '200' }), 1);
    const putIn = delta('s3local_received_bytes_total', { operation: 'PutObject' });
    assert.ok(putIn >= body.length && putIn < body.length + 8192, `PutObject bytes in: ${putIn}`);
    const getOut = delta('s3local_sent_bytes_total', { operation: 'GetObject' });
    assert.ok(getOut >= body.length && getOut < body.length + 8192, `GetObject bytes out: ${getOut}`);
    assert.equal(delta('s3local_request_duration_seconds_count', { operation: 'PutObject' }), 1);
    assert.equal(delta('s3local_request_duration_seconds_bucket', { operation: 'PutObject', le: '+Inf' }), 1);
    const sum = sample(m2, 's3local_request_duration_seconds_sum', { operation: 'PutObject' });
    assert.ok(sum > 0 && sum < 60, `latency sum ${sum}`);
    // Histogram buckets are cumulative.
    const buckets = m2.filter(
      (s) => s.name === 's3local_request_duration_seconds_bucket' && s.labels.operation === 'PutObject',
    );
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
  });
});

/** Delegates to `backend`, except the methods in `override`. */
function faulty(backend: LocalBackend, override: Partial<StorageBackend>): StorageBackend {
  return new Proxy(backend, {
    get(target, prop) {
      if (Object.hasOwn(override, prop)) return override[prop as keyof StorageBackend];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('logs', () => {
  it(
    'JSON access log: one line per request with every field, the request id of the response',
    T,
    async () => {
      const sink = new LogSink();
      const srv = await startServer({ server: { logStream: sink, logFormat: 'json' } });
      try {
        const s3 = srv.client();
        const put = await s3.send(
          new PutObjectCommand({ Bucket: 'default', Key: 'dir/a b.txt', Body: 'x'.repeat(1234) }),
        );
        const putId = put.$metadata.requestId;
        await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'default', Key: 'missing' })));
        await waitFor('3 lines', () => sink.lines().length >= 3);
        const lines = sink.json();
        const access = lines.filter((l) => l.msg === 'request');
        assert.equal(access.length, 2, sink.text);
        const [p, g] = access;
        assert.equal(p!.id, putId);
        assert.equal(p!.level, 'info');
        assert.equal(p!.operation, 'PutObject');
        assert.equal(p!.method, 'PUT');
        assert.equal(p!.bucket, 'default');
        assert.equal(p!.key, 'dir/a b.txt');
        assert.equal(p!.status, 200);
        assert.equal(p!.remote, '127.0.0.1');
        assert.equal(p!.user, TEST_CREDENTIALS.accessKeyId);
        assert.ok((p!.bytesIn as number) >= 1234);
        assert.ok((p!.bytesOut as number) > 0);
        assert.equal(typeof p!.ms, 'number');
        assert.ok(!Number.isNaN(Date.parse(p!.time as string)));
        assert.equal(g!.status, 404);
        assert.equal(g!.error, 'NoSuchKey');
        assert.equal(g!.operation, 'GetObject');
        assert.equal(lines.find((l) => l.msg === 'listening')?.url, srv.endpoint);
      } finally {
        await srv.close();
      }
    },
  );

  it('text access log: readable, keys with spaces quoted; --log-level warn hides it', T, async () => {
    const sink = new LogSink();
    const srv = await startServer({ server: { logStream: sink } });
    const quiet = new LogSink();
    const srv2 = await startServer({ server: { logStream: quiet, logLevel: 'warn' } });
    try {
      await srv.client().send(new PutObjectCommand({ Bucket: 'default', Key: 'dir/a b.txt', Body: 'hello' }));
      await srv2.client().send(new PutObjectCommand({ Bucket: 'default', Key: 'k', Body: 'hello' }));
      await waitFor('the access line', () => sink.text.includes('PutObject'));
      const line = sink.lines().find((l) => l.includes('PutObject'))!;
      assert.match(
        line,
        /^\d{4}-\d\d-\d\dT\S+Z INFO {2}200 PutObject "default\/dir\/a b\.txt" in=\S+B out=\S+B \d+ms 127\.0\.0\.1 user=S3LTESTKEY0123456789 id=[0-9A-F]{16}$/,
      );
      assert.equal(quiet.text, '', 'nothing below warn');
    } finally {
      await srv.close();
      await srv2.close();
    }
  });

  it(
    'never logs secrets: not the secret key, a signature, or a presigned URL, even at debug',
    T,
    async () => {
      const sink = new LogSink();
      const srv = await startServer({ server: { logStream: sink, logLevel: 'debug', logFormat: 'json' } });
      try {
        const s3 = srv.client();
        await s3.send(new PutObjectCommand({ Bucket: 'default', Key: 'secret-test', Body: 'x' }));
        const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'default', Key: 'secret-test' }), {
          expiresIn: 300,
        });
        assert.equal((await fetch(url)).status, 200);
        const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
        const bad = await rawRequest(srv.endpoint, {
          method: 'GET',
          path: '/default/secret-test',
          region: 'eu-west-1',
        });
        assert.equal(bad.status, 400);
        await get(`${srv.endpoint}/_s3local/metrics`, { headers: creds });
        await waitFor('4 access lines', () => sink.json().filter((l) => l.msg === 'request').length >= 4);
        assert.ok(!sink.text.includes(TEST_CREDENTIALS.secretAccessKey), 'the secret');
        assert.ok(!sink.text.includes(signature), 'a presigned signature');
        assert.ok(!sink.text.includes('Signature='), 'an Authorization header');
        assert.ok(!sink.text.includes(creds.authorization!.slice(6)), 'Basic credentials');
        assert.ok(!sink.text.includes('X-Amz-Credential'), 'a presigned query string');
      } finally {
        await srv.close();
      }
    },
  );

  it('logs an internal error once, with the request id; the client sees no detail', T, async () => {
    const sink = new LogSink();
    const dir = await tempDir();
    const backend = await LocalBackend.open({ path: dir });
    const server = createS3Server({
      backend: faulty(backend, {
        headObject: () => Promise.reject(new Error(`disk controller on fire at ${dir}/secret/path`)),
      }),
      ...TEST_CREDENTIALS,
      logStream: sink,
      logFormat: 'json',
    });
    const { url } = await server.listen(0, '127.0.0.1');
    try {
      const res = await rawRequest(url, { method: 'HEAD', path: '/default/some-key' });
      assert.equal(res.status, 500);
      const id = String(res.headers['x-amz-request-id']);
      const res2 = await rawRequest(url, { method: 'GET', path: '/default/some-key?x=1' });
      assert.equal(res2.status, 500);
      assert.equal(errorCode(res2.text), 'InternalError');
      assert.ok(!res2.text.includes('on fire') && !res2.text.includes(dir), 'no detail in the response');
      await waitFor('the access lines', () => sink.json().filter((l) => l.msg === 'request').length >= 2);
      const lines = sink.json();
      const errors = lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 2, 'one error line per failed request');
      const first = errors.find((l) => l.id === id);
      assert.ok(first, 'the error line carries the request id');
      assert.equal(first.op, 'HeadObject');
      assert.match(String(first.error), /disk controller on fire/);
      const access = lines.find((l) => l.msg === 'request' && l.id === id)!;
      assert.equal(access.status, 500);
      assert.equal(access.error, 'InternalError');
      assert.equal(
        lines.filter((l) => l.id === id).length,
        2,
        'the error line and the access line, nothing more',
      );
    } finally {
      await server.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stats() sums every bucket page by page (page boundaries included)', T, async () => {
    const srv = await startServer({ advanced: true });
    try {
      const s3 = srv.client();
      for (const b of ['aaa', 'bbb', 'ccc']) await srv.backend.createBucket(b);
      let bytesA = 0;
      for (let i = 0; i < 10; i++) {
        const Body = randomBytes(100 + i);
        bytesA += Body.length;
        await s3.send(new PutObjectCommand({ Bucket: 'aaa', Key: `k${i}`, Body }));
      }
      for (let i = 0; i < 3; i++)
        await s3.send(new PutObjectCommand({ Bucket: 'bbb', Key: `k${i}`, Body: 'xy' }));
      const expected = [
        { name: 'aaa', objects: 10, bytes: bytesA },
        { name: 'bbb', objects: 3, bytes: 6 },
        { name: 'ccc', objects: 0, bytes: 0 },
      ];
      for (const pageSize of [1, 3, 5, 10, 10_000]) {
        assert.deepEqual((await srv.backend.stats(pageSize)).buckets, expected, `page size ${pageSize}`);
      }
    } finally {
      await srv.close();
    }
  });
});
