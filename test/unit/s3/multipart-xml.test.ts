/**
 * Multipart XML documents (golden), the Complete request parser, the keep-alive body and the
 * copy-source range.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { S3Error } from '../../../src/s3/errors.js';
import { keepAliveBody, lateErrorXml } from '../../../src/s3/handlers/multipart-complete.js';
import { parseCopySourceRange } from '../../../src/s3/handlers/multipart-copy.js';
import {
  completeResultXml,
  copyPartResultXml,
  initiateResultXml,
  listPartsXml,
  listUploadsXml,
  parseCompleteRequest,
} from '../../../src/s3/xml/multipart.js';

const DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof S3Error && err.code === code);
}

describe('multipart response documents', () => {
  it('InitiateMultipartUploadResult', () => {
    assert.equal(
      initiateResultXml('b', 'a&b.txt', 'id1'),
      `${DECL}<InitiateMultipartUploadResult ${NS}><Bucket>b</Bucket><Key>a&amp;b.txt</Key><UploadId>id1</UploadId></InitiateMultipartUploadResult>`,
    );
  });

  it('CompleteMultipartUploadResult with and without a checksum', () => {
    assert.equal(
      completeResultXml({ location: 'http://h/b/k', bucket: 'b', key: 'k', etag: 'abc-2', checksums: {} }),
      `${DECL}<CompleteMultipartUploadResult ${NS}><Location>http://h/b/k</Location><Bucket>b</Bucket><Key>k</Key><ETag>&quot;abc-2&quot;</ETag></CompleteMultipartUploadResult>`,
    );
    assert.match(
      completeResultXml({
        location: 'l',
        bucket: 'b',
        key: 'k',
        etag: 'e',
        checksums: { CRC32: 'AAAAAA==-2' },
        checksumType: 'COMPOSITE',
      }),
      /<ChecksumCRC32>AAAAAA==-2<\/ChecksumCRC32><ChecksumType>COMPOSITE<\/ChecksumType><\/CompleteMultipartUploadResult>$/,
    );
  });

  it('CopyPartResult', () => {
    assert.equal(
      copyPartResultXml('e', new Date(Date.UTC(2025, 0, 2, 3, 4, 5)), { CRC32C: 'AAAAAA==' }),
      `${DECL}<CopyPartResult ${NS}><ETag>&quot;e&quot;</ETag><LastModified>2025-01-02T03:04:05.000Z</LastModified><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></CopyPartResult>`,
    );
  });

  it('ListPartsResult', () => {
    const xml = listPartsXml(
      {
        upload: {
          uploadId: 'u',
          bucket: 'b',
          key: 'k',
          initiated: new Date(0),
          headers: {},
          metadata: {},
          checksumAlgorithm: 'CRC32',
          checksumType: 'COMPOSITE',
        },
        parts: [
          { partNumber: 2, size: 5, etag: 'e2', checksums: { CRC32: 'AAAAAA==' }, lastModified: new Date(0) },
        ],
        isTruncated: true,
        nextPartNumberMarker: 2,
      },
      1,
      1,
    );
    assert.equal(
      xml,
      `${DECL}<ListPartsResult ${NS}><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>` +
        '<PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1</MaxParts>' +
        '<IsTruncated>true</IsTruncated><Part><PartNumber>2</PartNumber><LastModified>1970-01-01T00:00:00.000Z</LastModified>' +
        '<ETag>&quot;e2&quot;</ETag><Size>5</Size><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>' +
        '<Initiator><ID>s3local</ID><DisplayName>s3local</DisplayName></Initiator><Owner><ID>s3local</ID><DisplayName>s3local</DisplayName></Owner>' +
        '<StorageClass>STANDARD</StorageClass><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>COMPOSITE</ChecksumType></ListPartsResult>',
    );
  });

  it('ListMultipartUploadsResult with url encoding', () => {
    const enc = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/');
    const xml = listUploadsXml(
      'b',
      {
        uploads: [
          { uploadId: 'u1', bucket: 'b', key: 'a b/c', initiated: new Date(0), headers: {}, metadata: {} },
        ],
        commonPrefixes: ['d+/'],
        isTruncated: true,
        nextKeyMarker: 'd+/',
      },
      { prefix: '', delimiter: '/', keyMarker: '', uploadIdMarker: '', maxUploads: 2, encodingType: 'url' },
      enc,
    );
    assert.equal(
      xml,
      `${DECL}<ListMultipartUploadsResult ${NS}><Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
        '<NextKeyMarker>d%2B/</NextKeyMarker><Prefix></Prefix><Delimiter>/</Delimiter><MaxUploads>2</MaxUploads>' +
        '<IsTruncated>true</IsTruncated><EncodingType>url</EncodingType><Upload><Key>a%20b/c</Key><UploadId>u1</UploadId>' +
        '<Initiator><ID>s3local</ID><DisplayName>s3local</DisplayName></Initiator><Owner><ID>s3local</ID><DisplayName>s3local</DisplayName></Owner>' +
        '<StorageClass>STANDARD</StorageClass><Initiated>1970-01-01T00:00:00.000Z</Initiated></Upload>' +
        '<CommonPrefixes><Prefix>d%2B/</Prefix></CommonPrefixes></ListMultipartUploadsResult>',
    );
  });
});

describe('CompleteMultipartUpload request', () => {
  it('parses parts, quoted ETags and part checksums in document order', () => {
    const body = Buffer.from(
      '<?xml version="1.0"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Part><ETag>&quot;aa&quot;</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>' +
        '<Part><PartNumber>1</PartNumber><ETag>bb</ETag></Part></CompleteMultipartUpload>',
    );
    assert.deepEqual(parseCompleteRequest(body), [
      { partNumber: 2, etag: '"aa"', checksums: { CRC32: 'AAAAAA==' } },
      { partNumber: 1, etag: 'bb', checksums: {} },
    ]);
    assert.deepEqual(parseCompleteRequest(Buffer.from('<CompleteMultipartUpload/>')), []);
    // Go's encoding/xml (rclone) escapes the quotes as numeric character references.
    assert.deepEqual(
      parseCompleteRequest(
        Buffer.from(
          '<CompleteMultipartUpload><Part><ETag>&#34;cb85&#34;</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>',
        ),
      ),
      [{ partNumber: 1, etag: '"cb85"', checksums: {} }],
    );
  });

  it('refuses what is not a CompleteMultipartUpload document', () => {
    throwsCode(() => parseCompleteRequest(Buffer.from('')), 'MalformedXML');
    throwsCode(() => parseCompleteRequest(Buffer.from('<Other/>')), 'MalformedXML');
    throwsCode(() => parseCompleteRequest(Buffer.from('<CompleteMultipartUpload><Part>')), 'MalformedXML');
    throwsCode(
      () =>
        parseCompleteRequest(
          Buffer.from(
            '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part></CompleteMultipartUpload>',
          ),
        ),
      'MalformedXML',
    );
    throwsCode(
      () =>
        parseCompleteRequest(
          Buffer.from(
            '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>',
          ),
        ),
      'MalformedXML',
    );
  });

  it('a part with a malformed checksum, or with several, is InvalidArgument as AWS answers it', () => {
    const doc = (part: string): Buffer =>
      Buffer.from(
        `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>e</ETag>${part}</Part></CompleteMultipartUpload>`,
      );
    const invalidArgument = (part: string, argumentValue: string): void =>
      assert.throws(
        () => parseCompleteRequest(doc(part)),
        (err: unknown) =>
          err instanceof S3Error &&
          err.code === 'InvalidArgument' &&
          err.message === 'Invalid Base64 or multiple checksums present in request' &&
          err.extra.ArgumentName === 'Checksum' &&
          err.extra.ArgumentValue === argumentValue,
      );
    invalidArgument('<ChecksumCRC32>invalid_checksum</ChecksumCRC32>', 'CRC32:invalid_checksum;');
    invalidArgument('<ChecksumCRC32></ChecksumCRC32>', 'CRC32:;');
    // base64, but not of the algorithm's digest length
    invalidArgument('<ChecksumSHA256>AAAAAA==</ChecksumSHA256>', 'SHA256:AAAAAA==;');
    invalidArgument('<ChecksumXXHASH128>AAAAAAAAAAA=</ChecksumXXHASH128>', 'XXHASH128:AAAAAAAAAAA=;');
    invalidArgument(
      '<ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C>',
      'CRC32:AAAAAA==;CRC32C:AAAAAA==;',
    );
    // The new algorithms are parsed like the old ones.
    const md5 = Buffer.alloc(16, 7).toString('base64');
    assert.deepEqual(parseCompleteRequest(doc(`<ChecksumMD5> ${md5} </ChecksumMD5>`)), [
      { partNumber: 1, etag: 'e', checksums: { MD5: md5 } },
    ]);
  });
});

async function collect(stream: Readable, onChunk?: (text: string) => void): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    onChunk?.(text);
  }
  return text;
}

describe('keep-alive body of Complete', () => {
  it('sends the declaration at once, spaces while waiting, then the result element', async () => {
    let resolve!: (xml: string) => void;
    const result = new Promise<string>((r) => (resolve = r));
    const seen: string[] = [];
    const body = keepAliveBody(result, () => 'unused', 10);
    const text = collect(body, (t) => {
      seen.push(t);
      if (t.endsWith('   ')) resolve(`${DECL}<Done/>`);
    });
    const all = await text;
    assert.equal(seen[0], DECL);
    assert.match(all, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n {3,}<Done\/>$/);
  });

  it('a late failure becomes an <Error> document in the body, with the request id', async () => {
    const body = keepAliveBody(
      Promise.reject(new S3Error('PreconditionFailed')),
      (err) => lateErrorXml(err, '/b/k', 'REQ123', 'HOST456'),
      1000,
    );
    const all = await collect(body);
    assert.equal(
      all,
      `${DECL}<Error><Code>PreconditionFailed</Code><Message>At least one of the preconditions you specified did not hold.</Message><Resource>/b/k</Resource><RequestId>REQ123</RequestId><HostId>HOST456</HostId></Error>`,
    );
    const internal = lateErrorXml(new Error('boom /secret/path'), '/b/k', 'R', 'H');
    assert.match(internal, /<Code>InternalError<\/Code>/);
    assert.doesNotMatch(internal, /secret/);
  });
});

describe('x-amz-copy-source-range', () => {
  it('parses bytes=first-last inside the source', () => {
    assert.equal(parseCopySourceRange(undefined, 10), undefined);
    assert.deepEqual(parseCopySourceRange('bytes=0-9', 10), { start: 0, end: 9 });
    assert.deepEqual(parseCopySourceRange('bytes=3-3', 10), { start: 3, end: 3 });
  });

  it('refuses other forms and ranges outside the object', () => {
    for (const v of ['bytes=5-', 'bytes=-5', '0-5', 'bytes=0-1,3-4', 'bytes=5-4', 'bytes=0-10']) {
      throwsCode(() => parseCopySourceRange(v, 10), 'InvalidArgument');
    }
  });
});
