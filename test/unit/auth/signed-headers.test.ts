/**
 * Which headers a SigV4 request must sign (host, every x-amz-* but x-amz-content-sha256), for the
 * Authorization header and presigned URLs, and how a raw `+` in the query is signed (as a space,
 * the way the router reads it). Requests are signed by @smithy/signature-v4, an independent signer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { authenticate } from '../../../src/auth/authenticate.js';
import { canonicalQuery, parseQuery } from '../../../src/auth/canonical.js';
import { HEADERS_NOT_SIGNED_MESSAGE, unsignedRequiredHeaders } from '../../../src/auth/signed-headers.js';
import { requestView } from '../../../src/auth/canonical.js';
import { parseQuery as routerQuery } from '../../../src/s3/endpoint.js';
import {
  drain,
  EXAMPLE_KEY,
  exampleConfig,
  makeInput,
  NodeSha256,
  rejectsWith,
  type HeaderList,
} from './helpers.js';

const now = new Date('2024-02-29T12:34:56Z');
const config = exampleConfig({ now: () => now });
const signer = new SignatureV4({
  credentials: EXAMPLE_KEY,
  region: 'us-east-1',
  service: 's3',
  sha256: NodeSha256,
  uriEscapePath: false,
  applyChecksum: false,
});
const HOST = '127.0.0.1:9000';
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface SignOptions {
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Headers present on the wire but left out of SignedHeaders. */
  unsigned?: string[];
}

/** Signs a request with the given headers, leaving `unsigned` out of SignedHeaders. */
async function signHeaders(o: SignOptions): Promise<HeaderList> {
  const body = o.body ?? Buffer.alloc(0);
  const signed = await signer.sign(
    {
      method: o.method ?? 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path: o.path ?? '/bucket/key',
      query: o.query ?? {},
      headers: { host: HOST, 'x-amz-content-sha256': sha256(body), ...o.headers },
      body,
    },
    { signingDate: now, unsignableHeaders: new Set(o.unsigned ?? []) },
  );
  return Object.entries(signed.headers);
}

const signedNames = (headers: HeaderList): string =>
  /SignedHeaders=([^,]+)/.exec(headers.find(([n]) => n === 'authorization')![1])![1]!;

async function expectHeadersNotSigned(p: () => Promise<unknown>, list: string): Promise<void> {
  const err = await rejectsWith(p, 'AccessDenied');
  assert.equal(err.message, 'There were headers present in the request which were not signed');
  assert.equal(err.message, HEADERS_NOT_SIGNED_MESSAGE);
  assert.deepEqual(err.extra, { HeadersNotSigned: list });
}

