/**
 * Raw HTTP against a real server: SigV4 requests must sign `host` and every `x-amz-*` header they
 * carry (AccessDenied with `<HeadersNotSigned>` otherwise, nothing stored), for the Authorization
 * header and for presigned URLs; and a raw `+` in the query is signed as the space the router reads.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { errorCode, sendRequest, Sha256, type RawResponse } from '../helpers/sign.js';
import { TEST_CREDENTIALS, startServer, type TestServer } from '../helpers/server.js';

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface Signed {
  method: string;
  /** Encoded path as signed (and sent, unless `wire` is given). */
  path: string;
  /** Query as signed (decoded values). */
  query?: Record<string, string>;
  /** Path and query exactly as sent; default: `path` + `query` encoded as the signer encodes them. */
  wire?: string;
  headers?: Record<string, string>;
  /** Headers sent but left out of SignedHeaders. */
  unsigned?: string[];
  /** Headers added after signing. */
  added?: Record<string, string>;
  body?: string;
}

const encode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

/** Signs with @smithy/signature-v4 (independent of the server) and sends one request. */
async function send(endpoint: string, o: Signed, deadlineMs = 15_000): Promise<RawResponse> {
  const url = new URL(endpoint);
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  const signer = new SignatureV4({
    credentials: TEST_CREDENTIALS,
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: o.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: o.path,
      query: o.query ?? {},
      headers: {
        host: url.host,
        'x-amz-content-sha256': body ? sha256(body) : 'UNSIGNED-PAYLOAD',
        ...(body ? { 'content-length': String(body.length) } : {}),
        ...o.headers,
      },
      body,
    },
    { unsignableHeaders: new Set(o.unsigned ?? []) },
  );
  const query = Object.entries(o.query ?? {})
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');
  const wire = o.wire ?? (query ? `${o.path}?${query}` : o.path);
  const headers = { ...signed.headers, ...o.added };
  return sendRequest(url, o.method, wire, headers, body, deadlineMs);
}

function assertHeadersNotSigned(res: { status: number; text: string }, list: string): void {
  assert.equal(res.status, 403, res.text);
  assert.equal(errorCode(res.text), 'AccessDenied', res.text);
  assert.match(
    res.text,
    /<Message>There were headers present in the request which were not signed<\/Message>/,
  );
  assert.ok(res.text.includes(`<HeadersNotSigned>${list}</HeadersNotSigned>`), res.text);
}

