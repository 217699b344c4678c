/**
 * Signatures over non-ASCII header bytes (x-amz-meta-* values), SigV4 and SigV2, and the SigV2
 * bucket path signed with botocore's trailing slash. Node's parser hands header values over as
 * latin1 (one char per byte), so the inputs here carry the wire bytes as latin1 strings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { authenticate } from '../../../src/auth/authenticate.js';
import { signV2 } from '../../../src/auth/sigv2.js';
import {
  EXAMPLE_KEY,
  exampleConfig,
  makeInput,
  NodeSha256,
  rejectsWith,
  type HeaderList,
} from './helpers.js';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const VALUE = 'Hello World\u00e9';
/** The value's UTF-8 bytes as Node hands them over (`c3 a9` -> "Ã©"). */
const UTF8_ON_WIRE = Buffer.from(VALUE, 'utf8').toString('latin1');
/** The value's latin1 bytes as Node hands them over (`e9` -> "é"). */
const LATIN1_ON_WIRE = VALUE;

const now = new Date('2024-02-29T12:34:56Z');
const config = exampleConfig({ now: () => now });

/** Signs like @smithy/signature-v4 does: the canonical request hashed as UTF-8 of `metaValue`. */
async function signedV4(metaValue: string): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    credentials: EXAMPLE_KEY,
    region: 'us-east-1',
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const req = await signer.sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: 'localhost',
      path: '/bucket/foo',
      query: {},
      headers: { host: 'localhost', 'x-amz-content-sha256': EMPTY, 'x-amz-meta-meta1': metaValue },
    },
    { signingDate: now },
  );
  return req.headers;
}

/** The signed headers with the meta value replaced by what goes on the wire. */
function onWire(headers: Record<string, string>, wireValue: string): HeaderList {
  return Object.entries(headers).map(([k, v]): [string, string] => [
    k,
    k === 'x-amz-meta-meta1' ? wireValue : v,
  ]);
}

describe('SigV4 over non-ASCII header values', () => {
  it('UTF-8 bytes sent and signed (botocore, the SDKs with UTF-8 on the wire) verify', async () => {
    const headers = await signedV4(VALUE);
    const r = await authenticate(makeInput('PUT', '/bucket/foo', onWire(headers, UTF8_ON_WIRE)), config);
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    r.body.stream.destroy();
  });

  it('latin1 bytes sent, their characters signed as UTF-8 (aws-sdk-js over Node, as AWS accepts) verify', async () => {
    const headers = await signedV4(VALUE);
    const r = await authenticate(makeInput('PUT', '/bucket/foo', onWire(headers, LATIN1_ON_WIRE)), config);
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
    r.body.stream.destroy();
  });

  it('bytes of UTF-8 sequences are never folded as whitespace (`\u00e0` is c3 a0, `\u00c5` c3 85)', async () => {
    const value = 'voil\u00e0  \u00c5x ';
    const headers = await signedV4(value);
    const wire = Buffer.from(value, 'utf8').toString('latin1');
    const r = await authenticate(makeInput('PUT', '/bucket/foo', onWire(headers, wire)), config);
    r.body.stream.destroy();
  });

  it('a changed value is refused; the error shows the canonical request as the client signed it', async () => {
    const headers = await signedV4('Hello Worlde');
    const err = await rejectsWith(
      () => authenticate(makeInput('PUT', '/bucket/foo', onWire(headers, UTF8_ON_WIRE)), config),
      'SignatureDoesNotMatch',
    );
    assert.match(err.extra.CanonicalRequest!, /\nx-amz-meta-meta1:Hello World\u00e9\n/);
    // The exact bytes received: "Hello World" then c3 a9.
    assert.match(err.extra.CanonicalRequestBytes!, / 57 6f 72 6c 64 c3 a9 0a /);
  });
});

