/**
 * The checksum algorithms S3 added after the first five — MD5, SHA512, XXHASH64, XXHASH3,
 * XXHASH128 — end to end with the AWS SDK v3 (given the AWS SDK's own implementations through its
 * `checksumAlgorithms` option, so every value is computed independently of s3local): PutObject
 * with the checksum in a header and in an aws-chunked trailer, verified (BadDigest when wrong,
 * InvalidRequest when malformed); GET/HEAD with checksum mode; a COMPOSITE multipart upload with
 * UploadPart, UploadPartCopy, ListParts, Complete and HEAD `?partNumber`; and boto3's SHA512.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Md5 } from '@aws-sdk/checksums/md5';
import { Sha512 } from '@aws-sdk/checksums/sha';
import { Xxh3_128, Xxh3_64, Xxh64 } from '@aws-sdk/checksums/xxh';
import { clientEnv, runClient } from '../helpers/clients.js';
import { completeUpload } from '../helpers/multipart.js';
import { errorCode, rawRequest } from '../helpers/sign.js';
import { startServer, TEST_CREDENTIALS, type TestServer } from '../helpers/server.js';

const NEW_ALGORITHMS = ['MD5', 'SHA512', 'XXHASH64', 'XXHASH3', 'XXHASH128'] as const;
type NewAlgorithm = (typeof NEW_ALGORITHMS)[number];

interface SdkChecksum {
  update(data: Uint8Array): void;
  digest(): Promise<Uint8Array>;
  reset(): void;
}
type SdkChecksumClass = new () => SdkChecksum;

/** The AWS SDK's implementations (@aws-sdk/checksums). */
const AWS_IMPLS: Record<NewAlgorithm, SdkChecksumClass> = {
  MD5: Md5,
  SHA512: Sha512,
  XXHASH64: Xxh64,
  XXHASH3: Xxh3_64,
  XXHASH128: Xxh3_128,
};

const BYTES: Record<NewAlgorithm, number> = { MD5: 16, SHA512: 64, XXHASH64: 8, XXHASH3: 8, XXHASH128: 16 };

/** A checksum that always answers zero bytes: the SDK then sends a wrong (well-formed) value. */
function lyingImpl(alg: NewAlgorithm): SdkChecksumClass {
  return class {
    update(): void {}
    digest(): Promise<Uint8Array> {
      return Promise.resolve(new Uint8Array(BYTES[alg]));
    }
    reset(): void {}
  };
}

/** The AWS SDK's base64 digest of `data`. */
async function awsChecksum(alg: NewAlgorithm, data: Uint8Array): Promise<string> {
  const h = new AWS_IMPLS[alg]();
  h.update(data);
  return Buffer.from(await h.digest()).toString('base64');
}

/** The output field of `alg` (`ChecksumXXHASH64` ...) of an SDK result. */
function field(out: object, alg: NewAlgorithm): unknown {
  return (out as Record<string, unknown>)[`Checksum${alg}`];
}

async function rejectsS3(p: Promise<unknown>, code: string, message?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, String(err));
    assert.equal(err.name, code, err.message);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

const Bucket = 'checksums';