describe('SigV4 header auth: required signed headers', () => {
  const body = Buffer.from('payload');

  it('a request with every header signed verifies (the baseline of the cases below)', async () => {
    const headers = await signHeaders({
      body,
      headers: { 'x-amz-meta-a': '1', 'x-amz-checksum-crc32': 'AAAAAA==' },
    });
    assert.equal(
      signedNames(headers),
      'host;x-amz-checksum-crc32;x-amz-content-sha256;x-amz-date;x-amz-meta-a',
    );
    const r = await authenticate(makeInput('PUT', '/bucket/key', headers, body), config);
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
  });

  it('host missing from SignedHeaders: AccessDenied, HeadersNotSigned host (signature otherwise valid)', async () => {
    const headers = await signHeaders({ body, unsigned: ['host'] });
    assert.equal(signedNames(headers), 'x-amz-content-sha256;x-amz-date');
    await expectHeadersNotSigned(
      () => authenticate(makeInput('PUT', '/bucket/key', headers, body), config),
      'host',
    );
    // Also when the request has no Host header at all (HTTP/1.0): host must be in the list.
    const noHost = headers.filter(([n]) => n !== 'host');
    await expectHeadersNotSigned(
      () => authenticate(makeInput('PUT', '/bucket/key', noHost, body), config),
      'host',
    );
  });

  it('an unsigned x-amz-meta-* or x-amz-checksum-* header: AccessDenied naming it', async () => {
    const meta = await signHeaders({ body, headers: { 'x-amz-meta-a': '1' }, unsigned: ['x-amz-meta-a'] });
    await expectHeadersNotSigned(
      () => authenticate(makeInput('PUT', '/bucket/key', meta, body), config),
      'x-amz-meta-a',
    );
    const crc = await signHeaders({
      body,
      headers: { 'x-amz-checksum-crc32': 'AAAAAA==' },
      unsigned: ['x-amz-checksum-crc32'],
    });
    await expectHeadersNotSigned(
      () => authenticate(makeInput('PUT', '/bucket/key', crc, body), config),
      'x-amz-checksum-crc32',
    );
  });

  it('a header added after signing (a replay widened with x-amz-copy-source) is refused', async () => {
    const headers = await signHeaders({ body });
    const replay: HeaderList = [...headers, ['X-Amz-Copy-Source', '/other/secret']];
    await expectHeadersNotSigned(
      () => authenticate(makeInput('PUT', '/bucket/key', replay, body), config),
      'x-amz-copy-source',
    );
  });

  it('lists host first, then each unsigned x-amz-* header once, in the order received', async () => {
    const headers = await signHeaders({ body, unsigned: ['host'] });
    const wire: HeaderList = [
      ...headers,
      ['x-amz-meta-start', '1'],
      ['x-amz-meta-end', '2'],
      ['X-Amz-Meta-Start', '3'],
      ['x-amz-tagging', 'a=b'],
    ];
    await expectHeadersNotSigned(
      () => authenticate(makeInput('PUT', '/bucket/key', wire, body), config),
      'host, x-amz-meta-start, x-amz-meta-end, x-amz-tagging',
    );
  });

  it('allowed unsigned: x-amz-content-sha256, and non-x-amz headers (content-type, content-md5, user-agent, expect, x-amzn-trace-id)', async () => {
    const md5 = createHash('md5').update(body).digest('base64');
    const extra = {
      'content-type': 'text/plain',
      'content-md5': md5,
      'user-agent': 'test',
      expect: '100-continue',
      'x-amzn-trace-id': 'Root=1-abc',
    };
    const headers = await signHeaders({
      body,
      headers: extra,
      unsigned: ['x-amz-content-sha256', 'content-type', 'content-md5'],
    });
    assert.equal(signedNames(headers), 'host;x-amz-date');
    const r = await authenticate(makeInput('PUT', '/bucket/key', headers, body), config);
    assert.deepEqual(await drain(r.body), body);
  });

  it('SignedHeaders names compare case-insensitively (a wrong case then fails on the signature)', () => {
    const view = requestView('GET', '/', {}, ['Host', 'h', 'X-Amz-Meta-A', '1']);
    assert.deepEqual(unsignedRequiredHeaders(view, ['HOST', 'X-Amz-Meta-A']), []);
    assert.deepEqual(unsignedRequiredHeaders(view, ['host']), ['x-amz-meta-a']);
    assert.deepEqual(unsignedRequiredHeaders(view, ['']), ['host', 'x-amz-meta-a']);
  });

  it('--no-auth checks nothing: unsigned x-amz-* headers pass', async () => {
    const headers = await signHeaders({
      body,
      headers: { 'x-amz-meta-a': '1' },
      unsigned: ['host', 'x-amz-meta-a'],
    });
    await authenticate(makeInput('PUT', '/bucket/key', headers, body), exampleConfig({ credentials: null }));
  });
});