describe('SigV4 signed headers and raw + against a real server', () => {
  let srv: TestServer;
  let s3: S3Client;
  const Bucket = 'default';

  before(async () => {
    srv = await startServer();
    s3 = srv.client();
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep.txt', Body: 'original' }));
  });
  after(async () => srv.close());

  const readKeep = async (): Promise<string> =>
    (await s3.send(new GetObjectCommand({ Bucket, Key: 'keep.txt' }))).Body!.transformToString();
  const exists = async (Key: string): Promise<boolean> =>
    s3.send(new HeadObjectCommand({ Bucket, Key })).then(
      () => true,
      (err: { name?: string }) => {
        if (err.name === 'NotFound') return false;
        throw err;
      },
    );

  it('header auth: unsigned x-amz-meta-*, x-amz-checksum-*, x-amz-copy-source or host is 403; nothing stored', async () => {
    const put = { method: 'PUT', path: '/default/keep.txt', body: 'overwritten' };
    assertHeadersNotSigned(
      await send(srv.endpoint, {
        ...put,
        headers: { 'x-amz-meta-evil': '1' },
        unsigned: ['x-amz-meta-evil'],
      }),
      'x-amz-meta-evil',
    );
    assertHeadersNotSigned(
      await send(srv.endpoint, { ...put, added: { 'x-amz-checksum-crc32': 'AAAAAA==' } }),
      'x-amz-checksum-crc32',
    );
    // A replay of a signed PUT widened into a CopyObject.
    assertHeadersNotSigned(
      await send(srv.endpoint, {
        method: 'PUT',
        path: '/default/copied.txt',
        added: { 'x-amz-copy-source': '/default/keep.txt' },
      }),
      'x-amz-copy-source',
    );
    assertHeadersNotSigned(await send(srv.endpoint, { ...put, unsigned: ['host'] }), 'host');
    assert.equal(await readKeep(), 'original');
    assert.equal(await exists('copied.txt'), false);
  });

  it('header auth: unsigned x-amz-content-sha256, content-type and content-md5 are accepted', async () => {
    const body = 'allowed';
    const res = await send(srv.endpoint, {
      method: 'PUT',
      path: '/default/allowed.txt',
      body,
      headers: {
        'content-type': 'text/x-test',
        'content-md5': createHash('md5').update(body).digest('base64'),
      },
      unsigned: ['x-amz-content-sha256', 'content-type', 'content-md5'],
    });
    assert.equal(res.status, 200, res.text);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'allowed.txt' }));
    assert.equal(head.ContentType, 'text/x-test');
    assert.equal(head.ContentLength, body.length);
  });

  it('presigned PUT: an extra unsigned x-amz-* header is 403; the URL alone works', async () => {
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'keep.txt' }), { expiresIn: 300 });
    const meta = await fetch(url, { method: 'PUT', body: 'evil', headers: { 'x-amz-meta-evil': '1' } });
    assertHeadersNotSigned({ status: meta.status, text: await meta.text() }, 'x-amz-meta-evil');
    const copy = await fetch(url, {
      method: 'PUT',
      headers: { 'x-amz-copy-source': '/default/allowed.txt', 'x-amz-acl': 'public-read' },
    });
    assertHeadersNotSigned({ status: copy.status, text: await copy.text() }, 'x-amz-copy-source, x-amz-acl');
    assert.equal(await readKeep(), 'original');
    const target = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'presigned.txt' }), {
      expiresIn: 300,
    });
    const ok = await fetch(target, { method: 'PUT', body: 'fine' });
    assert.equal(ok.status, 200, await ok.text());
  });

  it('presigned PUT with x-amz-meta-* signed into X-Amz-SignedHeaders: sent as a header, stored', async () => {
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket, Key: 'meta.txt', Metadata: { note: 'hi' } }),
      {
        expiresIn: 300,
        unhoistableHeaders: new Set(['x-amz-meta-note']),
      },
    );
    assert.match(url, /X-Amz-SignedHeaders=host%3Bx-amz-meta-note/);
    const res = await fetch(url, { method: 'PUT', body: 'with meta', headers: { 'x-amz-meta-note': 'hi' } });
    assert.equal(res.status, 200, await res.text());
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'meta.txt' }));
    assert.deepEqual(head.Metadata, { note: 'hi' });
  });

  it('a raw + in the query is the space the router reads: signed as %20 it verifies, as %2B it does not', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'with space/a.txt', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'with+plus/b.txt', Body: 'b' }));
    const keys = (xml: string): string[] => [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);

    // Signed "with space/", sent Go url.Values style: prefix=with+space%2F.
    const space = await send(srv.endpoint, {
      method: 'GET',
      path: '/default',
      query: { 'list-type': '2', prefix: 'with space/' },
      wire: '/default?list-type=2&prefix=with+space%2F',
    });
    assert.equal(space.status, 200, space.text);
    assert.deepEqual(keys(space.text), ['with space/a.txt']);

    const plus = await send(srv.endpoint, {
      method: 'GET',
      path: '/default',
      query: { 'list-type': '2', prefix: 'with+plus/' },
    });
    assert.equal(plus.status, 200, plus.text);
    assert.deepEqual(keys(plus.text), ['with+plus/b.txt']);

    // Signed "with+plus/" but sent with a raw '+': the server would list "with plus/"; refused.
    const mismatch = await send(srv.endpoint, {
      method: 'GET',
      path: '/default',
      query: { 'list-type': '2', prefix: 'with+plus/' },
      wire: '/default?list-type=2&prefix=with+plus%2F',
    });
    assert.equal(mismatch.status, 403, mismatch.text);
    assert.equal(errorCode(mismatch.text), 'SignatureDoesNotMatch');
  });
});