describe('MD5, SHA512 and xxHash checksums with the AWS SDK v3', () => {
  let srv: TestServer;
  let s3: S3Client;
  let liar: S3Client;

  before(async () => {
    srv = await startServer({ advanced: true });
    await srv.backend.createBucket(Bucket);
    s3 = srv.client({ checksumAlgorithms: AWS_IMPLS });
    liar = srv.client({
      checksumAlgorithms: Object.fromEntries(NEW_ALGORITHMS.map((a) => [a, lyingImpl(a)])),
    });
  });
  after(async () => srv.close());

  for (const alg of NEW_ALGORITHMS) {
    const sdkAlg = alg as ChecksumAlgorithm;
    it(`${alg}: PutObject with a header checksum and with a trailer checksum, verified and returned`, async () => {
      const body = Buffer.from(
        `the ${alg} body, long enough to leave the short-input paths of XXH3 behind`.repeat(9),
      );
      const expected = await awsChecksum(alg, body);

      // A Buffer body: the SDK sends x-amz-checksum-<alg> as a header — for MD5 it sends
      // Content-MD5 and x-amz-sdk-checksum-algorithm: MD5 instead (getChecksumLocationName), and
      // the server stores the MD5 checksum it computed and checked.
      const put = await s3.send(
        new PutObjectCommand({ Bucket, Key: `${alg}/header`, Body: body, ChecksumAlgorithm: sdkAlg }),
      );
      assert.equal(field(put, alg), expected);
      assert.equal(put.ChecksumType, 'FULL_OBJECT');

      // A stream body: aws-chunked with the checksum in the x-amz-trailer trailer. (For MD5 the
      // SDK would name `content-md5` as the trailer, which is no x-amz-checksum-* trailer; the raw
      // trailer test below sends x-amz-checksum-md5.)
      const keys = [`${alg}/header`];
      if (alg !== 'MD5') {
        const streamed = await s3.send(
          new PutObjectCommand({
            Bucket,
            Key: `${alg}/trailer`,
            Body: Readable.from([body.subarray(0, 100), body.subarray(100)]),
            ContentLength: body.length,
            ChecksumAlgorithm: sdkAlg,
          }),
        );
        assert.equal(field(streamed, alg), expected);
        keys.push(`${alg}/trailer`);
      }

      for (const Key of keys) {
        const head = await s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        assert.equal(field(head, alg), expected, Key);
        assert.equal(head.ChecksumType, 'FULL_OBJECT');
        const plain = await s3.send(new HeadObjectCommand({ Bucket, Key }));
        assert.equal(field(plain, alg), undefined, 'no checksum without checksum mode');
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        assert.equal(field(got, alg), expected);
        assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
      }
    });

    it(`${alg}: a wrong value is BadDigest (header and trailer) and stores nothing`, async () => {
      const body = Buffer.from(`wrong ${alg}`);
      const message =
        alg === 'MD5'
          ? 'The Content-MD5 you specified did not match what we received.'
          : `The ${alg} you specified did not match the calculated checksum.`;
      await rejectsS3(
        liar.send(new PutObjectCommand({ Bucket, Key: `${alg}/bad`, Body: body, ChecksumAlgorithm: sdkAlg })),
        'BadDigest',
        message,
      );
      if (alg !== 'MD5') {
        await rejectsS3(
          liar.send(
            new PutObjectCommand({
              Bucket,
              Key: `${alg}/bad`,
              Body: Readable.from([body]),
              ContentLength: body.length,
              ChecksumAlgorithm: sdkAlg,
            }),
          ),
          'BadDigest',
          message,
        );
      }
      await rejectsS3(s3.send(new HeadObjectCommand({ Bucket, Key: `${alg}/bad` })), 'NotFound');
    });

    it(`${alg}: an aws-chunked body with an x-amz-checksum-${alg.toLowerCase()} trailer (raw)`, async () => {
      const name = `x-amz-checksum-${alg.toLowerCase()}`;
      const data = Buffer.alloc(70_000, 5);
      const send = (value: string) =>
        rawRequest(srv.endpoint, {
          method: 'PUT',
          path: `/${Bucket}/${alg}/raw-trailer`,
          payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          headers: {
            'content-encoding': 'aws-chunked',
            'x-amz-decoded-content-length': String(data.length),
            'x-amz-trailer': name,
          },
          body: Buffer.concat([
            Buffer.from(`${(65536).toString(16)}\r\n`),
            data.subarray(0, 65536),
            Buffer.from(`\r\n${(data.length - 65536).toString(16)}\r\n`),
            data.subarray(65536),
            Buffer.from(`\r\n0\r\n${name}:${value}\r\n\r\n`),
          ]),
        });
      const expected = await awsChecksum(alg, data);
      const ok = await send(expected);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.headers[name], expected);
      const wrong = await send(Buffer.alloc(BYTES[alg], 1).toString('base64'));
      assert.equal(errorCode(wrong.text), 'BadDigest', wrong.text);
      const malformed = await send('AAAA');
      assert.equal(errorCode(malformed.text), 'InvalidRequest', malformed.text);
      assert.match(malformed.text, new RegExp(`Value for ${name} trailing header is invalid\\.`));
    });

    it(`${alg}: a malformed or empty x-amz-checksum-${alg.toLowerCase()} header is InvalidRequest`, async () => {
      const header = `x-amz-checksum-${alg.toLowerCase()}`;
      const good = await awsChecksum(alg, Buffer.from('raw'));
      const put = (value: string) =>
        rawRequest(srv.endpoint, {
          method: 'PUT',
          path: `/${Bucket}/${alg}/raw`,
          body: 'raw',
          headers: { [header]: value },
        });
      const ok = await put(good);
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.headers[header], good);
      for (const bad of ['', 'invalid_checksum', Buffer.alloc(BYTES[alg] - 1).toString('base64')]) {
        const res = await put(bad);
        assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
        assert.equal(errorCode(res.text), 'InvalidRequest');
        assert.match(res.text, new RegExp(`<Message>Value for ${header} header is invalid\\.</Message>`));
      }
      const wrong = await put(Buffer.alloc(BYTES[alg], 9).toString('base64'));
      assert.equal(errorCode(wrong.text), 'BadDigest', wrong.text);
    });

    it(`${alg}: COMPOSITE multipart upload — parts, part copy, ListParts, Complete, HEAD`, async () => {
      const Key = `${alg}/multipart`;
      const source = `${alg}/copy-source`;
      const p1 = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < p1.length; i++) p1[i] = (i * 7 + 3) & 0xff;
      const p2 = Buffer.from(`and a short last part for ${alg}`);
      await s3.send(new PutObjectCommand({ Bucket, Key: source, Body: p2 }));
      const sums = [await awsChecksum(alg, p1), await awsChecksum(alg, p2)];

      await rejectsS3(
        s3.send(
          new CreateMultipartUploadCommand({
            Bucket,
            Key,
            ChecksumAlgorithm: sdkAlg,
            ChecksumType: 'FULL_OBJECT',
          }),
        ),
        'InvalidRequest',
        `The FULL_OBJECT checksum type cannot be used with the ${alg.toLowerCase()} checksum algorithm.`,
      );
      const created = await s3.send(
        new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: sdkAlg }),
      );
      assert.equal(created.ChecksumAlgorithm, alg);
      assert.equal(created.ChecksumType, 'COMPOSITE');
      const upload = { Bucket, Key, UploadId: created.UploadId };

      const up1 = await s3.send(
        new UploadPartCommand({ ...upload, PartNumber: 1, Body: p1, ChecksumAlgorithm: sdkAlg }),
      );
      assert.equal(field(up1, alg), sums[0]);
      const up2 = await s3.send(
        new UploadPartCopyCommand({
          ...upload,
          PartNumber: 2,
          CopySource: `${Bucket}/${encodeURIComponent(source)}`,
        }),
      );
      assert.equal(field(up2.CopyPartResult!, alg), sums[1], 'CopyPartResult carries the upload checksum');

      const listed = await s3.send(new ListPartsCommand(upload));
      assert.equal(listed.ChecksumAlgorithm, alg);
      assert.equal(listed.ChecksumType, 'COMPOSITE');
      assert.deepEqual(
        listed.Parts?.map((p) => field(p, alg)),
        sums,
      );

      const composite = `${await awsChecksum(alg, Buffer.concat(sums.map((s) => Buffer.from(s, 'base64'))))}-2`;
      const parts = [
        { PartNumber: 1, ETag: up1.ETag, [`Checksum${alg}`]: sums[0] },
        { PartNumber: 2, ETag: up2.CopyPartResult!.ETag, [`Checksum${alg}`]: sums[1] },
      ];
      const done = await completeUpload(s3, upload, parts, { [`Checksum${alg}`]: composite });
      assert.equal(field(done, alg), composite);
      assert.equal(done.ChecksumType, 'COMPOSITE');

      const head = await s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      assert.equal(field(head, alg), composite);
      assert.equal(head.ChecksumType, 'COMPOSITE');
      assert.equal(head.ContentLength, p1.length + p2.length);
      const part2 = await s3.send(
        new HeadObjectCommand({ Bucket, Key, PartNumber: 2, ChecksumMode: 'ENABLED' }),
      );
      assert.equal(field(part2, alg), sums[1]);
    });
  }

  it('x-amz-sdk-checksum-algorithm alone: the server computes and stores the new algorithms', async () => {
    for (const alg of NEW_ALGORITHMS) {
      const res = await rawRequest(srv.endpoint, {
        method: 'PUT',
        path: `/${Bucket}/${alg}/computed`,
        body: 'computed by the server',
        headers: { 'x-amz-sdk-checksum-algorithm': alg.toLowerCase() },
      });
      assert.equal(res.status, 200, res.text);
      const expected = await awsChecksum(alg, Buffer.from('computed by the server'));
      assert.equal(res.headers[`x-amz-checksum-${alg.toLowerCase()}`], expected, alg);
    }
  });
});

