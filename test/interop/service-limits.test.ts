/**
 * Limits and hygiene of a real server: slow clients are cut (headers that never complete, a body
 * that stops) while a slow-but-steady 50 MiB upload completes; oversized headers and XML bodies,
 * too many connections and a full disk each get a clear S3 error; a failed write leaves no temp
 * file and the previous object intact. Timeouts are shortened so the file runs in seconds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { LocalBackend, createS3Server, parseMetrics } from '../../src/index.js';
import { errorCode } from '../helpers/sign.js';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';
import { canMount, get, mountCmd, rawConnect, sample } from './service-helpers.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PUTs `total` bytes in `chunk`-sized writes every `everyMs`, pausing `pauses` (chunk index -> ms). */
function steadyPut(
  port: number,
  path: string,
  data: Buffer,
  chunk: number,
  everyMs: number,
  pauses: Map<number, number>,
): Promise<{ status: number; etag: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path,
        headers: { 'content-length': String(data.length), 'content-type': 'application/octet-stream' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, etag: res.headers.etag?.replace(/"/g, ''), text }),
        );
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('steady upload timed out')));
    void (async () => {
      for (let i = 0, off = 0; off < data.length; i++, off += chunk) {
        const more = req.write(data.subarray(off, off + chunk));
        const pause = pauses.get(i);
        if (pause !== undefined) await sleep(pause);
        else if (!more) await new Promise((r) => req.once('drain', r));
        else await sleep(everyMs);
      }
      req.end();
    })().catch(reject);
  });
}

describe('slow clients', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ noAuth: true, server: { headersTimeout: 1000, idleTimeout: 2000 } });
  });
  after(async () => {
    await srv.close();
  });

  it(
    'cuts a slow-loris client and a stalled body while a slow-but-steady 50 MiB upload completes',
    { timeout: 60_000 },
    async () => {
      const data = randomBytes(50 * 1024 * 1024);
      const started = Date.now();
      // 64 KiB every 8 ms, with two pauses of 1.5 s (under the 2 s idle timeout): longer in total
      // than both timeouts together, never idle for 2 s.
      const steady = steadyPut(
        srv.port,
        '/default/steady.bin',
        data,
        64 * 1024,
        8,
        new Map([
          [100, 1500],
          [400, 1500],
        ]),
      );

      // Slow loris: headers trickle in, one byte every 200 ms, never complete.
      const loris = await rawConnect(srv.port);
      const lorisStarted = Date.now();
      const head = `PUT /default/loris HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\nX-Slow: `;
      loris.socket.write(head);
      const dribble = setInterval(() => {
        if (!loris.isClosed()) loris.socket.write('a');
      }, 200);
      // A body that stops: headers complete, 100 KiB of 1 MiB sent, then nothing.
      const stall = await rawConnect(srv.port);
      const stallStarted = Date.now();
      stall.socket.write(
        `PUT /default/stalled.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${1024 * 1024}\r\n\r\n`,
      );
      stall.socket.write(randomBytes(100 * 1024));

      try {
        await Promise.race([loris.closed, sleep(10_000)]);
        assert.ok(loris.isClosed(), 'the slow-loris connection was closed');
        const lorisMs = Date.now() - lorisStarted;
        assert.ok(lorisMs >= 900 && lorisMs < 5000, `loris cut after ${lorisMs} ms`);
        assert.match(loris.received(), /^HTTP\/1\.1 400 /);
        assert.equal(errorCode(loris.received()), 'RequestTimeout');

        await Promise.race([stall.closed, sleep(10_000)]);
        assert.ok(stall.isClosed(), 'the stalled upload was closed');
        const stallMs = Date.now() - stallStarted;
        assert.ok(stallMs >= 1900 && stallMs < 8000, `stalled body cut after ${stallMs} ms`);
        assert.match(stall.received(), /^HTTP\/1\.1 400 /);
        assert.equal(errorCode(stall.received()), 'RequestTimeout');
        assert.match(stall.received(), /\r\nconnection: close\r\n/i);

        const done = await steady;
        const tookMs = Date.now() - started;
        assert.equal(done.status, 200, done.text);
        assert.equal(done.etag, md5(data));
        assert.ok(tookMs > 3000, `the steady upload ran ${tookMs} ms, longer than both timeouts`);
      } finally {
        clearInterval(dribble);
        loris.socket.destroy();
        stall.socket.destroy();
      }
      assert.equal(md5(await readFile(join(srv.dataDir, 'default', 'steady.bin'))), md5(data));
      await assert.rejects(readFile(join(srv.dataDir, 'default', 'stalled.bin')), { code: 'ENOENT' });
      assert.deepEqual(await readdir(join(srv.dataDir, '.s3local', 'tmp')), [], 'no temp file left');
      const m = parseMetrics(srv.server.metricsText());
      assert.equal(sample(m, 's3local_request_timeouts_total', { phase: 'headers' }), 1);
      assert.equal(sample(m, 's3local_request_timeouts_total', { phase: 'body' }), 1);
    },
  );

  it(
    'keeps an idle keep-alive connection open for the keep-alive time, then closes it',
    { timeout: 20_000 },
    async () => {
      const short = await startServer({ noAuth: true, server: { keepAliveTimeout: 1000 } });
      const conn = await rawConnect(short.port);
      try {
        conn.socket.write('GET /_s3local/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await sleep(300);
        assert.match(conn.received(), /^HTTP\/1\.1 200 /);
        assert.equal(conn.isClosed(), false, 'keep-alive: open after the response');
        await Promise.race([conn.closed, sleep(5000)]);
        assert.equal(conn.isClosed(), true, 'closed once idle for the keep-alive time');
      } finally {
        conn.socket.destroy();
        await short.close();
      }
    },
  );
});