describe('SigV2 over non-ASCII header values', () => {
  const date = now.toUTCString();
  /** botocore HmacV1Auth: the string to sign as text, signed as its UTF-8 bytes. */
  const botoSign = (text: string): string =>
    signV2(EXAMPLE_KEY.secretAccessKey, Buffer.from(text, 'utf8').toString('latin1'));
  const headersFor = (wireValue: string, signature: string): HeaderList => [
    ['Host', 'localhost'],
    ['Date', date],
    ['x-amz-meta-meta1', wireValue],
    ['Authorization', `AWS ${EXAMPLE_KEY.accessKeyId}:${signature}`],
  ];
  const text = `PUT\n\n\n${date}\nx-amz-meta-meta1:${VALUE}\n/bucket/foo`;

  it('UTF-8 bytes sent and signed verify; latin1 bytes signed as UTF-8 text verify', async () => {
    for (const wire of [UTF8_ON_WIRE, LATIN1_ON_WIRE]) {
      const r = await authenticate(makeInput('PUT', '/bucket/foo', headersFor(wire, botoSign(text))), config);
      assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
      r.body.stream.destroy();
    }
  });

  it('a changed value is refused; StringToSign is echoed readable with its exact bytes', async () => {
    const wrong = botoSign(text.replace(VALUE, 'Hello Worlde'));
    const err = await rejectsWith(
      () => authenticate(makeInput('PUT', '/bucket/foo', headersFor(UTF8_ON_WIRE, wrong)), config),
      'SignatureDoesNotMatch',
    );
    assert.equal(err.extra.StringToSign, text);
    assert.match(err.extra.StringToSignBytes!, / 6c 64 c3 a9 0a /);
  });
});

describe('SigV2: a path-style bucket request signed with a trailing slash (botocore)', () => {
  const date = now.toUTCString();
  const sign = (stringToSign: string): string => signV2(EXAMPLE_KEY.secretAccessKey, stringToSign);
  const headerAuth = (sig: string): HeaderList => [
    ['Host', 'localhost'],
    ['Date', date],
    ['Authorization', `AWS ${EXAMPLE_KEY.accessKeyId}:${sig}`],
  ];

  it('`/bucket` signed as `/bucket/` or `/bucket` verifies, with and without sub-resources', async () => {
    const cases: Array<[string, string, string]> = [
      ['PUT', '/bucket', '/bucket/'],
      ['GET', '/bucket', '/bucket/'],
      ['GET', '/bucket?versioning', '/bucket/?versioning'],
      ['GET', '/bucket?uploads=&prefix=a', '/bucket/?uploads='],
      ['GET', '/bucket?uploads=&prefix=a', '/bucket/?uploads'],
      ['GET', '/bucket?prefix=a&max-keys=2', '/bucket/'],
      ['GET', '/bucket', '/bucket'],
    ];
    for (const [method, url, resource] of cases) {
      const sig = sign(`${method}\n\n\n${date}\n${resource}`);
      const r = await authenticate(makeInput(method, url, headerAuth(sig)), config);
      assert.equal(r.principal, EXAMPLE_KEY.accessKeyId, `${method} ${url} signed ${resource}`);
      r.body.stream.destroy();
    }
  });

  it('the query form accepts the trailing slash too', async () => {
    const expires = String(Math.floor(now.getTime() / 1000) + 300);
    const sig = sign(`GET\n\n\n${expires}\n/bucket/?versioning`);
    const url = `/bucket?versioning&AWSAccessKeyId=${EXAMPLE_KEY.accessKeyId}&Expires=${expires}&Signature=${encodeURIComponent(sig)}`;
    const r = await authenticate(makeInput('GET', url, [['Host', 'localhost']]), config);
    assert.equal(r.principal, EXAMPLE_KEY.accessKeyId);
  });

  it('a wrong signature, another bucket, or a slash added to an object key is still refused', async () => {
    // [url, signed resource, resource echoed in the error: the path as sent]
    const refused: Array<[string, string, string]> = [
      ['/bucket', '/other/', '/bucket'],
      ['/bucket', '/bucket//', '/bucket'],
      ['/bucket/key', '/bucket/key/', '/bucket/key'],
      ['/bucket?versioning', '/bucket/', '/bucket?versioning'],
    ];
    for (const [url, signed, echoed] of refused) {
      const err = await rejectsWith(
        () => authenticate(makeInput('GET', url, headerAuth(sign(`GET\n\n\n${date}\n${signed}`))), config),
        'SignatureDoesNotMatch',
      );
      assert.equal(err.extra.StringToSign, `GET\n\n\n${date}\n${echoed}`);
    }
    // The right resource under another method is refused as well.
    await rejectsWith(
      () => authenticate(makeInput('GET', '/bucket', headerAuth(sign(`PUT\n\n\n${date}\n/bucket/`))), config),
      'SignatureDoesNotMatch',
    );
  });
});
