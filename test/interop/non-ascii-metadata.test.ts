/**
 * Non-ASCII user metadata against a real server (ceph/s3-tests
 * test_object_set_get_unicode_metadata): signed over the bytes sent (SigV4 and SigV2), stored as
 * Unicode text, returned RFC 2047-encoded
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html). Also SigV2
 * path-style bucket requests signed with botocore's trailing slash, `/bucket/`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { clientEnv, runClient } from '../helpers/clients.js';
import { startWithClient, TEST_CREDENTIALS, type TestServer } from '../helpers/server.js';
import { errorCode, rawRequest, sendRequest, type RawResponse } from '../helpers/sign.js';

const VALUE = 'Hello World\u00e9';
const ENCODED = '=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?=';
const b64word = (text: string): string => `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;

/**
 * A SigV2 request as botocore's HmacV1Auth makes it: the string to sign built from the header
 * text and signed as UTF-8, the headers sent as UTF-8 bytes; `resource` is what is signed.
 */
function sendV2(
  endpoint: string,
  method: string,
  path: string,
  resource: string,
  headers: Record<string, string> = {},
  secret = TEST_CREDENTIALS.secretAccessKey,
): Promise<RawResponse> {
  const date = new Date().toUTCString();
  const amz = Object.keys(headers)
    .filter((k) => k.startsWith('x-amz-'))
    .sort()
    .map((k) => `${k}:${headers[k]}\n`)
    .join('');
  const stringToSign = `${method}\n\n${headers['content-type'] ?? ''}\n${date}\n${amz}${resource}`;
  const signature = createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64');
  const all: Record<string, string> = {
    ...headers,
    host: new URL(endpoint).host,
    date,
    authorization: `AWS ${TEST_CREDENTIALS.accessKeyId}:${signature}`,
  };
  const wire = Object.fromEntries(
    Object.entries(all).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('latin1')]),
  );
  return sendRequest(new URL(endpoint), method, path, wire, Buffer.alloc(0), 15_000);
}