describe('SigV4 presigned URLs: required signed headers', () => {
  async function presign(o: {
    method?: string;
    headers?: Record<string, string>;
    unhoistable?: string[];
    unsigned?: string[];
  }): Promise<string> {
    const p = await signer.presign(
      {
        method: o.method ?? 'PUT',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 9000,
        path: '/bucket/key',
        query: {},
        // As @aws-sdk/s3-request-presigner does: the payload is unsigned (the header is hoisted).
        headers: { host: HOST, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...o.headers },
      },
      {
        signingDate: now,
        expiresIn: 300,
        unhoistableHeaders: new Set(o.unhoistable ?? []),
        unsignableHeaders: new Set(o.unsigned ?? []),
      },
    );
    const q = Object.entries(p.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return `/bucket/key?${q}`;
  }
  const hostOnly: HeaderList = [['Host', HOST]];

  it('SignedHeaders=host verifies; one extra unsigned x-amz-* header is AccessDenied', async () => {
    const url = await presign({});
    assert.match(url, /X-Amz-SignedHeaders=host&/);
    await authenticate(makeInput('PUT', url, hostOnly, Buffer.from('x')), config);
    await expectHeadersNotSigned(
      () =>
        authenticate(
          makeInput('PUT', url, [...hostOnly, ['x-amz-meta-evil', '1']], Buffer.from('x')),
          config,
        ),
      'x-amz-meta-evil',
    );
    await expectHeadersNotSigned(
      () =>
        authenticate(
          makeInput('PUT', url, [
            ...hostOnly,
            ['x-amz-copy-source', '/bucket/secret'],
            ['x-amz-acl', 'public-read'],
          ]),
          config,
        ),
      'x-amz-copy-source, x-amz-acl',
    );
  });

  it('an x-amz-* header signed into X-Amz-SignedHeaders (unhoisted) verifies when sent', async () => {
    const url = await presign({ headers: { 'x-amz-meta-note': 'hi' }, unhoistable: ['x-amz-meta-note'] });
    assert.match(url, /X-Amz-SignedHeaders=host%3Bx-amz-meta-note&/);
    await authenticate(makeInput('PUT', url, [...hostOnly, ['x-amz-meta-note', 'hi']]), config);
  });

  it('x-amz-content-sha256 may come unsigned with a presigned URL', async () => {
    const url = await presign({});
    await authenticate(
      makeInput('PUT', url, [...hostOnly, ['x-amz-content-sha256', 'UNSIGNED-PAYLOAD']]),
      config,
    );
  });

  it('X-Amz-SignedHeaders without host: AccessDenied, HeadersNotSigned host', async () => {
    const url = await presign({ method: 'GET', headers: { range: 'bytes=0-1' }, unsigned: ['host'] });
    assert.match(url, /X-Amz-SignedHeaders=range&/);
    await expectHeadersNotSigned(
      () => authenticate(makeInput('GET', url, [...hostOnly, ['Range', 'bytes=0-1']]), config),
      'host',
    );
  });
});

describe('SigV4 canonical query: a raw + is a space, as the router reads it', () => {
  it('canonical form: raw + becomes %20, %2B stays a plus; keys too', () => {
    assert.equal(canonicalQuery(parseQuery('d=x+y%20z&k+1=a%2Bb')), 'd=x%20y%20z&k%201=a%2Bb');
    assert.equal(canonicalQuery(parseQuery('prefix=a++b')), 'prefix=a%20%20b');
  });

  /** Signs GET /bucket with `query`, sends `wireQuery`; returns the router's reading of it. */
  async function listWith(query: Record<string, string>, wireQuery: string): Promise<Map<string, string>> {
    const headers = await signHeaders({ method: 'GET', path: '/bucket', query });
    await authenticate(makeInput('GET', `/bucket?${wireQuery}`, headers), config);
    return routerQuery(wireQuery);
  }

  it('signed "a b+c" and sent as a+b%2Bc (Go url.Values style) or a%20b%2Bc: verifies, router reads "a b+c"', async () => {
    const signedQuery = { 'list-type': '2', prefix: 'with space/a b+c' };
    for (const wire of [
      'list-type=2&prefix=with+space%2Fa+b%2Bc',
      'list-type=2&prefix=with%20space%2Fa%20b%2Bc',
    ]) {
      const routed = await listWith(signedQuery, wire);
      assert.equal(routed.get('prefix'), signedQuery.prefix, wire);
    }
  });

  it('a raw + signed as a literal plus (%2B) is refused: the router would act on a space', async () => {
    const headers = await signHeaders({ method: 'GET', path: '/bucket', query: { prefix: 'a+b' } });
    assert.equal(routerQuery('prefix=a+b').get('prefix'), 'a b');
    await rejectsWith(
      () => authenticate(makeInput('GET', '/bucket?prefix=a+b', headers), config),
      'SignatureDoesNotMatch',
    );
    // The same signature with the plus sent as %2B verifies, and the router reads "a+b".
    await authenticate(makeInput('GET', '/bucket?prefix=a%2Bb', headers), config);
    assert.equal(routerQuery('prefix=a%2Bb').get('prefix'), 'a+b');
  });

  it('a presigned URL with a raw + for a space verifies (aws4fetch puts URLSearchParams + on the wire)', async () => {
    const p = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 9000,
        path: '/bucket/key',
        query: { 'response-content-disposition': 'attachment; filename="a b.txt"' },
        headers: { host: HOST, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { signingDate: now, expiresIn: 300 },
    );
    const url = '/bucket/key?' + new URLSearchParams(p.query as Record<string, string>).toString();
    assert.match(url, /filename%3D%22a\+b\.txt%22/);
    await authenticate(makeInput('GET', url, [['Host', HOST]]), config);
  });

  it('in the path a + stays a literal plus', async () => {
    const headers = await signHeaders({ method: 'GET', path: '/bucket/a%2Bb' });
    await authenticate(makeInput('GET', '/bucket/a+b', headers), config);
    await rejectsWith(
      () => authenticate(makeInput('GET', '/bucket/a%20b', headers), config),
      'SignatureDoesNotMatch',
    );
  });
});
