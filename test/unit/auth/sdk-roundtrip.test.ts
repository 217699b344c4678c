/**
 * Real AWS SDK v3 requests (header SigV4, aws-chunked with trailing checksums, presigned URLs)
 * against a bare node:http server whose only logic is authenticate() + an in-memory map.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { authenticate } from '../../../src/auth/authenticate.js';
import type { AuthConfig } from '../../../src/auth/types.js';
import { CHECKSUM_HEADERS } from '../../../src/s3/checksums.js';
import { S3Error } from '../../../src/s3/errors.js';
import { withTimeout } from './helpers.js';

const credentials = { accessKeyId: 'AKIDROUNDTRIP', secretAccessKey: 'secret/with+odd=chars' };
const config: AuthConfig = { credentials, region: 'us-east-1', allowSigV2: true };

const store = new Map<string, Buffer>();
const seenPayloadModes: string[] = [];

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    seenPayloadModes.push(String(req.headers['x-amz-content-sha256'] ?? ''));
    const { body } = await authenticate(
      { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: req },
      config,
    );
    const parts: Buffer[] = [];
    for await (const c of body.stream) parts.push(c as Buffer);
    const data = Buffer.concat(parts);
    const digests = body.digests();
    const url = new URL(req.url!, 'http://localhost');
    const key = decodeURIComponent(url.pathname);
    if (req.method === 'PUT') {
      store.set(key, data);
      const headers: Record<string, string> = { ETag: `"${digests.md5}"` };
      for (const [alg, value] of Object.entries(digests.checksums)) {
        headers[CHECKSUM_HEADERS[alg as keyof typeof CHECKSUM_HEADERS]] = value;
      }
      res.writeHead(200, headers).end();
    } else if (req.method === 'POST' && url.searchParams.has('delete')) {
      res
        .writeHead(200, { 'Content-Type': 'application/xml' })
        .end('<?xml version="1.0" encoding="UTF-8"?><DeleteResult></DeleteResult>');
    } else if (req.method === 'GET' && url.searchParams.get('list-type') === '2') {
      res
        .writeHead(200, { 'Content-Type': 'application/xml' })
        .end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Prefix>${xmlEscape(url.searchParams.get('prefix') ?? '')}</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
        );
    } else {
      const stored = store.get(key);
      if (!stored) throw new S3Error('NoSuchKey');
      res.writeHead(200, { 'Content-Length': String(stored.length) }).end(stored);
    }
  } catch (err) {
    const e = err instanceof S3Error ? err : new S3Error('InternalError', String(err));
    res
      .writeHead(e.status, { 'Content-Type': 'application/xml', Connection: 'close' })
      .end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error>`,
      );
  }
}

let server: Server;
let endpoint: string;
let client: S3Client;

before(async () => {
  server = createServer((req, res) => void handle(req, res));
  await withTimeout(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 5000, 'listen');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1 });
});

after(async () => {
  client.destroy();
  server.closeAllConnections();
  await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'close');
});

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const KEYS = ['plain.bin', "dir/a b+c%d~é!'()*=&;.txt", 'deep/dir/', 'üñíçødé/日本'];

describe('AWS SDK v3 against authenticate()', () => {
  for (const key of KEYS) {
    it(`PutObject (Buffer body) and GetObject of ${JSON.stringify(key)}`, async () => {
      const data = Buffer.from(`content of ${key}`.repeat(100));
      const put = await withTimeout(client.send(new PutObjectCommand({ Bucket: 'b', Key: key, Body: data })));
      assert.equal(put.ETag, `"${md5(data)}"`);
      assert.deepEqual(store.get(`/b/${key}`), data);
      const got = await withTimeout(client.send(new GetObjectCommand({ Bucket: 'b', Key: key })));
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), data);
    });
  }

  for (const alg of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const) {
    it(`PutObject with a stream body (aws-chunked, trailing ${alg})`, async () => {
      const data = Buffer.alloc(300_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
      const before = seenPayloadModes.length;
      const put = await withTimeout(
        client.send(
          new PutObjectCommand({
            Bucket: 'b',
            Key: `stream-${alg}`,
            Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
            ContentLength: data.length,
            ChecksumAlgorithm: alg,
          }),
        ),
      );
      assert.equal(put.ETag, `"${md5(data)}"`);
      assert.deepEqual(store.get(`/b/stream-${alg}`), data);
      assert.ok(seenPayloadModes.slice(before).includes('STREAMING-UNSIGNED-PAYLOAD-TRAILER'));
      assert.ok(put[`Checksum${alg}`], 'the verified trailer checksum is reported');
    });
  }

  it('ListObjectsV2 with an odd prefix and DeleteObjects (POST with a checksum)', async () => {
    const list = await withTimeout(
      client.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: "a b+c/é'*", Delimiter: '/' })),
    );
    assert.equal(list.Prefix, "a b+c/é'*");
    await withTimeout(
      client.send(
        new DeleteObjectsCommand({ Bucket: 'b', Delete: { Objects: [{ Key: 'x y' }, { Key: 'z+' }] } }),
      ),
    );
  });

  it('presigned PUT and GET URLs (s3-request-presigner) work with plain fetch', async () => {
    const key = 'presigned/a b+c.txt';
    const data = Buffer.from('presigned body');
    const putUrl = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'b', Key: key }), {
      expiresIn: 300,
    });
    const put = await withTimeout(fetch(putUrl, { method: 'PUT', body: data }));
    assert.equal(put.status, 200, await put.text());
    assert.deepEqual(store.get(`/b/${key}`), data);
    const getUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'b', Key: key }), {
      expiresIn: 300,
    });
    const got = await withTimeout(fetch(getUrl));
    assert.equal(got.status, 200);
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), data);
    const tampered = await withTimeout(fetch(getUrl.replace('a%20b', 'a%20c')));
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it('a client with the wrong secret gets SignatureDoesNotMatch; a wrong key InvalidAccessKeyId', async () => {
    const wrong = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { ...credentials, secretAccessKey: 'nope' },
      maxAttempts: 1,
    });
    await assert.rejects(
      withTimeout(wrong.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' }))),
      { name: 'SignatureDoesNotMatch' },
    );
    wrong.destroy();
    const other = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'OTHER', secretAccessKey: 'nope' },
      maxAttempts: 1,
    });
    await assert.rejects(withTimeout(other.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }))), {
      name: 'InvalidAccessKeyId',
    });
    other.destroy();
  });

  it('a client in another region gets AuthorizationHeaderMalformed', async () => {
    const eu = new S3Client({
      endpoint,
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    await assert.rejects(withTimeout(eu.send(new GetObjectCommand({ Bucket: 'b', Key: 'plain.bin' }))), {
      name: 'AuthorizationHeaderMalformed',
    });
    eu.destroy();
  });
});
