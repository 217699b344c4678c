/**
 * Authentication against a real server with non-default credentials: SDK header auth, presigned
 * URLs fetched with plain fetch, signed aws-chunked uploads, and every negative case with its exact
 * code — leaving stored data unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { errorCode, rawRequest } from '../helpers/sign.js';
import { TEST_CREDENTIALS, startServer, type TestServer } from '../helpers/server.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();

async function expectCode(p: Promise<unknown>, code: string, status: number): Promise<void> {
  await assert.rejects(
    p,
    (err: { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, code);
      assert.equal(err.$metadata?.httpStatusCode, status);
      return true;
    },
  );
}

/**
 * A signed aws-chunked PUT built by hand from the AWS spec
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html), independent of the
 * server's code. `tamper` flips one byte of the second chunk after signing.
 */
function signedChunkedPut(endpoint: string, path: string, data: Buffer, chunkSize: number, tamper: boolean) {
  const url = new URL(endpoint);
  const now = new Date();
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  chunks.push(Buffer.alloc(0));
  // <hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n
  const framedLength = (n: number) => n.toString(16).length + ';chunk-signature='.length + 64 + 2 + n + 2;
  const encodedLength = chunks.reduce((sum, c) => sum + framedLength(c.length), 0);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': String(data.length),
    'content-length': String(encodedLength),
  };
  const signedNames = Object.keys(headers).sort();
  const canonical = [
    'PUT',
    path,
    '',
    signedNames.map((h) => `${h}:${headers[h]}\n`).join(''),
    signedNames.join(';'),
    'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  ].join('\n');
  let key = hmac('AWS4' + TEST_CREDENTIALS.secretAccessKey, day);
  for (const part of ['us-east-1', 's3', 'aws4_request']) key = hmac(key, part);
  const seed = hmac(key, `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonical)}`).toString('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/${scope}, SignedHeaders=${signedNames.join(';')}, Signature=${seed}`;
  let prev = seed;
  const framed: Buffer[] = [];
  chunks.forEach((c, i) => {
    const sig = hmac(
      key,
      `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${prev}\n${sha256('')}\n${sha256(c)}`,
    ).toString('hex');
    prev = sig;
    const body = Buffer.from(c);
    if (tamper && i === 1) body[0] = (body[0] ?? 0) ^ 1;
    framed.push(
      Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`),
      body,
      Buffer.from('\r\n'),
    );
  });
  const wire = Buffer.concat(framed);
  assert.equal(wire.length, encodedLength);
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const r = request({ host: url.hostname, port: url.port, method: 'PUT', path, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    r.on('error', reject);
    r.end(wire);
  });
}

describe('authentication', () => {
  let srv: TestServer;
  let s3: S3Client;
  const Bucket = 'default';
  const client = (extra: Partial<S3ClientConfig>) => srv.client(extra);

  before(async () => {
    srv = await startServer();
    s3 = srv.client();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep.txt', Body: 'original' }));
  });
  after(async () => srv.close());

  const readKeep = async () =>
    (await s3.send(new GetObjectCommand({ Bucket, Key: 'keep.txt' }))).Body!.transformToString();

  it('rejects a wrong secret, an unknown key, a wrong region and a 16-minute skew exactly', async () => {
    const body = { Bucket, Key: 'keep.txt', Body: 'overwritten' };
    await expectCode(
      client({ credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'wrong' } }).send(
        new PutObjectCommand(body),
      ),
      'SignatureDoesNotMatch',
      403,
    );
    await expectCode(
      client({ credentials: { ...TEST_CREDENTIALS, accessKeyId: 'AKIAUNKNOWN' } }).send(
        new PutObjectCommand(body),
      ),
      'InvalidAccessKeyId',
      403,
    );
    await expectCode(
      client({ region: 'eu-west-1' }).send(new PutObjectCommand(body)),
      'AuthorizationHeaderMalformed',
      400,
    );
    await expectCode(
      client({ systemClockOffset: -16 * 60_000 }).send(new PutObjectCommand(body)),
      'RequestTimeTooSkewed',
      403,
    );
    assert.equal(await readKeep(), 'original');
  });

  it('returns the StringToSign in SignatureDoesNotMatch, as AWS does', async () => {
    const res = await rawRequest(srv.endpoint, {
      method: 'GET',
      path: '/default/keep.txt',
      headers: { 'x-extra': '1' },
    });
    assert.equal(res.status, 200);
    const bad = await fetch(`${srv.endpoint}/default/keep.txt`, {
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${TEST_CREDENTIALS.accessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
        'x-amz-date': new Date()
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d{3}/, ''),
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    const text = await bad.text();
    assert.ok([400, 403].includes(bad.status));
    assert.ok(
      ['AuthorizationHeaderMalformed', 'SignatureDoesNotMatch'].includes(errorCode(text) ?? ''),
      text,
    );
  });

  it('serves presigned GET and PUT URLs from the SDK presigner, fetched with plain fetch', async () => {
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'presigned.txt' }), {
      expiresIn: 300,
    });
    const r1 = await fetch(put, { method: 'PUT', body: 'via presigned put' });
    assert.equal(r1.status, 200, await r1.text());
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'presigned.txt' }), {
      expiresIn: 300,
    });
    const r2 = await fetch(get);
    assert.equal(await r2.text(), 'via presigned put');
    // tampering with the signed query fails
    const r3 = await fetch(get.replace('presigned.txt', 'keep.txt'));
    assert.equal(r3.status, 403);
    assert.equal(errorCode(await r3.text()), 'SignatureDoesNotMatch');
  });

  it('refuses an expired presigned URL and the replay of a presigned PUT after expiry', async () => {
    const signingDate = new Date(Date.now() - 120_000);
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'keep.txt' }), {
      expiresIn: 60,
      signingDate,
    });
    const r1 = await fetch(get);
    const t1 = await r1.text();
    assert.equal(r1.status, 403);
    assert.equal(errorCode(t1), 'AccessDenied');
    assert.match(t1, /Request has expired/);
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'keep.txt' }), {
      expiresIn: 60,
      signingDate,
    });
    const r2 = await fetch(put, { method: 'PUT', body: 'replayed' });
    assert.equal(r2.status, 403);
    assert.match(await r2.text(), /Request has expired/);
    const tooLong = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'keep.txt' }), {
      expiresIn: 300,
    });
    const r3 = await fetch(tooLong.replace('X-Amz-Expires=300', 'X-Amz-Expires=604801'));
    assert.equal(r3.status, 400);
    assert.equal(errorCode(await r3.text()), 'AuthorizationQueryParametersError');
    assert.equal(await readKeep(), 'original');
  });

  it('rejects a tampered body under a signed payload hash; nothing stored', async () => {
    const res = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: '/default/keep.txt',
      body: 'tampered body',
      payloadHash: sha256('the body that was signed'),
    });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.text), 'XAmzContentSHA256Mismatch');
    assert.equal(await readKeep(), 'original');
  });

  it('accepts a signed aws-chunked upload and rejects one flipped byte in a signed chunk', async () => {
    const data = Buffer.alloc(200 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const ok = await signedChunkedPut(srv.endpoint, '/default/chunked.bin', data, 64 * 1024, false);
    assert.equal(ok.status, 200, ok.text);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'chunked.bin' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    const bad = await signedChunkedPut(srv.endpoint, '/default/keep.txt', data, 64 * 1024, true);
    assert.equal(bad.status, 403, bad.text);
    assert.equal(errorCode(bad.text), 'SignatureDoesNotMatch');
    assert.equal(await readKeep(), 'original');
  });

  it('denies anonymous requests and accepts them under --no-auth', async () => {
    const anon = await fetch(`${srv.endpoint}/default?list-type=2`);
    assert.equal(anon.status, 403);
    assert.equal(errorCode(await anon.text()), 'AccessDenied');
    const open = await startServer({ noAuth: true });
    try {
      const r = await fetch(`${open.endpoint}/default?list-type=2`);
      assert.equal(r.status, 200);
      const c = open.client({ credentials: { accessKeyId: 'anything', secretAccessKey: 'whatever' } });
      await c.send(new PutObjectCommand({ Bucket, Key: 'x', Body: 'y' }));
      const l = await c.send(new ListObjectsV2Command({ Bucket }));
      assert.deepEqual(
        l.Contents?.map((o) => o.Key),
        ['x'],
      );
    } finally {
      await open.close();
    }
  });
});
