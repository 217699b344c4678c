/**
 * Multipart over raw signed HTTP: the exact error codes and statuses, and the shape of the
 * CompleteMultipartUpload keep-alive response.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { errorCode, rawRequest, type RawResponse } from '../helpers/sign.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MiB = 1024 * 1024;

describe('multipart over raw HTTP', () => {
  let srv: TestServer;
  const req = (method: string, path: string, body?: Buffer | string, headers?: Record<string, string>) =>
    rawRequest(srv.endpoint, { method, path, body, headers });

  async function create(key: string, headers: Record<string, string> = {}): Promise<string> {
    const res = await req('POST', `/default/${key}?uploads`, undefined, headers);
    assert.equal(res.status, 200, res.text);
    const id = /<UploadId>([^<]+)<\/UploadId>/.exec(res.text)?.[1];
    assert.ok(id);
    return id;
  }

  async function part(key: string, id: string, n: number, body: Buffer | string): Promise<string> {
    const res = await req('PUT', `/default/${key}?partNumber=${n}&uploadId=${id}`, body);
    assert.equal(res.status, 200, res.text);
    return String(res.headers.etag);
  }

  function completeXml(parts: [number, string][]): string {
    return (
      '<CompleteMultipartUpload>' +
      parts.map(([n, e]) => `<Part><PartNumber>${n}</PartNumber><ETag>${e}</ETag></Part>`).join('') +
      '</CompleteMultipartUpload>'
    );
  }

  function expectError(res: RawResponse, status: number, code: string): void {
    assert.equal(res.status, status, res.text);
    assert.equal(errorCode(res.text), code, res.text);
  }

  before(async () => {
    srv = await startServer({ advanced: true });
    await srv.backend.createBucket('default');
  });
  after(async () => srv.close());

  it('Create: InitiateMultipartUploadResult; checksum headers echoed or refused', async () => {
    const res = await req('POST', '/default/a%20key?uploads', undefined, {
      'x-amz-checksum-algorithm': 'crc32c',
    });
    assert.equal(res.status, 200);
    assert.match(
      res.text,
      /<InitiateMultipartUploadResult xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/">/,
    );
    assert.match(
      res.text,
      /<Bucket>default<\/Bucket><Key>a key<\/Key><UploadId>[A-Za-z0-9_-]{36}<\/UploadId>/,
    );
    assert.equal(res.headers['x-amz-checksum-algorithm'], 'CRC32C');
    assert.equal(res.headers['x-amz-checksum-type'], 'COMPOSITE');
    expectError(
      await req('POST', '/default/k?uploads', undefined, {
        'x-amz-checksum-algorithm': 'SHA1',
        'x-amz-checksum-type': 'FULL_OBJECT',
      }),
      400,
      'InvalidRequest',
    );
    expectError(
      await req('POST', '/default/k?uploads', undefined, { 'x-amz-checksum-type': 'COMPOSITE' }),
      400,
      'InvalidRequest',
    );
  });

  it('UploadPart: part numbers 1..10000, NoSuchUpload, checksum algorithm of the upload', async () => {
    const id = await create('parts');
    for (const n of ['0', '10001', 'abc', '-1']) {
      expectError(
        await req('PUT', `/default/parts?partNumber=${n}&uploadId=${id}`, 'x'),
        400,
        'InvalidArgument',
      );
    }
    expectError(await req('PUT', `/default/parts?partNumber=1&uploadId=nope`, 'x'), 404, 'NoSuchUpload');
    expectError(await req('PUT', `/default/other?partNumber=1&uploadId=${id}`, 'x'), 404, 'NoSuchUpload');
    const etag = await part('parts', id, 10000, 'last possible part');
    assert.equal(etag, `"${createHash('md5').update('last possible part').digest('hex')}"`);

    const sha = await create('sha', { 'x-amz-checksum-algorithm': 'SHA256' });
    const crc = Buffer.alloc(4);
    expectError(
      await req('PUT', `/default/sha?partNumber=1&uploadId=${sha}`, 'x', {
        'x-amz-checksum-crc32': crc.toString('base64'),
      }),
      400,
      'InvalidRequest',
    );
    // Without a checksum the server computes the upload's algorithm and returns it.
    const ok = await req('PUT', `/default/sha?partNumber=1&uploadId=${sha}`, 'hello');
    assert.equal(ok.headers['x-amz-checksum-sha256'], createHash('sha256').update('hello').digest('base64'));
  });

  it('Complete: MalformedXML, InvalidPartOrder, InvalidPart, EntityTooSmall, NoSuchUpload', async () => {
    const id = await create('errs');
    const e1 = await part('errs', id, 1, 'one');
    const e2 = await part('errs', id, 2, 'two');
    const post = (body: string) => req('POST', `/default/errs?uploadId=${id}`, body);
    expectError(await post('not xml'), 400, 'MalformedXML');
    expectError(await post('<CompleteMultipartUpload></CompleteMultipartUpload>'), 400, 'MalformedXML');
    expectError(
      await post(
        completeXml([
          [2, e2],
          [1, e1],
        ]),
      ),
      400,
      'InvalidPartOrder',
    );
    expectError(
      await post(
        completeXml([
          [1, e1],
          [3, e2],
        ]),
      ),
      400,
      'InvalidPart',
    );
    expectError(await post(completeXml([[1, e2]])), 400, 'InvalidPart');
    const small = await post(
      completeXml([
        [1, e1],
        [2, e2],
      ]),
    );
    expectError(small, 400, 'EntityTooSmall');
    assert.match(small.text, /<ProposedSize>3<\/ProposedSize><MinSizeAllowed>5242880<\/MinSizeAllowed>/);
    expectError(
      await req('POST', `/default/errs?uploadId=unknown`, completeXml([[1, e1]])),
      404,
      'NoSuchUpload',
    );
    expectError(await req('DELETE', `/default/errs?uploadId=unknown`), 404, 'NoSuchUpload');
    expectError(await req('GET', `/default/errs?uploadId=${id}&max-parts=x`), 400, 'InvalidArgument');
  });

  it('Complete answers 200 with the XML declaration first, then the result (keep-alive shape)', async () => {
    const id = await create('dir/done%20file');
    const e1 = await part('dir/done%20file', id, 1, Buffer.alloc(5 * MiB, 1));
    const e2 = await part('dir/done%20file', id, 2, 'tail');
    const res = await req(
      'POST',
      `/default/dir/done%20file?uploadId=${id}`,
      completeXml([
        [1, e1],
        [2, e2],
      ]),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/xml');
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.ok(res.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'), res.text);
    const md5s = [Buffer.alloc(5 * MiB, 1), Buffer.from('tail')].map((b) =>
      createHash('md5').update(b).digest(),
    );
    const etag = `${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-2`;
    assert.match(
      res.text,
      new RegExp(
        `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>http://127\\.0\\.0\\.1:${srv.port}/default/dir/done%20file</Location>` +
          `<Bucket>default</Bucket><Key>dir/done file</Key><ETag>&quot;${etag}&quot;</ETag></CompleteMultipartUploadResult>$`,
      ),
    );
    const head = await req('HEAD', '/default/dir/done%20file?partNumber=2');
    assert.equal(head.status, 206);
    assert.equal(head.headers['x-amz-mp-parts-count'], '2');
    assert.equal(head.headers['content-length'], '4');
  });

  it('DeleteBucket aborts open uploads (only objects make a bucket non-empty, as on S3)', async () => {
    assert.equal((await req('PUT', '/mp-del-bucket')).status, 200);
    const created = await req('POST', '/mp-del-bucket/k?uploads');
    const id = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1] ?? '';
    assert.equal((await req('PUT', `/mp-del-bucket/k?uploadId=${id}&partNumber=1`, 'part')).status, 200);
    assert.equal((await req('PUT', '/mp-del-bucket/obj', 'x')).status, 200);
    expectError(await req('DELETE', '/mp-del-bucket'), 409, 'BucketNotEmpty');
    assert.equal((await req('DELETE', '/mp-del-bucket/obj')).status, 204);
    assert.equal((await req('DELETE', '/mp-del-bucket')).status, 204);
    expectError(await req('DELETE', `/mp-del-bucket/k?uploadId=${id}`), 404, 'NoSuchBucket');
    assert.equal((await req('PUT', '/mp-del-bucket')).status, 200);
    expectError(await req('DELETE', `/mp-del-bucket/k?uploadId=${id}`), 404, 'NoSuchUpload');
    assert.doesNotMatch((await req('GET', '/mp-del-bucket?uploads')).text, /<Upload>/);
    assert.equal((await req('DELETE', '/mp-del-bucket')).status, 204);
  });
});
