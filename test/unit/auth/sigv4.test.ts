import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { authenticate } from '../../../src/auth/authenticate.js';
import { canonicalQuery, canonicalUri, parseQuery } from '../../../src/auth/canonical.js';
import {
  drain,
  EXAMPLE_DATE,
  EXAMPLE_KEY,
  exampleConfig,
  makeInput,
  NodeSha256,
  rejectsWith,
  type HeaderList,
} from './helpers.js';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const CRED = 'Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request';
const HOST = 'examplebucket.s3.amazonaws.com';

function authz(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 ${CRED},SignedHeaders=${signedHeaders},Signature=${signature}`;
}

// The examples of https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
describe('SigV4 header auth: the AWS S3 examples', () => {
  it('GET object with a Range', async () => {
    const headers: HeaderList = [
      ['Host', HOST],
      ['Range', 'bytes=0-9'],
      ['x-amz-content-sha256', EMPTY],
      ['x-amz-date', '20130524T000000Z'],
      [
        'Authorization',
        authz(
          'host;range;x-amz-content-sha256;x-amz-date',
          'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
        ),
      ],
    ];
    const r = await authenticate(makeInput('GET', '/test.txt', headers), exampleConfig());
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    assert.equal((await drain(r.body)).length, 0);
    assert.equal(r.body.digests().md5, 'd41d8cd98f00b204e9800998ecf8427e');
  });

  const putHeaders = (
    sig = '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
  ): HeaderList => [
    ['Host', HOST],
    ['Date', 'Fri, 24 May 2013 00:00:00 GMT'],
    ['x-amz-date', '20130524T000000Z'],
    ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
    ['x-amz-content-sha256', '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072'],
    ['Authorization', authz('date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class', sig)],
    ['Content-Length', '21'],
  ];

  it('PUT object with a body, key with $ sent encoded or not', async () => {
    for (const path of ['/test%24file.text', '/test$file.text']) {
      const body = Buffer.from('Welcome to Amazon S3.');
      const r = await authenticate(makeInput('PUT', path, putHeaders(), body), exampleConfig());
      assert.deepEqual(await drain(r.body), body);
      const d = r.body.digests();
      assert.equal(d.size, 21);
      assert.equal(d.md5, createHash('md5').update(body).digest('hex'));
      assert.deepEqual(d.checksums, {});
    }
  });

  it('PUT object: a tampered body under the signed hash fails before the stream ends', async () => {
    const body = Buffer.from('Welcome to Amazon S4.');
    const r = await authenticate(makeInput('PUT', '/test%24file.text', putHeaders(), body), exampleConfig());
    let ended = false;
    r.body.stream.on('end', () => (ended = true));
    const err = await rejectsWith(() => drain(r.body), 'XAmzContentSHA256Mismatch');
    assert.equal(
      err.extra.ClientComputedContentSHA256,
      '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    );
    assert.equal(err.extra.S3ComputedContentSHA256, createHash('sha256').update(body).digest('hex'));
    assert.equal(ended, false);
    assert.throws(() => r.body.digests());
  });

  it('GET bucket lifecycle (?lifecycle without a value)', async () => {
    const headers: HeaderList = [
      ['Host', HOST],
      ['x-amz-date', '20130524T000000Z'],
      ['x-amz-content-sha256', EMPTY],
      [
        'Authorization',
        authz(
          'host;x-amz-content-sha256;x-amz-date',
          'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
        ),
      ],
    ];
    for (const url of ['/?lifecycle', '/?lifecycle=']) {
      const r = await authenticate(makeInput('GET', url, headers), exampleConfig());
      assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    }
  });

  it('GET bucket (list objects) with two query parameters in any order', async () => {
    const headers: HeaderList = [
      ['Host', HOST],
      ['x-amz-date', '20130524T000000Z'],
      ['x-amz-content-sha256', EMPTY],
      [
        'Authorization',
        authz(
          'host;x-amz-content-sha256;x-amz-date',
          '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
        ),
      ],
    ];
    for (const url of ['/?max-keys=2&prefix=J', '/?prefix=J&max-keys=2']) {
      await authenticate(makeInput('GET', url, headers), exampleConfig());
    }
  });

  it('tolerates spaces after commas and around = in the Authorization header', async () => {
    const headers: HeaderList = [
      ['Host', HOST],
      ['x-amz-date', '20130524T000000Z'],
      ['x-amz-content-sha256', EMPTY],
      [
        'Authorization',
        `AWS4-HMAC-SHA256 ${CRED.replace('=', ' = ')}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7`,
      ],
    ];
    await authenticate(makeInput('GET', '/?max-keys=2&prefix=J', headers), exampleConfig());
  });
});

describe('SigV4 header auth: failures', () => {
  const listHeaders = (over: Record<string, string> = {}): HeaderList => {
    const base: Record<string, string> = {
      Host: HOST,
      'x-amz-date': '20130524T000000Z',
      'x-amz-content-sha256': EMPTY,
      Authorization: authz(
        'host;x-amz-content-sha256;x-amz-date',
        '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
      ),
      ...over,
    };
    return Object.entries(base).filter(([, v]) => v !== '');
  };
  const url = '/?max-keys=2&prefix=J';

  it('wrong secret: SignatureDoesNotMatch with AWS extra elements', async () => {
    const config = exampleConfig({ credentials: { ...EXAMPLE_KEY, secretAccessKey: 'not-the-secret' } });
    const err = await rejectsWith(
      () => authenticate(makeInput('GET', url, listHeaders()), config),
      'SignatureDoesNotMatch',
    );
    assert.deepEqual(Object.keys(err.extra), [
      'AWSAccessKeyId',
      'StringToSign',
      'SignatureProvided',
      'StringToSignBytes',
      'CanonicalRequest',
      'CanonicalRequestBytes',
    ]);
    assert.equal(err.extra.AWSAccessKeyId, EXAMPLE_KEY.accessKeyId);
    assert.match(
      err.extra.StringToSign!,
      /^AWS4-HMAC-SHA256\n20130524T000000Z\n20130524\/us-east-1\/s3\/aws4_request\n[0-9a-f]{64}$/,
    );
    assert.equal(
      err.extra.CanonicalRequest,
      `GET\n/\nmax-keys=2&prefix=J\nhost:${HOST}\nx-amz-content-sha256:${EMPTY}\nx-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n${EMPTY}`,
    );
    assert.equal(err.extra.StringToSignBytes!.slice(0, 11), '41 57 53 34');
    assert.ok(!JSON.stringify(err).includes('not-the-secret'));
  });

  it('a changed query parameter or method is refused', async () => {
    await rejectsWith(
      () => authenticate(makeInput('GET', '/?max-keys=3&prefix=J', listHeaders()), exampleConfig()),
      'SignatureDoesNotMatch',
    );
    await rejectsWith(
      () => authenticate(makeInput('HEAD', url, listHeaders()), exampleConfig()),
      'SignatureDoesNotMatch',
    );
  });

  it('unknown access key: InvalidAccessKeyId', async () => {
    const err = await rejectsWith(
      () =>
        authenticate(
          makeInput(
            'GET',
            url,
            listHeaders({ Authorization: authz('host', 'ab').replace('AKIAIOSFODNN7EXAMPLE', 'AKIDOTHER') }),
          ),
          exampleConfig(),
        ),
      'InvalidAccessKeyId',
    );
    assert.equal(err.extra.AWSAccessKeyId, 'AKIDOTHER');
  });

  it('wrong region: AuthorizationHeaderMalformed with the expected Region', async () => {
    const err = await rejectsWith(
      () => authenticate(makeInput('GET', url, listHeaders()), exampleConfig({ region: 'eu-west-1' })),
      'AuthorizationHeaderMalformed',
    );
    assert.equal(
      err.message,
      "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'",
    );
    assert.deepEqual(err.extra, { Region: 'eu-west-1' });
  });

  it('wrong service, terminal or credential shape: AuthorizationHeaderMalformed', async () => {
    for (const cred of [
      'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/ec2/aws4_request',
      'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws5_request',
      'AKIAIOSFODNN7EXAMPLE/us-east-1/s3/aws4_request',
    ]) {
      const a = `AWS4-HMAC-SHA256 Credential=${cred},SignedHeaders=host,Signature=00`;
      await rejectsWith(
        () => authenticate(makeInput('GET', url, listHeaders({ Authorization: a })), exampleConfig()),
        'AuthorizationHeaderMalformed',
      );
    }
    await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', url, listHeaders({ Authorization: `AWS4-HMAC-SHA256 ${CRED}` })),
          exampleConfig(),
        ),
      'AuthorizationHeaderMalformed',
    );
  });

  it('16 minutes of skew either way: RequestTimeTooSkewed; 14 minutes pass', async () => {
    for (const minutes of [16, -16]) {
      const now = new Date(EXAMPLE_DATE.getTime() + minutes * 60_000);
      const err = await rejectsWith(
        () => authenticate(makeInput('GET', url, listHeaders()), exampleConfig({ now: () => now })),
        'RequestTimeTooSkewed',
      );
      assert.equal(err.extra.RequestTime, '20130524T000000Z');
      assert.equal(err.extra.MaxAllowedSkewMilliseconds, '900000');
      assert.equal(err.extra.ServerTime, now.toISOString().replace('.000', ''));
    }
    const now = new Date(EXAMPLE_DATE.getTime() + 14 * 60_000);
    await authenticate(makeInput('GET', url, listHeaders()), exampleConfig({ now: () => now }));
  });

  it('credential date different from x-amz-date: AuthorizationHeaderMalformed', async () => {
    const err = await rejectsWith(
      () =>
        authenticate(
          makeInput('GET', url, listHeaders({ 'x-amz-date': '20130525T000000Z' })),
          exampleConfig({ now: () => new Date('2013-05-25T00:00:00Z') }),
        ),
      'AuthorizationHeaderMalformed',
    );
    assert.match(err.message, /Date is not the same as X-Amz-Date/);
  });

  it('missing date, missing or invalid x-amz-content-sha256', async () => {
    await rejectsWith(
      () => authenticate(makeInput('GET', url, listHeaders({ 'x-amz-date': '' })), exampleConfig()),
      'AccessDenied',
    );
    const missing = await rejectsWith(
      () => authenticate(makeInput('GET', url, listHeaders({ 'x-amz-content-sha256': '' })), exampleConfig()),
      'InvalidRequest',
    );
    assert.equal(missing.message, 'Missing required header for this request: x-amz-content-sha256');
    const bad = await rejectsWith(
      () =>
        authenticate(makeInput('GET', url, listHeaders({ 'x-amz-content-sha256': 'abc' })), exampleConfig()),
      'InvalidArgument',
    );
    assert.equal(bad.extra.ArgumentName, 'x-amz-content-sha256');
  });

  it('an unknown scheme, or two auth mechanisms at once, is InvalidArgument', async () => {
    await rejectsWith(
      () => authenticate(makeInput('GET', '/', [['Authorization', 'Bearer x']]), exampleConfig()),
      'InvalidArgument',
    );
    await rejectsWith(
      () =>
        authenticate(makeInput('GET', '/?X-Amz-Algorithm=AWS4-HMAC-SHA256', listHeaders()), exampleConfig()),
      'InvalidArgument',
    );
  });

  it('anonymous requests are AccessDenied unless auth is off', async () => {
    await rejectsWith(
      () => authenticate(makeInput('GET', '/bucket/key', [['Host', 'x']]), exampleConfig()),
      'AccessDenied',
    );
    const r = await authenticate(
      makeInput('GET', '/bucket/key', [['Host', 'x']]),
      exampleConfig({ credentials: null }),
    );
    assert.equal(r.principal, null);
  });

  it('--no-auth accepts a wrong signature but still verifies the payload hash', async () => {
    const config = exampleConfig({ credentials: null, now: () => new Date('2030-01-01T00:00:00Z') });
    const headers = listHeaders({
      Authorization: authz('host', '00'),
      'x-amz-content-sha256': createHash('sha256').update('abc').digest('hex'),
    });
    const ok = await authenticate(makeInput('PUT', '/b/k', headers, Buffer.from('abc')), config);
    assert.equal(ok.principal, EXAMPLE_KEY.accessKeyId);
    assert.equal((await drain(ok.body)).toString(), 'abc');
    const bad = await authenticate(makeInput('PUT', '/b/k', headers, Buffer.from('abd')), config);
    await rejectsWith(() => drain(bad.body), 'XAmzContentSHA256Mismatch');
  });
});

// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
describe('SigV4 presigned URLs', () => {
  const presigned =
    '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
  const hostOnly: HeaderList = [['Host', HOST]];

  it('accepts the AWS example until it expires', async () => {
    const r = await authenticate(makeInput('GET', presigned, hostOnly), exampleConfig());
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    const late = new Date(EXAMPLE_DATE.getTime() + 86_400_000);
    await authenticate(makeInput('GET', presigned, hostOnly), exampleConfig({ now: () => late }));
  });

  it('expired: AccessDenied "Request has expired" with X-Amz-Expires, Expires, ServerTime', async () => {
    const now = new Date(EXAMPLE_DATE.getTime() + 86_401_000);
    const err = await rejectsWith(
      () => authenticate(makeInput('GET', presigned, hostOnly), exampleConfig({ now: () => now })),
      'AccessDenied',
    );
    assert.equal(err.message, 'Request has expired');
    assert.deepEqual(err.extra, {
      'X-Amz-Expires': '86400',
      Expires: '2013-05-25T00:00:00Z',
      ServerTime: '2013-05-25T00:00:01Z',
    });
  });

  it('not valid yet when dated more than 15 minutes ahead', async () => {
    const now = new Date(EXAMPLE_DATE.getTime() - 16 * 60_000);
    const err = await rejectsWith(
      () => authenticate(makeInput('GET', presigned, hostOnly), exampleConfig({ now: () => now })),
      'AccessDenied',
    );
    assert.equal(err.message, 'Request is not valid yet');
  });

  it('parameter errors: AuthorizationQueryParametersError with AWS messages', async () => {
    const cases: [string, RegExp][] = [
      [
        presigned.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801'),
        /^X-Amz-Expires must be less than a week \(in seconds\) that is; 604800$/,
      ],
      [presigned.replace('X-Amz-Expires=86400', 'X-Amz-Expires=abc'), /should be a number/],
      [presigned.replace('X-Amz-Expires=86400', 'X-Amz-Expires=-1'), /non-negative/],
      [presigned.replace('&X-Amz-SignedHeaders=host', ''), /requires the X-Amz-Algorithm/],
      [
        presigned.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1'),
        /only supports/,
      ],
      [presigned.replace('X-Amz-Date=20130524T000000Z', 'X-Amz-Date=2013-05-24'), /ISO8601/],
      [presigned.replace('us-east-1', 'eu-west-1'), /the region 'eu-west-1' is wrong; expecting 'us-east-1'/],
    ];
    for (const [url, message] of cases) {
      const err = await rejectsWith(
        () => authenticate(makeInput('GET', url, hostOnly), exampleConfig()),
        'AuthorizationQueryParametersError',
      );
      assert.match(err.message, message);
    }
  });

  it('a tampered URL or host is SignatureDoesNotMatch', async () => {
    await rejectsWith(
      () =>
        authenticate(makeInput('GET', presigned.replace('test.txt', 'test2.txt'), hostOnly), exampleConfig()),
      'SignatureDoesNotMatch',
    );
    await rejectsWith(
      () => authenticate(makeInput('GET', presigned, [['Host', 'evil.example']]), exampleConfig()),
      'SignatureDoesNotMatch',
    );
  });
});

describe('SigV4 against @smithy/signature-v4', () => {
  const region = 'us-east-1';
  const signer = new SignatureV4({
    credentials: EXAMPLE_KEY,
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const now = new Date('2024-02-29T12:34:56Z');
  const config = exampleConfig({ now: () => now });

  /** S3-style path encoding (what the S3 clients put on the wire and sign). */
  const encodeKey = (key: string): string =>
    key
      .split('/')
      .map((s) =>
        encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
      )
      .join('/');
  const encodeQueryPart = (s: string): string =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const toUrl = (path: string, query: Record<string, string | string[]>): string => {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(query)) {
      for (const one of Array.isArray(v) ? v : [v])
        parts.push(`${encodeQueryPart(k)}=${encodeQueryPart(one)}`);
    }
    return parts.length ? `${path}?${parts.join('&')}` : path;
  };

  const keys = [
    'plain.txt',
    'dir/sub dir/file with spaces.txt',
    'unicode/日本語/ëlan.bin',
    "odd/a+b=c&d%e~f!g'h(i)j*k",
    'trailing/',
    'double//slash',
  ];

  for (const key of keys) {
    it(`header-signed PUT of ${JSON.stringify(key)}`, async () => {
      const body = Buffer.from(`body of ${key}`);
      const hash = createHash('sha256').update(body).digest('hex');
      const path = '/bucket/' + encodeKey(key);
      const query = { 'x-id': 'PutObject', tagging: '', 'odd key+': 'v a+l%ue', rep: ['2', '1', ''] };
      const signed = await signer.sign(
        {
          method: 'PUT',
          protocol: 'http:',
          hostname: '127.0.0.1',
          port: 9000,
          path,
          query,
          headers: {
            host: '127.0.0.1:9000',
            'x-amz-content-sha256': hash,
            'x-amz-meta-multi': 'one,two   three',
            'content-type': 'text/plain',
          },
          body,
        },
        { signingDate: now },
      );
      const headers: [string, string][] = Object.entries(signed.headers).filter(
        ([n]) => n !== 'x-amz-meta-multi',
      );
      // Send the multi-value header as two wire headers with extra whitespace: canonical is "one,two three".
      headers.push(['X-Amz-Meta-Multi', '  one '], ['x-amz-meta-multi', 'two \t three']);
      const r = await authenticate(makeInput('PUT', toUrl(path, query), headers, body), config);
      assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
      assert.deepEqual(await drain(r.body), body);
      // The same request with lower-case escapes, spaces in the query sent as '+' (form style, read
      // as spaces by the router) and a path '%2B' sent as a raw '+' (a literal plus there) verifies.
      const url = toUrl(path, query);
      const q = url.indexOf('?');
      const raw = (url.slice(0, q).replace(/%2B/g, '+') + url.slice(q).replace(/%20/g, '+')).replace(
        /%([0-9A-F]{2})/g,
        (m) => m.toLowerCase(),
      );
      await authenticate(makeInput('PUT', raw, headers, body), config);
      // A '+' sent raw in the query where '%2B' was signed is a space to the router: refused.
      await rejectsWith(
        () =>
          authenticate(
            makeInput('PUT', url.slice(0, q) + url.slice(q).replace(/%2B/g, '+'), headers, body),
            config,
          ),
        'SignatureDoesNotMatch',
      );
    });

    it(`presigned GET of ${JSON.stringify(key)}`, async () => {
      const path = '/bucket/' + encodeKey(key);
      const query = { 'response-content-disposition': 'attachment; filename="a b.txt"', versionId: '' };
      const presigned = await signer.presign(
        {
          method: 'GET',
          protocol: 'http:',
          hostname: 'localhost',
          port: 9000,
          path,
          query,
          // As @aws-sdk/s3-request-presigner does: presigned URLs carry an unsigned payload.
          headers: { host: 'localhost:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
        },
        { signingDate: now, expiresIn: 3600 },
      );
      const url = toUrl(path, presigned.query as Record<string, string>);
      assert.equal(presigned.query?.['X-Amz-Content-Sha256'], undefined);
      const r = await authenticate(makeInput('GET', url, [['Host', 'localhost:9000']]), config);
      assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
      await rejectsWith(
        () => authenticate(makeInput('GET', url, [['Host', 'localhost:9001']]), config),
        'SignatureDoesNotMatch',
      );
      const later = new Date(now.getTime() + 3601_000);
      await rejectsWith(
        () =>
          authenticate(
            makeInput('GET', url, [['Host', 'localhost:9000']]),
            exampleConfig({ now: () => later }),
          ),
        'AccessDenied',
      );
    });
  }

  it('a raw %2F inside a segment is not a path separator', async () => {
    const path = '/bucket/a%2Fb';
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: 'h',
        path,
        query: {},
        headers: { host: 'h', 'x-amz-content-sha256': EMPTY },
      },
      { signingDate: now },
    );
    await authenticate(makeInput('GET', path, Object.entries(signed.headers)), config);
    await rejectsWith(
      () => authenticate(makeInput('GET', '/bucket/a/b', Object.entries(signed.headers)), config),
      'SignatureDoesNotMatch',
    );
  });
});

describe('canonical forms', () => {
  it('canonical URI: decode once, re-encode per segment, keep %2F and //', () => {
    assert.equal(canonicalUri('/test$file.text'), '/test%24file.text');
    assert.equal(canonicalUri('/a%2fb/c%7Ed'), '/a%2Fb/c~d');
    assert.equal(canonicalUri('/a//b/./../c'), '/a//b/./../c');
    assert.equal(canonicalUri('/%E6%97%A5 x+y'), '/%E6%97%A5%20x%2By');
    assert.equal(canonicalUri(''), '/');
  });

  it('canonical query: sorted by key then value, repeated keys kept, empty values as k=', () => {
    assert.equal(
      canonicalQuery(parseQuery('b=2&a=3&a=1&uploads&c=&d=x+y%20z%2B')),
      'a=1&a=3&b=2&c=&d=x%20y%20z%2B&uploads=',
    );
    assert.equal(canonicalQuery(parseQuery('X-Amz-Signature=abc&x=1'), 'X-Amz-Signature'), 'x=1');
  });
});