/** The first Python whose botocore computes SHA512 checksums natively (1.36+ without the CRT). */
const PYTHON = [join(homedir(), '.pyenv', 'shims', 'python3'), '/usr/bin/python3'].find((py) =>
  existsSync(py),
);

const BOTO_SCRIPT = `
import base64, hashlib, json, os
import boto3, botocore.httpchecksum
from botocore.config import Config
if not hasattr(botocore.httpchecksum, "Sha512Checksum"):
    print(json.dumps({"skip": "botocore " + botocore.__version__ + " has no SHA512 checksum"}))
    raise SystemExit(0)
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
b64 = lambda d: base64.b64encode(d).decode()
data = b"boto3 sha512 body" * 1000
r = s3.put_object(Bucket="checksums", Key="boto3/sha512", Body=data, ChecksumAlgorithm="SHA512")
h = s3.head_object(Bucket="checksums", Key="boto3/sha512", ChecksumMode="ENABLED")
part = b"x" * (5 * 1024 * 1024)
up = s3.create_multipart_upload(Bucket="checksums", Key="boto3/mpu", ChecksumAlgorithm="SHA512")
p1 = s3.upload_part(Bucket="checksums", Key="boto3/mpu", UploadId=up["UploadId"], PartNumber=1, Body=part,
                    ChecksumAlgorithm="SHA512")
c = s3.complete_multipart_upload(Bucket="checksums", Key="boto3/mpu", UploadId=up["UploadId"],
    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"], "ChecksumSHA512": p1["ChecksumSHA512"]}]})
print(json.dumps({
    "put": r.get("ChecksumSHA512"), "head": h.get("ChecksumSHA512"), "want": b64(hashlib.sha512(data).digest()),
    "part": p1.get("ChecksumSHA512"), "partWant": b64(hashlib.sha512(part).digest()),
    "complete": c.get("ChecksumSHA512"), "type": c.get("ChecksumType"),
    "completeWant": b64(hashlib.sha512(hashlib.sha512(part).digest()).digest()) + "-1",
}))
`;

describe('boto3 SHA512 checksums', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({ advanced: true });
    await srv.backend.createBucket(Bucket);
  });
  after(async () => srv.close());

  it(
    'put_object, upload_part and complete with ChecksumAlgorithm=SHA512',
    { timeout: 120_000 },
    async (t) => {
      if (PYTHON === undefined) return t.skip('no python3 on this machine');
      const run = await runClient(
        PYTHON,
        ['-c', BOTO_SCRIPT],
        clientEnv({
          S3_ENDPOINT: srv.endpoint,
          AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        }),
        100_000,
      );
      if (/No module named .boto3/.test(run.err)) return t.skip(`boto3 does not import in ${PYTHON}`);
      assert.equal(run.code, 0, run.err);
      const out = JSON.parse(run.out.trim().split('\n').pop()!) as Record<string, string>;
      if (out['skip'] !== undefined) return t.skip(out['skip']);
      assert.equal(out['put'], out['want']);
      assert.equal(out['head'], out['want']);
      assert.equal(out['part'], out['partWant']);
      assert.equal(out['complete'], out['completeWant']);
      assert.equal(out['type'], 'COMPOSITE');
    },
  );
});
