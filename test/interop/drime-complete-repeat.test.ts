/**
 * A repeated CompleteMultipartUpload on the Drime backend (the AWS SDK v3 against an in-process
 * server on the fake Drime API): the repeat of a successful Complete answers 200 with the same
 * result, as S3 does, also after a restart (the completion is remembered in the staged uploads'
 * index); a repeat with other parts is NoSuchUpload; the object is uploaded to Drime once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startFakeDrime, type FakeDrime } from '../fakes/drime/server.js';
import { completeUpload, multipartETag } from '../helpers/multipart.js';
import { tempDir } from '../helpers/server.js';
import { expectError } from '../helpers/versioning.js';
import { fakeFiles, serveDrime } from './drime-helpers.js';

const MiB = 1024 * 1024;
const T = { timeout: 120_000 };
const Bucket = 'default';

/** An upload of `Key` with 5 MiB + 1000 bytes in two parts, ready to complete. */
async function uploaded(s3: S3Client, Key: string) {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  assert.ok(UploadId);
  const chunks = [randomBytes(5 * MiB), randomBytes(1000)];
  const Parts: CompletedPart[] = [];
  for (const [i, Body] of chunks.entries()) {
    const out = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
    Parts.push({ PartNumber: i + 1, ETag: out.ETag! });
  }
  return { upload: { Bucket, Key, UploadId }, Parts, data: Buffer.concat(chunks) };
}

describe('CompleteMultipartUpload repeated (Drime backend, fake API)', () => {
  let fake: FakeDrime;
  let dir: string;
  let srv: { s3: S3Client; close(): Promise<void> };

  before(async () => {
    fake = await startFakeDrime({ sameName: 'replace', download: 'stream' });
    dir = await tempDir('s3local-drime-repeat-');
    srv = await serveDrime(fake, dir);
  });
  after(async () => {
    await srv.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('an identical repeat answers 200 with the same result; other parts are NoSuchUpload', T, async () => {
    const { upload, Parts, data } = await uploaded(srv.s3, 'repeat/same.bin');
    const first = await completeUpload(srv.s3, upload, Parts);
    assert.equal(first.ETag, multipartETag(data, 5 * MiB));
    const stored = fakeFiles(fake, 'Backups/S3').get('repeat/same.bin');
    assert.ok(stored, 'the object is on Drime');

    const again = await completeUpload(srv.s3, upload, Parts);
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.equal(again.ETag, first.ETag);
    assert.equal(again.Location, first.Location);
    assert.equal(again.Key, first.Key);
    await expectError(completeUpload(srv.s3, upload, Parts.slice(0, 1)), 'NoSuchUpload', 404);
    await expectError(
      completeUpload(srv.s3, { ...upload, Key: 'repeat/other.bin' }, Parts),
      'NoSuchUpload',
      404,
    );

    // Nothing was uploaded again: the same Drime entry holds the object.
    assert.equal(fakeFiles(fake, 'Backups/S3').get('repeat/same.bin')?.entry.fileName, stored.entry.fileName);
    const got = await srv.s3.send(new GetObjectCommand({ Bucket, Key: 'repeat/same.bin' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
  });

  it('two Completes at once both answer 200 with the same ETag', T, async () => {
    const { upload, Parts } = await uploaded(srv.s3, 'repeat/race.bin');
    const [a, b] = await Promise.all([
      completeUpload(srv.s3, upload, Parts),
      completeUpload(srv.s3, upload, Parts),
    ]);
    assert.equal(b.ETag, a.ETag);
  });

  it('a repeat after a restart answers 200', T, async () => {
    const { upload, Parts } = await uploaded(srv.s3, 'repeat/restart.bin');
    const first = await completeUpload(srv.s3, upload, Parts);
    await srv.close();
    srv = await serveDrime(fake, dir);
    const again = await completeUpload(srv.s3, upload, Parts);
    assert.equal(again.ETag, first.ETag);
  });
});