describe('non-ASCII user metadata', () => {
  let srv: TestServer;
  let s3: S3Client;
  before(async () => ({ srv, s3 } = await startWithClient()));
  after(async () => srv.close());

  const stored = async (key: string): Promise<Record<string, string>> =>
    (await srv.backend.headObject('default', key)).metadata;

  it('AWS SDK v3: UTF-8 (string body) and latin1 (Buffer body) on the wire are both accepted', async () => {
    // Node writes the headers as UTF-8 when they share a packet with a string body, as latin1
    // otherwise; @smithy/signature-v4 signs the UTF-8 either way.
    for (const [key, Body] of [
      ['sdk/string-body', 'bar'],
      ['sdk/buffer-body', Buffer.from('bar')],
    ] as const) {
      await s3.send(new PutObjectCommand({ Bucket: 'default', Key: key, Body, Metadata: { meta1: VALUE } }));
      assert.deepEqual(await stored(key), { meta1: VALUE }, key);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'default', Key: key }));
      assert.equal(head.Metadata?.meta1, ENCODED);
      const get = await s3.send(new GetObjectCommand({ Bucket: 'default', Key: key }));
      assert.equal(get.Metadata?.meta1, ENCODED);
      assert.equal(await get.Body?.transformToString(), 'bar');
    }
  });

  it('SigV4 raw request: UTF-8 bytes, RFC 2047 words and ASCII values', async () => {
    const put = await rawRequest(srv.endpoint, {
      method: 'PUT',
      path: '/default/raw/v4',
      body: 'bar',
      utf8Headers: true,
      headers: {
        'x-amz-meta-meta1': VALUE,
        'x-amz-meta-jp': '\u65e5\u672c\u8a9e \ud83d\ude00',
        'x-amz-meta-q': '=?UTF-8?Q?caf=C3=A9?=',
        'x-amz-meta-b': '=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=',
        'x-amz-meta-ascii': 'plain =?not-a-word',
      },
    });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(await stored('raw/v4'), {
      meta1: VALUE,
      jp: '\u65e5\u672c\u8a9e \ud83d\ude00',
      q: 'caf\u00e9',
      b: '\u00e9\u00e9',
      ascii: 'plain =?not-a-word',
    });
    for (const method of ['GET', 'HEAD']) {
      const r = await rawRequest(srv.endpoint, { method, path: '/default/raw/v4' });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-amz-meta-meta1'], ENCODED);
      assert.equal(r.headers['x-amz-meta-jp'], b64word('\u65e5\u672c\u8a9e \ud83d\ude00'));
      assert.equal(r.headers['x-amz-meta-q'], b64word('caf\u00e9'));
      assert.equal(r.headers['x-amz-meta-b'], b64word('\u00e9\u00e9'));
      assert.equal(r.headers['x-amz-meta-ascii'], 'plain =?not-a-word');
    }
  });

  it('the 2 KB limit counts UTF-8 bytes of the decoded values', async () => {
    const put = (value: string): Promise<RawResponse> =>
      rawRequest(srv.endpoint, {
        method: 'PUT',
        path: '/default/raw/big',
        body: 'x',
        utf8Headers: true,
        headers: { 'x-amz-meta-meta': value },
      });
    // "meta" + 1022 x "é" = 2048 bytes.
    const ok = await put('\u00e9'.repeat(1022));
    assert.equal(ok.status, 200, ok.text);
    const tooLarge = await put('\u00e9'.repeat(1022) + 'x');
    assert.equal(tooLarge.status, 400);
    assert.equal(errorCode(tooLarge.text), 'MetadataTooLarge');
  });

  it('CreateMultipartUpload and CopyObject (REPLACE) store and return the text', async () => {
    const created = await rawRequest(srv.endpoint, {
      method: 'POST',
      path: '/default/mp/obj?uploads',
      utf8Headers: true,
      headers: { 'x-amz-meta-meta1': VALUE, 'x-amz-meta-jp': '\u65e5\u672c' },
    });
    assert.equal(created.status, 200, created.text);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)![1]!;
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'default',
        Key: 'mp/obj',
        UploadId: uploadId,
        PartNumber: 1,
        Body: 'abc',
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'default',
        Key: 'mp/obj',
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
      }),
    );
    assert.deepEqual(await stored('mp/obj'), { meta1: VALUE, jp: '\u65e5\u672c' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'default', Key: 'mp/obj' }));
    assert.deepEqual(head.Metadata, { meta1: ENCODED, jp: b64word('\u65e5\u672c') });

    // No body: the SDK's headers go out as latin1 ("ü" is the byte fc), signed as UTF-8.
    const m = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'default', Key: 'mp/two', Metadata: { a: '\u00fc' } }),
    );
    assert.ok(m.UploadId);
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'default',
        Key: 'mp/copy',
        CopySource: 'default/mp/obj',
        MetadataDirective: 'REPLACE',
        Metadata: { meta2: 'gr\u00fc\u00df' },
      }),
    );
    assert.deepEqual(await stored('mp/copy'), { meta2: 'gr\u00fc\u00df' });
    const copied = await s3.send(new HeadObjectCommand({ Bucket: 'default', Key: 'mp/copy' }));
    assert.equal(copied.Metadata?.meta2, b64word('gr\u00fc\u00df'));
  });

  it('SigV2 (botocore HmacV1Auth): UTF-8 bytes sent and signed are accepted', async () => {
    const put = await sendV2(srv.endpoint, 'PUT', '/default/v2/obj', '/default/v2/obj', {
      'x-amz-meta-meta1': VALUE,
      'content-type': 'text/plain',
    });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(await stored('v2/obj'), { meta1: VALUE });
    const get = await sendV2(srv.endpoint, 'GET', '/default/v2/obj', '/default/v2/obj');
    assert.equal(get.status, 200);
    assert.equal(get.headers['x-amz-meta-meta1'], ENCODED);
    const wrong = await sendV2(
      srv.endpoint,
      'PUT',
      '/default/v2/obj',
      '/default/v2/obj',
      { 'x-amz-meta-meta1': VALUE },
      'nope',
    );
    assert.equal(wrong.status, 403);
    assert.equal(errorCode(wrong.text), 'SignatureDoesNotMatch');
    // The echoed StringToSign is the text the client signed.
    assert.match(wrong.text, /x-amz-meta-meta1:Hello World\u00e9\n\/default\/v2\/obj<\/StringToSign>/);
  });

  it('SigV2 path-style `/bucket` signed as `/bucket/` (botocore) is accepted; a wrong key is not', async () => {
    const list = await sendV2(srv.endpoint, 'GET', '/default', '/default/');
    assert.equal(list.status, 200, list.text);
    assert.match(list.text, /<ListBucketResult/);
    const versioning = await sendV2(srv.endpoint, 'GET', '/default?versioning', '/default/?versioning');
    assert.equal(versioning.status, 200, versioning.text);
    assert.match(versioning.text, /<VersioningConfiguration/);
    const wrong = await sendV2(srv.endpoint, 'GET', '/default', '/default/', {}, 'nope');
    assert.equal(wrong.status, 403);
    assert.equal(errorCode(wrong.text), 'SignatureDoesNotMatch');
  });
});

