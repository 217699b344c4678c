import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { PassThrough, Readable } from 'node:stream';
import { authenticate } from '../../../src/auth/authenticate.js';
import { computeChecksum } from '../../../src/s3/checksums.js';
import { CHECKSUM_ALGORITHMS } from '../../../src/s3/body.js';
import { drain, exampleConfig, makeInput, rejectsWith, withTimeout, type HeaderList } from './helpers.js';

// These requests are anonymous under --no-auth: the body checks do not depend on the signature.
const config = exampleConfig({ credentials: null });
const body = Buffer.from('hello world');
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

async function put(
  headers: HeaderList,
  data: Buffer | Readable = body,
): Promise<Awaited<ReturnType<typeof authenticate>>> {
  return authenticate(makeInput('PUT', '/bucket/key', headers, data), config);
}

describe('verified body', () => {
  it('computes MD5 and size; digests() throws until the end', async () => {
    const r = await put([['Content-Length', '11']]);
    assert.throws(() => r.body.digests(), /not available/);
    assert.deepEqual(await drain(r.body), body);
    assert.deepEqual(r.body.digests(), { size: 11, md5: '5eb63bbbe01eeed093cb22bb8f5acdc3', checksums: {} });
  });

  it('Content-MD5: match passes, mismatch is BadDigest before end, malformed is InvalidDigest at once', async () => {
    const ok = await put([['Content-MD5', md5(body)]]);
    await drain(ok.body);
    const bad = await put([['Content-MD5', md5(Buffer.from('other'))]]);
    let ended = false;
    bad.body.stream.on('end', () => (ended = true));
    const err = await rejectsWith(() => drain(bad.body), 'BadDigest');
    assert.equal(err.message, 'The Content-MD5 you specified did not match what we received.');
    assert.equal(ended, false);
    await rejectsWith(() => put([['Content-MD5', 'not-base64-md5']]), 'InvalidDigest');
    await rejectsWith(() => put([['Content-MD5', Buffer.alloc(15).toString('base64')]]), 'InvalidDigest');
  });

  for (const alg of CHECKSUM_ALGORITHMS) {
    it(`x-amz-checksum-${alg.toLowerCase()}: verified and reported; a mismatch is BadDigest`, async () => {
      const value = computeChecksum(alg, body);
      const ok = await put([[`x-amz-checksum-${alg.toLowerCase()}`, value]]);
      await drain(ok.body);
      assert.deepEqual(ok.body.digests().checksums, { [alg]: value });
      const bad = await put([[`x-amz-checksum-${alg.toLowerCase()}`, computeChecksum(alg, 'x')]]);
      const err = await rejectsWith(() => drain(bad.body), 'BadDigest');
      assert.equal(err.message, `The ${alg} you specified did not match the calculated checksum.`);
    });
  }

  it('x-amz-sdk-checksum-algorithm alone: computed and stored', async () => {
    const r = await put([['x-amz-sdk-checksum-algorithm', 'CRC64NVME']]);
    await drain(r.body);
    assert.deepEqual(r.body.digests().checksums, { CRC64NVME: computeChecksum('CRC64NVME', body) });
  });

  it('header errors are thrown before any body byte: bad value, two checksums, trailer without chunked body', async () => {
    const err = await rejectsWith(() => put([['x-amz-checksum-crc32', 'xyz']]), 'InvalidRequest');
    assert.equal(err.message, 'Value for x-amz-checksum-crc32 header is invalid.');
    await rejectsWith(
      () =>
        put([
          ['x-amz-checksum-crc32', computeChecksum('CRC32', body)],
          ['x-amz-checksum-sha1', computeChecksum('SHA1', body)],
        ]),
      'InvalidRequest',
    );
    await rejectsWith(() => put([['x-amz-trailer', 'x-amz-checksum-crc32']]), 'InvalidRequest');
  });

  it('a body shorter than Content-Length is IncompleteBody', async () => {
    const r = await put([['Content-Length', '12']]);
    await rejectsWith(() => drain(r.body), 'IncompleteBody');
  });

  it('a source that errors or closes early destroys the body', async () => {
    const src = new PassThrough();
    const r = await put([], src);
    src.write('part');
    src.destroy(new Error('socket hang up'));
    await assert.rejects(drain(r.body), /socket hang up/);
    const src2 = new PassThrough();
    const r2 = await put([], src2);
    src2.write('part');
    src2.destroy();
    await assert.rejects(drain(r2.body));
  });

  it('a failing body nobody reads does not crash', async () => {
    const src = new PassThrough();
    const r = await put([['x-amz-checksum-crc32', computeChecksum('CRC32', 'x')]], src);
    src.end(body);
    await withTimeout(new Promise((resolve) => r.body.stream.once('close', resolve)), 5000, 'close');
    assert.ok(r.body.stream.destroyed);
  });

  it('a failure mid-body unpipes the source without destroying it (the server still answers)', async () => {
    const src = new PassThrough();
    const headers: HeaderList = [
      ['Content-Encoding', 'aws-chunked'],
      ['x-amz-content-sha256', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'],
      ['x-amz-decoded-content-length', '100'],
    ];
    const r = await put(headers, src);
    const failed = rejectsWith(() => drain(r.body), 'InvalidRequest');
    src.write('zz-not-hex\r\n');
    await failed;
    assert.equal(src.destroyed, false);
    assert.equal(src.listenerCount('data'), 0);
    src.destroy();
  });
});

describe('checksum headers that are not about the request body', () => {
  it('CompleteMultipartUpload: x-amz-checksum-* is the object checksum, not checked against the XML', async () => {
    const xml = Buffer.from('<CompleteMultipartUpload></CompleteMultipartUpload>');
    const headers: HeaderList = [
      ['x-amz-checksum-crc32', computeChecksum('CRC32', 'the whole object')],
      ['x-amz-checksum-type', 'FULL_OBJECT'],
    ];
    const r = await authenticate(makeInput('POST', '/bucket/key?uploadId=abc', headers, xml), config);
    assert.deepEqual(await drain(r.body), xml);
    assert.deepEqual(r.body.digests().checksums, {});
    // The same header on UploadPart is about the body and is verified.
    const part = await authenticate(
      makeInput('PUT', '/bucket/key?uploadId=abc&partNumber=1', headers, xml),
      config,
    );
    await rejectsWith(() => drain(part.body), 'BadDigest');
  });
});
