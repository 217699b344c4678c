import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  canonicalQuery,
  chunkSignature,
  encodePath,
  Signer,
  toAmzDate,
  uriEncode,
  EMPTY_SHA256,
} from '../../../bench/sigv4.js';

// The examples of https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
// and https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html.
const signer = () =>
  new Signer({
    accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
  });
const DATE = '20130524T000000Z';
const SCOPE = '20130524/us-east-1/s3/aws4_request';

describe('bench SigV4 signer: the AWS examples', () => {
  it('GET object with a Range', () => {
    const s = signer().sign({
      method: 'GET',
      path: '/test.txt',
      query: [],
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-date': DATE,
      },
      payloadHash: EMPTY_SHA256,
      amzDate: DATE,
    });
    assert.equal(s.signature, 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    assert.equal(s.scope, SCOPE);
    assert.equal(
      s.authorization,
      `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/${SCOPE}, ` +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('PUT object with a signed payload and a $ in the key', () => {
    const hash = '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072';
    const s = signer().sign({
      method: 'PUT',
      path: `/${uriEncode('test$file.text', true)}`,
      query: [],
      headers: {
        date: 'Fri, 24 May 2013 00:00:00 GMT',
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': hash,
        'x-amz-date': DATE,
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      payloadHash: hash,
      amzDate: DATE,
    });
    assert.equal(s.signature, '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('GET bucket (list objects) with a query', () => {
    const s = signer().sign({
      method: 'GET',
      path: '/',
      query: [
        ['prefix', 'J'],
        ['max-keys', '2'],
      ],
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        'x-amz-content-sha256': EMPTY_SHA256,
        'x-amz-date': DATE,
      },
      payloadHash: EMPTY_SHA256,
      amzDate: DATE,
    });
    assert.equal(s.signature, '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('chained chunk signatures of the streaming PUT example', () => {
    const s = signer().sign({
      method: 'PUT',
      path: '/examplebucket/chunkObject.txt',
      query: [],
      headers: {
        'content-encoding': 'aws-chunked',
        'content-length': '66824',
        host: 's3.amazonaws.com',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'x-amz-date': DATE,
        'x-amz-decoded-content-length': '66560',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      },
      payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      amzDate: DATE,
    });
    assert.equal(s.signature, '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
    const h = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const sig1 = chunkSignature(s.signingKey, DATE, s.scope, s.signature, h(Buffer.alloc(65536, 'a')));
    assert.equal(sig1, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
    const sig2 = chunkSignature(s.signingKey, DATE, s.scope, sig1, h(Buffer.alloc(1024, 'a')));
    assert.equal(sig2, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
    const last = chunkSignature(s.signingKey, DATE, s.scope, sig2, EMPTY_SHA256);
    assert.equal(last, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
  });
});

describe('bench SigV4 helpers', () => {
  it("uriEncode follows RFC 3986 (no !'()*) and keeps / only in paths", () => {
    assert.equal(uriEncode("a b+c!'()*~._-/é", false), 'a%20b%2Bc%21%27%28%29%2A~._-%2F%C3%A9');
    assert.equal(uriEncode('dir/sub dir/x', true), 'dir/sub%20dir/x');
    assert.equal(encodePath('default', 'a/b c'), '/default/a/b%20c');
    assert.equal(encodePath('default', ''), '/default');
  });

  it('canonicalQuery sorts by encoded name and keeps empty values', () => {
    assert.equal(
      canonicalQuery([
        ['uploads', ''],
        ['max-keys', '2'],
        ['continuation-token', 'a/b=c'],
      ]),
      'continuation-token=a%2Fb%3Dc&max-keys=2&uploads=',
    );
  });

  it('toAmzDate drops separators and milliseconds', () => {
    assert.equal(toAmzDate(new Date('2013-05-24T00:00:00.123Z')), DATE);
  });
});
