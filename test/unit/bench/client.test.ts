import assert from 'node:assert/strict';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  awsChunkedLength,
  BenchClient,
  UnexpectedStatusError,
  type PayloadMode,
} from '../../../bench/client.js';
import { startLimitServer, type LimitServer } from '../../../bench/limit-server.js';
import { payloadSlices } from '../../../bench/payload.js';
import { chunkSignature, Signer } from '../../../bench/sigv4.js';

const ACCESS = {
  accessKeyId: 'AKBENCH',
  secretAccessKey: 'bench-secret',
  region: 'us-east-1',
  bucket: 'default',
};

function withTimeout<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}

function payload(size: number): Buffer {
  return Buffer.concat([...payloadSlices(size)]);
}

interface Captured {
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A server that records each request's headers and raw body and answers 200. */
async function captureServer(): Promise<{ port: number; requests: Captured[]; close(): Promise<void> }> {
  const requests: Captured[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { etag: '"x"', 'content-length': 0 }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    port: address.port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Splits an aws-chunked body into chunk headers, data and what follows the last chunk. */
function parseChunked(body: Buffer): { headers: string[]; data: Buffer; tail: string } {
  const headers: string[] = [];
  const data: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    assert.ok(eol > at, 'chunk header line');
    const header = body.subarray(at, eol).toString('latin1');
    headers.push(header);
    const size = parseInt(header.split(';')[0] ?? '', 16);
    at = eol + 2;
    if (size === 0) return { headers, data: Buffer.concat(data), tail: body.subarray(at).toString('latin1') };
    data.push(body.subarray(at, at + size));
    at += size;
    assert.equal(body.subarray(at, at + 2).toString('latin1'), '\r\n', 'CRLF after chunk data');
    at += 2;
  }
}

describe('bench client: payload modes on the wire', () => {
  let cap: Awaited<ReturnType<typeof captureServer>>;
  let client: BenchClient;
  before(async () => {
    cap = await captureServer();
    client = new BenchClient({ host: '127.0.0.1', port: cap.port, ...ACCESS, chunkSize: 16 * 1024 });
  });
  after(async () => {
    client.close();
    await cap.close();
  });

  // Small bodies go out in one write, larger ones are streamed: cover both paths.
  const SIZES = [40 * 1024 + 5, 300 * 1024 + 5];
  const CHUNK = 16 * 1024;

  const send = async (mode: PayloadMode, size: number): Promise<Captured> => {
    cap.requests.length = 0;
    await withTimeout(client.putObject('k', size, mode));
    assert.equal(cap.requests.length, 1);
    const r = cap.requests[0];
    assert.ok(r);
    assert.equal(Number(r.headers['content-length']), r.body.length, 'Content-Length matches the bytes sent');
    return r;
  };

  for (const size of SIZES) {
    it(`UNSIGNED-PAYLOAD and signed payload send the plain bytes (${size} B)`, async () => {
      const plain = await send('unsigned', size);
      assert.equal(plain.headers['x-amz-content-sha256'], 'UNSIGNED-PAYLOAD');
      assert.ok(plain.body.equals(payload(size)));
      const signed = await send('signed', size);
      assert.equal(
        signed.headers['x-amz-content-sha256'],
        createHash('sha256').update(payload(size)).digest('hex'),
      );
      assert.ok(signed.body.equals(payload(size)));
    });

    it(`signed aws-chunked: framing, decoded length and a valid signature chain (${size} B)`, async () => {
      const r = await send('aws-chunked', size);
      assert.equal(r.headers['x-amz-content-sha256'], 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
      assert.equal(r.headers['content-encoding'], 'aws-chunked');
      assert.equal(r.headers['x-amz-decoded-content-length'], String(size));
      assert.equal(r.body.length, awsChunkedLength(size, CHUNK, true, ''));
      const { headers, data, tail } = parseChunked(r.body);
      assert.ok(data.equals(payload(size)));
      assert.equal(tail, '\r\n');
      const pieces: Buffer[] = [];
      for (let at = 0; at < size; at += CHUNK) pieces.push(data.subarray(at, Math.min(size, at + CHUNK)));
      pieces.push(Buffer.alloc(0));
      assert.deepEqual(
        headers.map((h) => h.split(';')[0]),
        pieces.map((p) => p.length.toString(16)),
      );
      // Recompute the chain from the Authorization header's seed signature.
      const seed = /Signature=([0-9a-f]{64})/.exec(String(r.headers.authorization))?.[1] ?? '';
      const amzDate = String(r.headers['x-amz-date']);
      const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
      const key = new Signer(ACCESS).signingKey(amzDate.slice(0, 8));
      let previous = seed;
      pieces.forEach((piece, i) => {
        previous = chunkSignature(
          key,
          amzDate,
          scope,
          previous,
          createHash('sha256').update(piece).digest('hex'),
        );
        assert.equal(headers[i]?.split(';')[1], `chunk-signature=${previous}`, `chunk ${i}`);
      });
    });

    it(`unsigned trailer CRC32 and CRC64NVME carry the checksum of the decoded bytes (${size} B)`, async () => {
      const c32 = await send('trailer-crc32', size);
      assert.equal(c32.headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
      assert.equal(c32.headers['x-amz-trailer'], 'x-amz-checksum-crc32');
      const p32 = parseChunked(c32.body);
      assert.ok(p32.data.equals(payload(size)));
      const want32 = Buffer.alloc(4);
      want32.writeUInt32BE(crc32(payload(size)) >>> 0);
      assert.equal(p32.tail, `x-amz-checksum-crc32:${want32.toString('base64')}\r\n\r\n`);

      const c64 = await send('trailer-crc64nvme', size);
      assert.equal(c64.headers['x-amz-trailer'], 'x-amz-checksum-crc64nvme');
      const p64 = parseChunked(c64.body);
      assert.ok(p64.data.equals(payload(size)));
      const crc = new Crc64Nvme();
      crc.update(payload(size));
      const want64 = Buffer.from(await crc.digest()).toString('base64');
      assert.equal(p64.tail, `x-amz-checksum-crc64nvme:${want64}\r\n\r\n`);
      assert.equal(
        c64.body.length,
        awsChunkedLength(size, CHUNK, false, `x-amz-checksum-crc64nvme:${want64}\r\n`),
      );
    });
  }
});

describe('bench limit server driven by the bench client', () => {
  let dir: string;
  let limit: LimitServer;
  let client: BenchClient;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3local-bench-limit-'));
    limit = await startLimitServer(dir);
    client = new BenchClient({ host: '127.0.0.1', port: limit.port, ...ACCESS });
  });
  after(async () => {
    client.close();
    await limit.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('PUT, GET, HEAD, list in pages, DELETE', async () => {
    const keys = ['a/1', 'a/2', 'a/3', 'b/1', 'a/4 space'];
    for (const [i, key] of keys.entries()) await withTimeout(client.putObject(key, 1000 + i));
    assert.equal(await withTimeout(client.getObject('a/2')), 1001);
    assert.equal(await withTimeout(client.headObject('a/4 space')), 1004);
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await withTimeout(
        client.listObjectsV2({ prefix: 'a/', maxKeys: 2, ...(token ? { continuationToken: token } : {}) }),
      );
      assert.ok(page.keys.length <= 2);
      listed.push(...page.keys);
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token);
    assert.deepEqual(listed, ['a/1', 'a/2', 'a/3', 'a/4 space']);
    await withTimeout(client.deleteObject('a/2'));
    await assert.rejects(client.headObject('a/2'), (err: unknown) => {
      assert.ok(err instanceof UnexpectedStatusError);
      assert.equal(err.status, 404);
      return true;
    });
  });

  it('multipart: parts are concatenated in order', async () => {
    const id = await withTimeout(client.createMultipartUpload('mp'));
    assert.ok(id);
    const e2 = await withTimeout(client.uploadPart('mp', id, 2, 3000));
    const e1 = await withTimeout(client.uploadPart('mp', id, 1, 5000));
    await withTimeout(
      client.completeMultipartUpload('mp', id, [
        { partNumber: 1, etag: e1 },
        { partNumber: 2, etag: e2 },
      ]),
    );
    assert.equal(await withTimeout(client.headObject('mp')), 8000);
  });
});

describe('bench limit server with --md5-etag (what rclone needs)', () => {
  let dir: string;
  let limit: LimitServer;
  let client: BenchClient;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3local-bench-limit-md5-'));
    limit = await startLimitServer(dir, 0, { md5Etag: true });
    client = new BenchClient({ host: '127.0.0.1', port: limit.port, ...ACCESS });
  });
  after(async () => {
    client.close();
    await limit.close();
    await rm(dir, { recursive: true, force: true });
  });

  function get(path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
    return withTimeout(
      new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: limit.port, path }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          })
          .on('error', reject);
      }),
    );
  }

  it('PUT answers with the MD5 of the body as its ETag, and HEAD and GET repeat it', async () => {
    const size = 3 * 1024 * 1024 + 5;
    const md5 = createHash('md5');
    for (const slice of payloadSlices(size)) md5.update(slice);
    const etag = `"${md5.digest('hex')}"`;
    assert.equal(await withTimeout(client.putObject('dir/x', size)), etag);
    const head = await get('/default/dir/x');
    assert.equal(head.status, 200);
    assert.equal(head.headers.etag, etag);
    assert.ok(head.headers['last-modified']);
  });

  it('ListObjects (V1) with a delimiter: common prefixes, then keys; markers page it', async () => {
    for (const key of ['top', 'a/1', 'a/2', 'b/c/1']) await withTimeout(client.putObject(key, 10));
    const all = await get('/default?delimiter=%2F&prefix=');
    assert.equal(all.status, 200);
    assert.match(all.body, /<Key>top<\/Key>/);
    assert.deepEqual(
      [...all.body.matchAll(/<CommonPrefixes><Prefix>([^<]*)<\/Prefix>/g)].map((m) => m[1]),
      ['a/', 'b/', 'dir/'],
    );
    assert.doesNotMatch(all.body, /<Key>a\/1<\/Key>/);
    const page = await get('/default?prefix=a%2F&max-keys=1');
    assert.match(page.body, /<IsTruncated>true<\/IsTruncated>/);
    assert.match(page.body, /<NextMarker>a\/1<\/NextMarker>/);
    const rest = await get('/default?prefix=a%2F&marker=a%2F1');
    assert.match(rest.body, /<Key>a\/2<\/Key>/);
    assert.match(rest.body, /<IsTruncated>false<\/IsTruncated>/);
  });
});
