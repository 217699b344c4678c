/**
 * Vectors produced by botocore 1.43.11 (boto3 / awscli) with its clock frozen at
 * 2024-03-01T12:00:00Z, key pair AKIDBOTO / "boto/secret+key=", endpoint http://127.0.0.1:9000,
 * path-style: generate_presigned_url (what `aws s3 presign` calls), S3SigV4Auth on a PUT, and
 * HmacV1Auth (signature_version "s3") for SigV2 header and query auth. The key
 * "dir/a b+c%d~é!'()*=&;.txt" exercises botocore's path quoting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticate } from '../../../src/auth/authenticate.js';
import { drain, exampleConfig, makeInput, rejectsWith, type HeaderList } from './helpers.js';

const config = exampleConfig({
  credentials: { accessKeyId: 'AKIDBOTO', secretAccessKey: 'boto/secret+key=' },
  now: () => new Date('2024-03-01T12:00:00Z'),
});
const HOST: [string, string] = ['Host', '127.0.0.1:9000'];
const KEY_PATH = '/b/dir/a%20b%2Bc%25d~%C3%A9%21%27%28%29%2A%3D%26%3B.txt';

describe('botocore vectors', () => {
  it('generate_presigned_url get_object (SigV4 query, host signed)', async () => {
    const url = `${KEY_PATH}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDBOTO%2F20240301%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240301T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=13385f1ba8dd710d67f88b0f8fe2e5e41971abf94fea5c177a83c5bbbc456e2d`;
    const r = await authenticate(makeInput('GET', url, [HOST]), config);
    assert.equal(r.principal, 'AKIDBOTO');
    await rejectsWith(() => authenticate(makeInput('PUT', url, [HOST]), config), 'SignatureDoesNotMatch');
  });

  it('generate_presigned_url put_object with the 7-day maximum, used 6 days later', async () => {
    const url = `${KEY_PATH}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDBOTO%2F20240301%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240301T120000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=3e9d84269b592641ae2226f6bb2be1cdd41a49c5bf39bfe694adc43024ac41d1`;
    const later = { ...config, now: () => new Date('2024-03-07T12:00:00Z') };
    const r = await authenticate(
      makeInput('PUT', url, [HOST, ['Content-Length', '4']], Buffer.from('data')),
      later,
    );
    assert.equal((await drain(r.body)).toString(), 'data');
  });

  it('S3SigV4Auth PUT with a body, a sub-resource and a header with inner spaces', async () => {
    const body = Buffer.from('boto body');
    const headers: HeaderList = [
      HOST,
      ['Content-Type', 'text/plain'],
      ['x-amz-meta-note', '  spaced   out  '],
      ['X-Amz-Date', '20240301T120000Z'],
      ['X-Amz-Content-SHA256', '01819c6ded256ac3d683fb3ac9e7cb0894c0e98d00186da8e450432cb2372ca0'],
      [
        'Authorization',
        'AWS4-HMAC-SHA256 Credential=AKIDBOTO/20240301/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-note, Signature=e1f3a8a3b083ececc01f3b2690ddee736a57dd6832348407e9c052bd68382a09',
      ],
    ];
    const r = await authenticate(makeInput('PUT', `${KEY_PATH}?tagging=`, headers, body), config);
    assert.deepEqual(await drain(r.body), body);
  });

  it('HmacV1Auth (SigV2) UploadPart: partNumber and uploadId are signed, decoded', async () => {
    const headers: HeaderList = [
      HOST,
      ['Content-Type', 'application/octet-stream'],
      ['x-amz-meta-a', 'x'],
      ['X-Amz-Meta-B', 'y'],
      ['Date', 'Fri, 01 Mar 2024 12:00:00 GMT'],
      ['Authorization', 'AWS AKIDBOTO:3cdLxBR9uUKr35dbJ28K/EJuo3E='],
    ];
    await authenticate(
      makeInput('PUT', '/b/dir/a%20b%2Bc.txt?partNumber=3&uploadId=abc%2Fdef', headers, Buffer.from('part')),
      config,
    );
    await rejectsWith(
      () =>
        authenticate(
          makeInput('PUT', '/b/dir/a%20b%2Bc.txt?partNumber=4&uploadId=abc%2Fdef', headers),
          config,
        ),
      'SignatureDoesNotMatch',
    );
  });

  it('HmacV1Auth (SigV2) ListMultipartUploads: ?uploads signed, prefix not', async () => {
    const headers: HeaderList = [
      HOST,
      ['Date', 'Fri, 01 Mar 2024 12:00:00 GMT'],
      ['Authorization', 'AWS AKIDBOTO:M3hKWh2P/9Dzm95pPzjI8OANou0='],
    ];
    await authenticate(makeInput('GET', '/b?prefix=a%20b&uploads', headers), config);
  });

  it('signature_version "s3" presigned GET with response-content-disposition (SigV2 query)', async () => {
    const url = `${KEY_PATH}?response-content-disposition=attachment%3B%20filename%3D%22x%20y.txt%22&AWSAccessKeyId=AKIDBOTO&Signature=QEWq13NXqi5lUga11XQviiXbIFI%3D&Expires=1709298000`;
    await authenticate(makeInput('GET', url, [HOST]), config);
    await rejectsWith(
      () => authenticate(makeInput('GET', url.replace('x%20y', 'x%20z'), [HOST]), config),
      'SignatureDoesNotMatch',
    );
  });
});
