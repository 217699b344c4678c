import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { authenticate } from '../../../src/auth/authenticate.js';
import { AwsChunkedDecoder, chunkSignature, trailerSignature } from '../../../src/auth/aws-chunked.js';
import { signingKey } from '../../../src/auth/crypto.js';
import type { ChunkSigningContext } from '../../../src/auth/sigv4.js';
import { computeChecksum } from '../../../src/s3/checksums.js';
import {
  drain,
  EXAMPLE_KEY,
  exampleConfig,
  makeInput,
  NodeSha256,
  pieces,
  rejectsWith,
  rng,
  withTimeout,
  type HeaderList,
} from './helpers.js';
import { Readable } from 'node:stream';

// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html, "Example: PUT Object".
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const SIG1 = 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648';
const SIG2 = '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497';
const SIG_FINAL = 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9';

const exampleHeaders = (decodedLength = '66560'): HeaderList => [
  ['Host', 's3.amazonaws.com'],
  ['x-amz-date', '20130524T000000Z'],
  ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
  [
    'Authorization',
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=' +
      SEED,
  ],
  ['x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'],
  ['Content-Encoding', 'aws-chunked'],
  ['x-amz-decoded-content-length', decodedLength],
  ['Content-Length', '66824'],
];

function exampleBody(opts: { corruptByte?: number; sig1?: string } = {}): Buffer {
  const a1 = Buffer.alloc(65536, 'a');
  const a2 = Buffer.alloc(1024, 'a');
  if (opts.corruptByte !== undefined) a2[opts.corruptByte] = 0x62;
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${opts.sig1 ?? SIG1}\r\n`),
    a1,
    Buffer.from(`\r\n400;chunk-signature=${SIG2}\r\n`),
    a2,
    Buffer.from(`\r\n0;chunk-signature=${SIG_FINAL}\r\n\r\n`),
  ]);
}

const EXAMPLE_MD5 = createHash('md5').update(Buffer.alloc(66560, 'a')).digest('hex');

function randomSizes(seed: number, max: number, count = 64): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => 1 + Math.floor(r() * max));
}

describe('signed aws-chunked: the AWS example', () => {
  it('the framed body has the published Content-Length', () => {
    assert.equal(exampleBody().length, 66824);
  });

  const splits: [string, number[]][] = [
    ['whole', [1 << 20]],
    ['7 bytes', [7]],
    ['8 KiB', [8192]],
    ['random small', randomSizes(1, 100)],
    ['random large', randomSizes(2, 20000)],
    ['random mixed', randomSizes(3, 3000)],
  ];
  for (const [name, sizes] of splits) {
    it(`decodes and verifies every chunk signature (${name} reads)`, async () => {
      const r = await authenticate(
        makeInput('PUT', '/examplebucket/chunkObject.txt', exampleHeaders(), pieces(exampleBody(), sizes)),
        exampleConfig(),
      );
      const data = await drain(r.body);
      assert.equal(data.length, 66560);
      assert.ok(data.every((b) => b === 0x61));
      assert.equal(r.body.digests().md5, EXAMPLE_MD5);
      assert.equal(r.body.digests().size, 66560);
    });
  }

  it('decodes when fed one byte at a time', async () => {
    const r = await authenticate(
      makeInput('PUT', '/examplebucket/chunkObject.txt', exampleHeaders(), pieces(exampleBody(), [1])),
      exampleConfig(),
    );
    const data = await withTimeout(drain(r.body), 20000);
    assert.equal(data.length, 66560);
    assert.equal(r.body.digests().md5, EXAMPLE_MD5);
  });

  it('a changed data byte is SignatureDoesNotMatch and the stream never ends', async () => {
    const r = await authenticate(
      makeInput(
        'PUT',
        '/examplebucket/chunkObject.txt',
        exampleHeaders(),
        pieces(exampleBody({ corruptByte: 10 }), randomSizes(4, 5000)),
      ),
      exampleConfig(),
    );
    let ended = false;
    r.body.stream.on('end', () => (ended = true));
    const err = await rejectsWith(() => drain(r.body), 'SignatureDoesNotMatch');
    assert.match(
      err.extra.StringToSign!,
      /^AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n20130524\/us-east-1\/s3\/aws4_request\n/,
    );
    assert.equal(ended, false);
    assert.throws(() => r.body.digests());
  });

  it('a wrong chunk signature is refused', async () => {
    const r = await authenticate(
      makeInput('PUT', '/examplebucket/chunkObject.txt', exampleHeaders(), exampleBody({ sig1: SIG2 })),
      exampleConfig(),
    );
    await rejectsWith(() => drain(r.body), 'SignatureDoesNotMatch');
  });

  it('a truncated body is IncompleteBody', async () => {
    for (const cut of [1, 40, 1100, 60000]) {
      const body = exampleBody();
      const r = await authenticate(
        makeInput(
          'PUT',
          '/examplebucket/chunkObject.txt',
          exampleHeaders(),
          body.subarray(0, body.length - cut),
        ),
        exampleConfig(),
      );
      await rejectsWith(() => drain(r.body), 'IncompleteBody');
    }
  });

  it('a wrong x-amz-decoded-content-length is IncompleteBody (the seed is recomputed under --no-auth)', async () => {
    // The declared length is signed, so change it under --no-auth where framing is still checked.
    for (const declared of ['66559', '66561', '0']) {
      const r = await authenticate(
        makeInput('PUT', '/examplebucket/chunkObject.txt', exampleHeaders(declared), exampleBody()),
        exampleConfig({ credentials: null }),
      );
      await rejectsWith(() => drain(r.body), 'IncompleteBody');
    }
    // With auth on, changing it breaks the seed signature.
    await rejectsWith(
      () =>
        authenticate(
          makeInput('PUT', '/examplebucket/chunkObject.txt', exampleHeaders('66561'), exampleBody()),
          exampleConfig(),
        ),
      'SignatureDoesNotMatch',
    );
  });

  it('a missing x-amz-decoded-content-length is MissingContentLength', async () => {
    const headers = exampleHeaders().filter(([n]) => n !== 'x-amz-decoded-content-length');
    await rejectsWith(
      () =>
        authenticate(
          makeInput('PUT', '/examplebucket/chunkObject.txt', headers, exampleBody()),
          exampleConfig({ credentials: null }),
        ),
      'MissingContentLength',
    );
  });

  it('--no-auth: chunk signatures are not checked, framing is', async () => {
    const r = await authenticate(
      makeInput('PUT', '/examplebucket/chunkObject.txt', exampleHeaders(), exampleBody({ corruptByte: 3 })),
      exampleConfig({ credentials: null }),
    );
    assert.equal((await drain(r.body)).length, 66560);
  });
});

describe('aws-chunked framing errors', () => {
  const ctx: ChunkSigningContext = {
    key: signingKey(EXAMPLE_KEY.secretAccessKey, '20130524', 'us-east-1', 's3'),
    amzDate: '20130524T000000Z',
    scope: '20130524/us-east-1/s3/aws4_request',
    seedSignature: SEED,
  };

  async function decode(
    body: Buffer | Readable,
    opts: Partial<ConstructorParameters<typeof AwsChunkedDecoder>[0]> = {},
  ): Promise<Buffer> {
    const d = new AwsChunkedDecoder({ signedChunks: false, trailer: 'unsigned', signing: null, ...opts });
    const src = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const parts: Buffer[] = [];
    const run = async (): Promise<Buffer> => {
      for await (const c of src.pipe(d)) parts.push(c as Buffer);
      return Buffer.concat(parts);
    };
    return withTimeout(run(), 5000);
  }

  it('the AWS chunk signatures come out of chunkSignature', () => {
    assert.equal(chunkSignature(ctx, SEED, Buffer.alloc(65536, 'a')), SIG1);
    assert.equal(chunkSignature(ctx, SIG1, Buffer.alloc(1024, 'a')), SIG2);
    assert.equal(chunkSignature(ctx, SIG2, Buffer.alloc(0)), SIG_FINAL);
  });

  it('the trailer signature matches the AWS CRT test vector', () => {
    // aws-crt-swift ChunkSignerTests: trailers first/second/third after the example's final chunk.
    const sig = trailerSignature(ctx, SIG_FINAL, [
      ['first', '1st'],
      ['second', '2nd'],
      ['third', '3rd'],
    ]);
    assert.equal(sig, 'df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c');
  });

  it('an endless header line is refused without buffering it', async () => {
    const garbage = Readable.from(
      (function* () {
        for (let i = 0; i < 10_000; i++) yield Buffer.alloc(1024, 0x31);
      })(),
    );
    await rejectsWith(() => decode(garbage), 'InvalidRequest');
  });

  it('bad sizes, missing signatures, bad CRLF and trailing junk are InvalidRequest', async () => {
    await rejectsWith(() => decode(Buffer.from('zz\r\nab\r\n0\r\n\r\n')), 'InvalidRequest');
    await rejectsWith(() => decode(Buffer.from('-1\r\n')), 'InvalidRequest');
    await rejectsWith(() => decode(Buffer.from('11111111111111111\r\n')), 'InvalidRequest');
    await rejectsWith(() => decode(Buffer.from('2\r\nabXY0\r\n\r\n')), 'InvalidRequest');
    await rejectsWith(() => decode(Buffer.from('0\r\n\r\nextra')), 'InvalidRequest');
    await rejectsWith(
      () => decode(Buffer.from('2\r\nab\r\n0\r\n\r\n'), { signedChunks: true, trailer: 'none' }),
      'InvalidRequest',
    );
    await rejectsWith(
      () =>
        decode(Buffer.from('0;chunk-signature=' + SIG_FINAL + '\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'), {
          signedChunks: true,
          trailer: 'none',
        }),
      'InvalidRequest',
    );
  });

  it('undeclared or repeated trailers are InvalidRequest', async () => {
    await rejectsWith(
      () => decode(Buffer.from('0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n')),
      'InvalidRequest',
    );
    await rejectsWith(
      () =>
        decode(Buffer.from('0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'), {
          declaredTrailers: ['x-amz-checksum-crc32'],
        }),
      'InvalidRequest',
    );
  });

  it('unsigned framing: chunk extensions ignored, bare-LF trailer ending accepted, missing final blank line tolerated', async () => {
    assert.equal((await decode(Buffer.from('3;foo=bar\r\nabc\r\n0\r\n\r\n'))).toString(), 'abc');
    const d = new AwsChunkedDecoder({
      signedChunks: false,
      trailer: 'unsigned',
      signing: null,
      declaredTrailers: ['x-amz-checksum-crc32'],
      decodedLength: 5,
    });
    const out: Buffer[] = [];
    for await (const c of Readable.from([
      Buffer.from('5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\n\r\n'),
    ]).pipe(d))
      out.push(c as Buffer);
    assert.equal(Buffer.concat(out).toString(), 'hello');
    assert.equal(d.trailers.get('x-amz-checksum-crc32'), 'NhCmhg==');
    assert.equal((await decode(Buffer.from('1\r\nx\r\n0\r\n'))).toString(), 'x');
  });

  it('an empty body ends cleanly with only the final chunk', async () => {
    assert.equal((await decode(Buffer.from('0\r\n\r\n'), { decodedLength: 0 })).length, 0);
    await rejectsWith(() => decode(Buffer.alloc(0)), 'IncompleteBody');
  });
});

describe('aws-chunked with trailers through authenticate', () => {
  const now = new Date('2025-01-02T03:04:05Z');
  const config = exampleConfig({ now: () => now });
  const signer = new SignatureV4({
    credentials: EXAMPLE_KEY,
    region: 'us-east-1',
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const scope = '20250102/us-east-1/s3/aws4_request';
  const ctx = (seed: string): ChunkSigningContext => ({
    key: signingKey(EXAMPLE_KEY.secretAccessKey, '20250102', 'us-east-1', 's3'),
    amzDate: '20250102T030405Z',
    scope,
    seedSignature: seed,
  });

  async function signedRequest(
    mode: string,
    decoded: number,
    trailer: string,
  ): Promise<{ headers: HeaderList; seed: string }> {
    const signed = await signer.sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: 'localhost',
        path: '/bucket/key',
        query: {},
        headers: {
          host: 'localhost',
          'content-encoding': 'aws-chunked',
          'x-amz-content-sha256': mode,
          'x-amz-decoded-content-length': String(decoded),
          'x-amz-trailer': trailer,
        },
      },
      { signingDate: now },
    );
    const seed = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization!)![1]!;
    return { headers: Object.entries(signed.headers), seed };
  }

  function signedTrailerBody(
    data: Buffer,
    chunk: number,
    seed: string,
    trailers: [string, string][],
    tamper?: string,
  ): Buffer {
    const parts: Buffer[] = [];
    let prev = seed;
    const c = ctx(seed);
    for (let pos = 0; pos < data.length; pos += chunk) {
      const piece = data.subarray(pos, pos + chunk);
      prev = chunkSignature(c, prev, piece);
      parts.push(
        Buffer.from(`${piece.length.toString(16)};chunk-signature=${prev}\r\n`),
        piece,
        Buffer.from('\r\n'),
      );
    }
    prev = chunkSignature(c, prev, Buffer.alloc(0));
    parts.push(Buffer.from(`0;chunk-signature=${prev}\r\n`));
    const tsig = trailerSignature(c, prev, trailers);
    for (const [n, v] of trailers) parts.push(Buffer.from(`${n}:${tamper ?? v}\r\n`));
    parts.push(Buffer.from(`x-amz-trailer-signature:${tsig}\r\n\r\n`));
    return Buffer.concat(parts);
  }

  const data = Buffer.alloc(200_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 17) & 0xff;
  const crc32c = computeChecksum('CRC32C', data);

  it('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: chunks, trailer checksum and trailer signature verified', async () => {
    const { headers, seed } = await signedRequest(
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      data.length,
      'x-amz-checksum-crc32c',
    );
    const body = signedTrailerBody(data, 65536, seed, [['x-amz-checksum-crc32c', crc32c]]);
    for (const sizes of [[body.length], randomSizes(7, 9000), [3]]) {
      const r = await authenticate(makeInput('PUT', '/bucket/key', headers, pieces(body, sizes)), config);
      assert.deepEqual(await withTimeout(drain(r.body), 20000), data);
      assert.deepEqual(r.body.digests().checksums, { CRC32C: crc32c });
    }
  });

  it('a tampered trailer value fails the trailer signature', async () => {
    const { headers, seed } = await signedRequest(
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      data.length,
      'x-amz-checksum-crc32c',
    );
    const body = signedTrailerBody(data, 65536, seed, [['x-amz-checksum-crc32c', crc32c]], 'AAAAAA==');
    const r = await authenticate(makeInput('PUT', '/bucket/key', headers, body), config);
    await rejectsWith(() => drain(r.body), 'SignatureDoesNotMatch');
  });

  it('a correctly signed but wrong trailer checksum is BadDigest', async () => {
    const { headers, seed } = await signedRequest(
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      data.length,
      'x-amz-checksum-crc32c',
    );
    const body = signedTrailerBody(data, 65536, seed, [['x-amz-checksum-crc32c', 'AAAAAA==']]);
    const r = await authenticate(makeInput('PUT', '/bucket/key', headers, body), config);
    const err = await rejectsWith(() => drain(r.body), 'BadDigest');
    assert.equal(err.message, 'The CRC32C you specified did not match the calculated checksum.');
  });

  for (const alg of ['MD5', 'SHA512', 'XXHASH64', 'XXHASH3', 'XXHASH128'] as const) {
    const name = `x-amz-checksum-${alg.toLowerCase()}`;
    it(`signed trailer ${name}: verified and stored; wrong is BadDigest, malformed InvalidRequest`, async () => {
      const { headers, seed } = await signedRequest(
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        data.length,
        name,
      );
      const value = computeChecksum(alg, data);
      const ok = await authenticate(
        makeInput(
          'PUT',
          '/bucket/key',
          headers,
          pieces(signedTrailerBody(data, 65536, seed, [[name, value]]), [7001]),
        ),
        config,
      );
      assert.deepEqual(await withTimeout(drain(ok.body), 20000), data);
      assert.deepEqual(ok.body.digests().checksums, { [alg]: value });
      const wrong = await authenticate(
        makeInput(
          'PUT',
          '/bucket/key',
          headers,
          signedTrailerBody(data, 65536, seed, [[name, computeChecksum(alg, 'x')]]),
        ),
        config,
      );
      const err = await rejectsWith(() => drain(wrong.body), 'BadDigest');
      assert.equal(err.message, `The ${alg} you specified did not match the calculated checksum.`);
      const malformed = await authenticate(
        makeInput('PUT', '/bucket/key', headers, signedTrailerBody(data, 65536, seed, [[name, 'AAAA']])),
        config,
      );
      const bad = await rejectsWith(() => drain(malformed.body), 'InvalidRequest');
      assert.equal(bad.message, `Value for ${name} trailing header is invalid.`);
    });
  }

  it('a missing trailer signature is IncompleteBody', async () => {
    const { headers, seed } = await signedRequest(
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      data.length,
      'x-amz-checksum-crc32c',
    );
    const full = signedTrailerBody(data, 65536, seed, [['x-amz-checksum-crc32c', crc32c]]).toString('latin1');
    const cut = Buffer.from(full.replace(/x-amz-trailer-signature:[0-9a-f]{64}\r\n/, ''), 'latin1');
    const r = await authenticate(makeInput('PUT', '/bucket/key', headers, cut), config);
    await rejectsWith(() => drain(r.body), 'IncompleteBody');
  });

  function unsignedTrailerBody(payload: Buffer, chunk: number, trailerLine: string | null): Buffer {
    const parts: Buffer[] = [];
    for (let pos = 0; pos < payload.length; pos += chunk) {
      const piece = payload.subarray(pos, pos + chunk);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n' + (trailerLine === null ? '' : trailerLine + '\r\n') + '\r\n'));
    return Buffer.concat(parts);
  }

  it('STREAMING-UNSIGNED-PAYLOAD-TRAILER (AWS SDK v3 style), 1 byte at a time', async () => {
    const { headers } = await signedRequest(
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      data.length,
      'x-amz-checksum-crc32',
    );
    const crc = computeChecksum('CRC32', data);
    const body = unsignedTrailerBody(data, 16384, `x-amz-checksum-crc32:${crc}`);
    const r = await authenticate(makeInput('PUT', '/bucket/key', headers, pieces(body, [1])), config);
    assert.deepEqual(await withTimeout(drain(r.body), 30000), data);
    assert.deepEqual(r.body.digests().checksums, { CRC32: crc });
  });

  it('unsigned trailer: wrong checksum is BadDigest, missing trailer is InvalidRequest', async () => {
    const { headers } = await signedRequest(
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      data.length,
      'x-amz-checksum-crc32',
    );
    const wrong = await authenticate(
      makeInput(
        'PUT',
        '/bucket/key',
        headers,
        unsignedTrailerBody(data, 65536, 'x-amz-checksum-crc32:AAAAAA=='),
      ),
      config,
    );
    await rejectsWith(() => drain(wrong.body), 'BadDigest');
    const missing = await authenticate(
      makeInput('PUT', '/bucket/key', headers, unsignedTrailerBody(data, 65536, null)),
      config,
    );
    const err = await rejectsWith(() => drain(missing.body), 'InvalidRequest');
    assert.match(err.message, /x-amz-checksum-crc32/);
    const invalid = await authenticate(
      makeInput('PUT', '/bucket/key', headers, unsignedTrailerBody(data, 65536, 'x-amz-checksum-crc32:nope')),
      config,
    );
    await rejectsWith(() => drain(invalid.body), 'InvalidRequest');
  });

  it('Content-Encoding: aws-chunked with UNSIGNED-PAYLOAD is decoded too', async () => {
    const signed = await signer.sign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: 'localhost',
        path: '/bucket/key',
        query: {},
        headers: {
          host: 'localhost',
          'content-encoding': 'aws-chunked',
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
      },
      { signingDate: now },
    );
    const r = await authenticate(
      makeInput('PUT', '/bucket/key', Object.entries(signed.headers), unsignedTrailerBody(data, 1000, null)),
      config,
    );
    assert.deepEqual(await drain(r.body), data);
  });
});
