/**
 * Malformed or unsupported request details answered as S3 answers them, against a real server
 * (local backend): copy sources, tagging headers and tag sets, write conditions, multipart
 * markers and abort conditions, ranges and response overrides. Found by probing s3local with
 * versitygw's integration tests, which are written against AWS.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startWithClient, type TestServer } from '../helpers/server.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import { bodyText, expectError, newBucket } from '../helpers/versioning.js';

describe('request validation as S3 answers it', () => {
  let srv: TestServer;
  let s3: S3Client;
  let Bucket: string;
  const body = 'x'.repeat(100);

  before(async () => {
    ({ srv, s3 } = await startWithClient({ advanced: true }));
    Bucket = await newBucket(s3, 'valid');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'empty', Body: '' }));
  });
  after(async () => srv?.close());

  it('copy sources: a bad bucket name or a . / .. key segment is InvalidArgument naming the part', async () => {
    const cases: Array<[string, RegExp]> = [
      ['192.168.1.1/foo', /Invalid copy source bucket name/],
      ['my-buc@k&()t/obj', /Invalid copy source bucket name/],
      [`${Bucket}/.`, /Invalid copy source object key/],
      [`${Bucket}/..`, /Invalid copy source object key/],
      [`${Bucket}/foo/ba/../../../r/baz`, /Invalid copy source object key/],
    ];
    for (const [CopySource, message] of cases) {
      const e = await expectError(
        s3.send(new CopyObjectCommand({ Bucket, Key: 'dst', CopySource })),
        'InvalidArgument',
        400,
      );
      assert.match(e.message, message, CopySource);
    }
    // UploadPartCopy checks the destination bucket first.
    await expectError(
      s3.send(
        new UploadPartCopyCommand({
          Bucket: 'no-such-bucket-here',
          Key: 'k',
          UploadId: 'x',
          PartNumber: 1,
          CopySource: 'Copy-Source',
        }),
      ),
      'NoSuchBucket',
      404,
    );
  });

  it('tagging: an invalid directive before the self-copy rule; `=` is a badly encoded header; tags checked before their count', async () => {
    const e = await expectError(
      s3.send(
        new CopyObjectCommand({
          Bucket,
          Key: 'src',
          CopySource: `${Bucket}/src`,
          TaggingDirective: 'invalid' as 'COPY',
        }),
      ),
      'InvalidArgument',
      400,
    );
    assert.match(e.message, /Unknown tagging directive/);
    const bad = await expectError(
      s3.send(new PutObjectCommand({ Bucket, Key: 't', Body: 't', Tagging: '=' })),
      'InvalidArgument',
      400,
    );
    assert.match(bad.message, /x-amz-tagging/);
    const TagSet = Array.from({ length: 10 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    TagSet.push({ Key: '', Value: 'v' });
    await expectError(
      s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'src', Tagging: { TagSet } })),
      'InvalidTag',
      400,
    );
  });

  it('If-Match with If-None-Match on a write is 501 and writes nothing', async () => {
    const etag = (await s3.send(new HeadObjectCommand({ Bucket, Key: 'src' }))).ETag!;
    await expectError(
      s3.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'new', IfMatch: etag, IfNoneMatch: '*' })),
      'NotImplemented',
      501,
    );
    assert.equal(await bodyText(await s3.send(new GetObjectCommand({ Bucket, Key: 'src' }))), body);
  });

  it('AbortMultipartUpload with x-amz-if-match-initiated-time: 412 unless it is the upload time', async () => {
    const Key = 'mpu';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }));
    const initiated = listed.Uploads![0]!.Initiated!;
    await expectError(
      s3.send(
        new AbortMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          IfMatchInitiatedTime: new Date(initiated.getTime() - 3600_000),
        }),
      ),
      'PreconditionFailed',
      412,
    );
    await s3.send(
      new AbortMultipartUploadCommand({ Bucket, Key, UploadId, IfMatchInitiatedTime: initiated }),
    );
    const left = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }));
    assert.equal(left.Uploads, undefined);
  });

  it('ListMultipartUploads: an upload-id-marker that is not an upload of the key-marker is InvalidArgument', async () => {
    const a = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'obj-1' }));
    const b = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'obj-2' }));
    try {
      for (const UploadIdMarker of ['invalid', a.UploadId!]) {
        await expectError(
          s3.send(new ListMultipartUploadsCommand({ Bucket, KeyMarker: 'obj-2', UploadIdMarker })),
          'InvalidArgument',
          400,
        );
      }
      const ok = await s3.send(
        new ListMultipartUploadsCommand({ Bucket, KeyMarker: 'obj-1', UploadIdMarker: a.UploadId! }),
      );
      assert.deepEqual(
        ok.Uploads?.map((u) => u.Key),
        ['obj-2'],
      );
    } finally {
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'obj-1', UploadId: a.UploadId }));
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'obj-2', UploadId: b.UploadId }));
    }
  });

  it('ranges with whitespace inside are ignored; the suffix of an empty object is the empty object', async () => {
    for (const range of ['bytes= -1', 'bytes=0 -1']) {
      const res = await rawRequest(srv.endpoint, {
        method: 'GET',
        path: `/${Bucket}/src`,
        headers: { range },
      });
      assert.equal(res.status, 200, range);
      assert.equal(res.headers['content-range'], undefined, range);
      assert.equal(res.text, body);
    }
    const empty = await rawRequest(srv.endpoint, {
      method: 'GET',
      path: `/${Bucket}/empty`,
      headers: { range: 'bytes=-1' },
    });
    assert.equal(empty.status, 200, empty.text);
    assert.equal(empty.text, '');
  });

  it('a response-* parameter S3 cannot override is InvalidArgument', async () => {
    for (const method of ['GET', 'HEAD']) {
      const res = await rawRequest(srv.endpoint, { method, path: `/${Bucket}/src?response-invalid=value` });
      assert.equal(res.status, 400, `${method} ${res.text}`);
      if (method === 'GET') assert.equal(errorCode(res.text), 'InvalidArgument');
    }
  });

  it('x-amz-website-redirect-location on a write is 501, never dropped', async () => {
    const res = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: `/${Bucket}/redirect`,
      body: 'r',
      headers: { 'x-amz-website-redirect-location': '/elsewhere' },
      payloadHash: createHash('sha256').update('r').digest('hex'),
    });
    assert.equal(res.status, 501, res.text);
    await expectError(s3.send(new HeadObjectCommand({ Bucket, Key: 'redirect' })), 'NotFound', 404);
  });
});