describe('size limits', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ noAuth: true, server: { maxHeaderSize: 8192 } });
  });
  after(async () => {
    await srv.close();
  });

  it(
    'answers oversized headers with 400 RequestHeaderSectionTooLarge and MaxSizeAllowed',
    { timeout: 20_000 },
    async () => {
      const conn = await rawConnect(srv.port);
      conn.socket.write(`GET /default/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(10_000)}\r\n\r\n`);
      await Promise.race([conn.closed, sleep(5000)]);
      assert.ok(conn.isClosed());
      assert.match(conn.received(), /^HTTP\/1\.1 400 /);
      assert.equal(errorCode(conn.received()), 'RequestHeaderSectionTooLarge');
      assert.match(conn.received(), /<MaxSizeAllowed>8192<\/MaxSizeAllowed>/);
      // The server is fine afterwards.
      assert.equal((await get(`${srv.endpoint}/_s3local/health`)).status, 200);
    },
  );

  it('answers a malformed request line with 400 InvalidRequest', { timeout: 20_000 }, async () => {
    const conn = await rawConnect(srv.port);
    conn.socket.write('THIS IS NOT HTTP\r\n\r\n');
    await Promise.race([conn.closed, sleep(5000)]);
    assert.match(conn.received(), /^HTTP\/1\.1 400 /);
    assert.equal(errorCode(conn.received()), 'InvalidRequest');
  });

  it('refuses an XML body over the limit with MaxMessageLengthExceeded', { timeout: 20_000 }, async () => {
    const xml = Buffer.from(
      `<Delete>${`<Object><Key>${'k'.repeat(1000)}</Key></Object>`.repeat(2200)}</Delete>`,
    );
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: srv.port,
          method: 'POST',
          path: '/default?delete',
          headers: {
            'content-length': String(xml.length),
            'content-md5': createHash('md5').update(xml).digest('base64'),
          },
        },
        (r) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(xml);
    });
    assert.ok(xml.length > 2 * 1024 * 1024);
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.text), 'MaxMessageLengthExceeded');
  });
});

