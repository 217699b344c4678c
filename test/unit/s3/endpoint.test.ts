/** parseEndpoint: the routing table. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEndpoint, parseQuery, validateBucketName, type Endpoint } from '../../../src/s3/endpoint.js';
import { S3Error } from '../../../src/s3/errors.js';

const opts = { domains: ['localhost', 's3.example.test'] };
const route = (method: string, url: string, headers: Record<string, string> = {}): Endpoint =>
  parseEndpoint(method, url, { host: '127.0.0.1:10001', ...headers }, opts);

describe('parseEndpoint', () => {
  const table: Array<[string, string, Record<string, string>, string, string?, string?]> = [
    ['GET', '/', {}, 'ListBuckets'],
    ['GET', '/bk1', {}, 'ListObjects', 'bk1', ''],
    ['GET', '/bk1/', {}, 'ListObjects', 'bk1', ''],
    ['GET', '/bk1?list-type=2&prefix=a', {}, 'ListObjectsV2', 'bk1', ''],
    ['GET', '/bk1?location', {}, 'GetBucketLocation', 'bk1'],
    ['GET', '/bk1?versioning', {}, 'GetBucketVersioning', 'bk1'],
    ['GET', '/bk1?uploads', {}, 'ListMultipartUploads', 'bk1'],
    ['HEAD', '/bk1', {}, 'HeadBucket', 'bk1'],
    ['PUT', '/bk1', {}, 'CreateBucket', 'bk1'],
    ['DELETE', '/bk1/', {}, 'DeleteBucket', 'bk1'],
    ['POST', '/bk1?delete', {}, 'DeleteObjects', 'bk1'],
    ['POST', '/bk1?delete=', {}, 'DeleteObjects', 'bk1'],
    ['GET', '/bk1/k', {}, 'GetObject', 'bk1', 'k'],
    ['GET', '/bk1/k?x-id=GetObject', {}, 'GetObject', 'bk1', 'k'],
    ['GET', '/bk1/k?partNumber=2&response-content-type=a', {}, 'GetObject', 'bk1', 'k'],
    ['HEAD', '/bk1/dir/', {}, 'HeadObject', 'bk1', 'dir/'],
    ['PUT', '/bk1/a%2541', {}, 'PutObject', 'bk1', 'a%41'],
    ['PUT', '/bk1/a+b%20c', {}, 'PutObject', 'bk1', 'a+b c'],
    ['PUT', '/bk1/x//y', {}, 'PutObject', 'bk1', 'x//y'],
    ['PUT', '/bk1/k', { 'x-amz-copy-source': '/bk1/j' }, 'CopyObject', 'bk1', 'k'],
    ['PUT', '/bk1/k?partNumber=1&uploadId=u', {}, 'UploadPart', 'bk1', 'k'],
    ['PUT', '/bk1/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': 'bk1/j' }, 'UploadPartCopy', 'bk1', 'k'],
    ['POST', '/bk1/k?uploads', {}, 'CreateMultipartUpload', 'bk1', 'k'],
    ['POST', '/bk1/k?uploadId=u', {}, 'CompleteMultipartUpload', 'bk1', 'k'],
    ['DELETE', '/bk1/k?uploadId=u', {}, 'AbortMultipartUpload', 'bk1', 'k'],
    ['GET', '/bk1/k?uploadId=u', {}, 'ListParts', 'bk1', 'k'],
    ['DELETE', '/bk1/k', {}, 'DeleteObject', 'bk1', 'k'],
    ['GET', '/bk1?acl', {}, 'GetBucketAcl', 'bk1', ''],
    ['PUT', '/bk1?acl', {}, 'PutBucketAcl', 'bk1', ''],
    ['GET', '/bk1/k?acl', {}, 'GetObjectAcl', 'bk1', 'k'],
    ['GET', '/bk1/k?versionId=v&acl', {}, 'GetObjectAcl', 'bk1', 'k'],
    ['PUT', '/bk1/k?acl', { 'x-amz-copy-source': '/bk1/j' }, 'PutObjectAcl', 'bk1', 'k'],
    ['DELETE', '/bk1?acl', {}, 'NotImplemented'],
    ['HEAD', '/bk1/k?acl', {}, 'NotImplemented'],
    ['GET', '/bk1?cors', {}, 'NotImplemented'],
    ['GET', '/bk1?policy', {}, 'NotImplemented'],
    ['GET', '/bk1?lifecycle', {}, 'NotImplemented'],
    ['GET', '/bk1?object-lock', {}, 'GetObjectLockConfiguration', 'bk1'],
    ['PUT', '/bk1?object-lock', {}, 'PutObjectLockConfiguration', 'bk1'],
    ['GET', '/bk1?versions', {}, 'ListObjectVersions', 'bk1'],
    ['GET', '/bk1?versions&prefix=a&key-marker=b', {}, 'ListObjectVersions', 'bk1'],
    ['PUT', '/bk1?versioning', {}, 'PutBucketVersioning', 'bk1'],
    ['GET', '/bk1/k?versionId=abc', {}, 'GetObject', 'bk1', 'k'],
    ['DELETE', '/bk1/k?versionId=abc', {}, 'DeleteObject', 'bk1', 'k'],
    ['GET', '/bk1/k?retention', {}, 'GetObjectRetention', 'bk1', 'k'],
    ['PUT', '/bk1/k?retention&versionId=v', {}, 'PutObjectRetention', 'bk1', 'k'],
    ['GET', '/bk1/k?legal-hold', {}, 'GetObjectLegalHold', 'bk1', 'k'],
    ['PUT', '/bk1/k?legal-hold', {}, 'PutObjectLegalHold', 'bk1', 'k'],
    ['DELETE', '/bk1/k?retention', {}, 'NotImplemented'],
    ['PUT', '/bk1/k?tagging', {}, 'PutObjectTagging', 'bk1', 'k'],
    ['DELETE', '/bk1/k?tagging&versionId=v', {}, 'DeleteObjectTagging', 'bk1', 'k'],
    ['GET', '/bk1?tagging', {}, 'NotImplemented'],
    ['PUT', '/bk1?tagging', {}, 'NotImplemented'],
    ['PUT', '/bk1/k?acl', {}, 'PutObjectAcl', 'bk1', 'k'],
    ['PUT', '/bk1/k?partNumber=1', {}, 'PutObject', 'bk1', 'k'],
    ['GET', '/bk1/k?tagging', {}, 'GetObjectTagging', 'bk1', 'k'],
    ['POST', '/bk1', {}, 'NotImplemented'],
    ['POST', '/bk1/k', {}, 'NotImplemented'],
    ['PUT', '/', {}, 'NotImplemented'],
  ];
  for (const [method, url, headers, kind, bucket, key] of table) {
    it(`${method} ${url} -> ${kind}`, () => {
      const ep = route(method, url, headers);
      assert.equal(ep.kind, kind);
      if (bucket !== undefined) assert.equal('bucket' in ep ? ep.bucket : undefined, bucket);
      if (key !== undefined) assert.equal('key' in ep ? ep.key : undefined, key);
    });
  }

  it('routes virtual-host style by the configured domains only', () => {
    const vh = parseEndpoint('GET', '/dir/file.txt', { host: 'mybucket.localhost:10001' }, opts);
    assert.equal(vh.kind, 'GetObject');
    assert.equal('bucket' in vh && vh.bucket, 'mybucket');
    assert.equal('key' in vh && vh.key, 'dir/file.txt');
    const list = parseEndpoint('GET', '/?list-type=2', { host: 'bkt.s3.example.test' }, opts);
    assert.equal(list.kind, 'ListObjectsV2');
    // the bare domain with a port is path style (pys3local's localhost:PORT bug)
    const ps = parseEndpoint('GET', '/bk1/k', { host: 'localhost:10001' }, opts);
    assert.equal('bucket' in ps && ps.bucket, 'bk1');
    const other = parseEndpoint('GET', '/bk1/k', { host: 'bucket.other.test' }, opts);
    assert.equal('bucket' in other && other.bucket, 'bk1');
  });

  it('rejects unknown methods, bad buckets and bad encodings', () => {
    assert.throws(
      () => route('PATCH', '/bk1/k'),
      (e: S3Error) => e.code === 'MethodNotAllowed',
    );
    assert.throws(
      () => route('GET', '/Bad_Bucket/k'),
      (e: S3Error) => e.code === 'InvalidBucketName',
    );
    assert.throws(
      () => route('GET', '/bk1/%zz'),
      (e: S3Error) => e.code === 'InvalidURI',
    );
    assert.throws(
      () => route('GET', '/../k'),
      (e: S3Error) => e.code === 'InvalidBucketName',
    );
  });

  it('reads + in a query as a space and keeps the first of repeated parameters', () => {
    const q = parseQuery('prefix=a+b%2Bc&prefix=second&flag&empty=');
    // `+` is a space in a query (form encoding); a literal plus is `%2B`.
    assert.equal(q.get('prefix'), 'a b+c');
    assert.equal(q.get('flag'), '');
    assert.equal(q.get('empty'), '');
  });

  it('validates bucket names as AWS does', () => {
    for (const ok of ['abc', 'my.bucket.name', 'a-b-c', '123', 'x'.repeat(63), 'default'])
      validateBucketName(ok);
    for (const bad of [
      'ab',
      'x'.repeat(64),
      'Abc',
      'a_b',
      '-abc',
      'abc-',
      'a..b',
      '192.168.1.1',
      'xn--abc',
      '_s3local',
      'abc-s3alias',
    ]) {
      assert.throws(
        () => validateBucketName(bad),
        (e: S3Error) => e.code === 'InvalidBucketName',
        bad,
      );
    }
  });
});