const PYENV_PYTHON = join(homedir(), '.pyenv', 'shims', 'python3');
const PYTHON = existsSync(PYENV_PYTHON) ? PYENV_PYTHON : 'python3';

const BOTO3_SCRIPT = `
import json, sys
import boto3
from botocore.config import Config
endpoint = sys.argv[1]
out = {}
def client(sig):
    return boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1',
                        config=Config(signature_version=sig, s3={'addressing_style': 'path'}))
v2 = client('s3')
out['list'] = v2.list_objects(Bucket='default', Prefix='boto/')['ResponseMetadata']['HTTPStatusCode']
out['versioning'] = v2.get_bucket_versioning(Bucket='default')['ResponseMetadata']['HTTPStatusCode']
for name, c in [('s3', v2), ('s3v4', client('s3v4'))]:
    # As ceph/s3-tests test_object_set_get_unicode_metadata does.
    def inject(**kwargs):
        kwargs['params']['headers']['x-amz-meta-meta1'] = u"Hello World\\xe9"
    c.meta.events.register('before-call.s3.PutObject', inject)
    c.put_object(Bucket='default', Key='boto/' + name, Body=b'bar')
    out[name] = c.get_object(Bucket='default', Key='boto/' + name)['Metadata']['meta1']
print(json.dumps(out))
`;

describe('boto3: SigV2 path-style bucket requests and non-ASCII metadata', () => {
  let srv: TestServer;
  before(async () => ({ srv } = await startWithClient()));
  after(async () => srv.close());

  it('list_objects, get_bucket_versioning and put_object with "Hello World\\xe9" (s3 and s3v4)', async (t) => {
    const probe = await runClient(PYTHON, ['-c', 'import boto3'], clientEnv(), 60_000);
    if (probe.code !== 0 && process.env.CI !== 'true') {
      t.skip(`boto3 does not import in ${PYTHON}`);
      return;
    }
    const env = clientEnv({
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    });
    const r = await runClient(PYTHON, ['-c', BOTO3_SCRIPT, srv.endpoint], env, 120_000);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out) as unknown, {
      list: 200,
      versioning: 200,
      s3: ENCODED,
      s3v4: ENCODED,
    });
    assert.deepEqual((await srv.backend.headObject('default', 'boto/s3')).metadata, { meta1: VALUE });
    assert.deepEqual((await srv.backend.headObject('default', 'boto/s3v4')).metadata, { meta1: VALUE });
  });
});