describe('an error answered before the body was read', () => {
  it(
    'reads and discards the rest of a body of declared length, so the client reads the error and can reuse the connection',
    { timeout: 20_000 },
    async () => {
      const srv = await startServer({ noAuth: true });
      const conn = await rawConnect(srv.port);
      try {
        const size = 2 * 1024 * 1024;
        // A PUT into a bucket that does not exist is refused before its body is read.
        conn.socket.write(
          `PUT /no-such-bucket-here/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\n\r\n`,
        );
        conn.socket.write(Buffer.alloc(64 * 1024, 1));
        await waitForData(conn, /\r\n\r\n[\s\S]*<\/Error>/);
        assert.match(conn.received(), /^HTTP\/1\.1 404 /);
        assert.equal(errorCode(conn.received()), 'NoSuchBucket');
        assert.doesNotMatch(conn.received(), /\r\nconnection: close\r\n/i);
        // The client goes on sending what it declared, as clients do, then asks again.
        await new Promise<void>((resolve, reject) =>
          conn.socket.write(Buffer.alloc(size - 64 * 1024, 2), (err) => (err ? reject(err) : resolve())),
        );
        conn.socket.write('GET /_s3local/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await waitForData(conn, /HTTP\/1\.1 404 [\s\S]*HTTP\/1\.1 200 /);
        assert.equal(conn.isClosed(), false);
      } finally {
        conn.socket.destroy();
        await srv.close();
      }
    },
  );

  it(
    'closes the connection after the error when the body is larger than it would read',
    { timeout: 20_000 },
    async () => {
      const srv = await startServer({ noAuth: true });
      const conn = await rawConnect(srv.port);
      try {
        conn.socket.write(
          `PUT /no-such-bucket-here/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${1024 ** 3}\r\n\r\n`,
        );
        conn.socket.write(Buffer.alloc(64 * 1024, 1));
        await waitForData(conn, /\r\n\r\n[\s\S]*<\/Error>/);
        assert.match(conn.received(), /^HTTP\/1\.1 404 /);
        assert.match(conn.received(), /\r\nconnection: close\r\n/i);
        await Promise.race([conn.closed, sleep(5000)]);
        assert.ok(conn.isClosed(), 'the connection is closed');
      } finally {
        conn.socket.destroy();
        await srv.close();
      }
    },
  );
});

describe('connection limit', () => {
  it(
    'answers requests on connections beyond maxConnections with 503 SlowDown, then recovers',
    { timeout: 20_000 },
    async () => {
      const srv = await startServer({ noAuth: true, server: { maxConnections: 2 } });
      const conns = [];
      try {
        const ask = 'GET /_s3local/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
        for (let i = 0; i < 2; i++) {
          const c = await rawConnect(srv.port);
          conns.push(c);
          c.socket.write(ask);
        }
        for (const c of conns) {
          await waitForData(c, /\r\n\r\n/);
          assert.match(c.received(), /^HTTP\/1\.1 200 /);
        }
        const third = await rawConnect(srv.port);
        third.socket.write(ask);
        await Promise.race([third.closed, sleep(5000)]);
        assert.ok(third.isClosed(), 'the extra connection is closed after the answer');
        assert.match(third.received(), /^HTTP\/1\.1 503 /);
        assert.match(third.received(), /\r\nretry-after: 1\r\n/i);
        assert.equal(errorCode(third.received()), 'SlowDown');
        // The connections within the limit still work.
        conns[0]!.socket.write(ask);
        await waitForData(conns[0]!, /HTTP\/1\.1 200[\s\S]*HTTP\/1\.1 200 /);
        // One goes away: a new connection is served again.
        conns[1]!.socket.destroy();
        await conns[1]!.closed;
        await sleep(50);
        const fourth = await rawConnect(srv.port);
        conns.push(fourth);
        fourth.socket.write(ask);
        await waitForData(fourth, /\r\n\r\n/);
        assert.match(fourth.received(), /^HTTP\/1\.1 200 /);
        const m = parseMetrics(srv.server.metricsText());
        assert.equal(sample(m, 's3local_connections_rejected_total'), 1);
        assert.equal(sample(m, 's3local_requests_total', { operation: 'unrouted', status: '503' }), 1);
      } finally {
        for (const c of conns) c.socket.destroy();
        await srv.close();
      }
    },
  );
});

async function waitForData(c: { received(): string }, re: RegExp): Promise<void> {
  const until = Date.now() + 5000;
  while (!re.test(c.received())) {
    if (Date.now() > until) throw new Error(`no ${re} in ${JSON.stringify(c.received())}`);
    await sleep(10);
  }
}

describe('disk full', () => {
  let dir: string;
  let mountable = false;
  before(async () => {
    dir = await tempDir('s3local-full-');
    mountable = await canMount(dir);
    if (!mountable)
      process.stderr.write('\n*** SKIPPING the disk-full test: cannot mount a tmpfs here ***\n\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it(
    '507 InsufficientStorage on a full tmpfs: no temp file, previous object intact, health 503',
    { timeout: 60_000 },
    async (t) => {
      if (!mountable) {
        t.skip('mounting a tmpfs needs root with CAP_SYS_ADMIN');
        return;
      }
      await mountCmd(['mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', dir]);
      try {
        const backend = await LocalBackend.open({ path: join(dir, 'data') });
        const server = createS3Server({ backend, noAuth: true });
        const { port, url } = await server.listen(0, '127.0.0.1');
        try {
          const put = (key: string, body: Buffer) =>
            steadyPut(port, `/default/${key}`, body, 256 * 1024, 0, new Map());
          const original = randomBytes(1024 * 1024);
          assert.equal((await put('keep.bin', original)).status, 200);

          // Overwriting with more than the disk holds fails cleanly.
          const tooBig = randomBytes(12 * 1024 * 1024);
          const over = await put('keep.bin', tooBig);
          assert.equal(over.status, 507, over.text);
          assert.equal(errorCode(over.text), 'InsufficientStorage');
          assert.match(over.text, /Not enough storage space/);
          const fresh = await put('fresh.bin', tooBig);
          assert.equal(fresh.status, 507);
          assert.deepEqual(await readdir(join(dir, 'data', '.s3local', 'tmp')), [], 'temp files removed');
          const got = await get(`${url}/default/keep.bin`);
          assert.equal(got.status, 200);
          assert.equal(
            md5(await readFile(join(dir, 'data', 'default', 'keep.bin'))),
            md5(original),
            'previous object intact',
          );
          assert.equal((await get(`${url}/default/fresh.bin`)).status, 404, 'no torn object');
          assert.equal(
            (await get(`${url}/_s3local/health`)).status,
            200,
            'space is back once the temp file is gone',
          );

          // Disk filled by something else: health says so, and recovers when space is freed.
          const filler = join(dir, 'filler');
          await writeFile(filler, Buffer.alloc(16 * 1024 * 1024)).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOSPC') throw err;
          });
          const full = await get(`${url}/_s3local/health`);
          assert.equal(full.status, 503);
          assert.match((JSON.parse(full.text) as { reason: string }).reason, /\(ENOSPC\)/);
          await rm(filler);
          assert.equal((await get(`${url}/_s3local/health`)).status, 200);
        } finally {
          await server.close();
          await backend.close();
        }
      } finally {
        await mountCmd(['umount', '-l', dir]);
      }
    },
  );
});
