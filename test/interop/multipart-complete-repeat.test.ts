/**
 * A repeated CompleteMultipartUpload (the AWS SDK v3 against a real server, local backend): S3
 * answers the repeat of a successful Complete — same upload id, key and parts — with 200 and the
 * same result (adobe/S3Mock#2586, minio/minio#13318, ceph/s3-tests test_multipart_upload_small), so
 * a client retrying a Complete whose answer was lost does not fail. A repeat that differs is
 * NoSuchUpload; the other operations on a completed upload id stay NoSuchUpload; the record
 * survives a restart and is forgotten after its TTL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  UploadPartCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { completeUpload, multipartETag } from '../helpers/multipart.js';
import { rawRequest } from '../helpers/sign.js';
import { startServer, startWithClient, tempDir, type TestServer } from '../helpers/server.js';
import { expectError, listAllVersions, describeEntries, newBucket } from '../helpers/versioning.js';

const MiB = 1024 * 1024;
const T = { timeout: 120_000 };

interface Uploaded {
  Bucket: string;
  Key: string;
  UploadId: string;
  Parts: CompletedPart[];
  data: Buffer;
}

/** Creates an upload of `Key` and uploads 5 MiB + a few bytes in two parts (CRC32 when asked). */
async function uploaded(
  s3: S3Client,
  Bucket: string,
  Key: string,
  create: Partial<CreateMultipartUploadCommandInput> = {},
): Promise<Uploaded> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ...create }));
  assert.ok(UploadId);
  const chunks = [randomBytes(5 * MiB), randomBytes(1000)];
  const Parts: CompletedPart[] = [];
  for (const [i, Body] of chunks.entries()) {
    const out = await s3.send(
      new UploadPartCommand({
        Bucket,
        Key,
        UploadId,
        PartNumber: i + 1,
        Body,
        ...(create.ChecksumAlgorithm ? { ChecksumAlgorithm: create.ChecksumAlgorithm } : {}),
      }),
    );
    Parts.push({
      PartNumber: i + 1,
      ETag: out.ETag!,
      ...(out.ChecksumCRC32 ? { ChecksumCRC32: out.ChecksumCRC32 } : {}),
    });
  }
  return { Bucket, Key, UploadId, Parts, data: Buffer.concat(chunks) };
}

/** The CompleteMultipartUpload body of `parts` (number, ETag), as a client sends it. */
function completeXml(parts: CompletedPart[]): string {
  const each = parts.map(
    (p) => `<Part><PartNumber>${p.PartNumber}</PartNumber><ETag>${p.ETag}</ETag></Part>`,
  );
  return `<CompleteMultipartUpload>${each.join('')}</CompleteMultipartUpload>`;
}

/** A Complete sent as raw signed HTTP: status, headers and the body text. */
function rawComplete(endpoint: string, u: Uploaded, parts: CompletedPart[] = u.Parts) {
  return rawRequest(endpoint, {
    method: 'POST',
    path: `/${u.Bucket}/${encodeURIComponent(u.Key)}?uploadId=${encodeURIComponent(u.UploadId)}`,
    body: completeXml(parts),
  });
}

/** The inode of the object's file: a Complete that wrote the object again would change it. */
async function inodeOf(srv: TestServer, bucket: string, key: string): Promise<number> {
  return (await stat(join(srv.dataDir, bucket, key))).ino;
}

/** How many completions the store's index remembers (read through a second connection). */
function rememberedCompletions(dataDir: string): number {
  const db = new Database(join(dataDir, '.s3local', 'index.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM multipart_completions').pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('CompleteMultipartUpload repeated (local backend)', () => {
  let srv: TestServer;
  let s3: S3Client;
  let Bucket: string;
  before(async () => {
    ({ srv, s3 } = await startWithClient({ advanced: true }));
    Bucket = await newBucket(s3, 'mpu-repeat');
  });
  after(() => srv.close());

  it('an identical repeat answers 200 with the same result and writes nothing', T, async () => {
    const u = await uploaded(s3, Bucket, 'repeat/same.bin');
    const first = await completeUpload(s3, u, u.Parts);
    assert.equal(first.ETag, multipartETag(u.data, 5 * MiB));
    const ino = await inodeOf(srv, Bucket, 'repeat/same.bin');

    // The SDK's own command, sent again: nothing in the SDK short-circuits it.
    const again = await completeUpload(s3, u, u.Parts);
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.equal(again.ETag, first.ETag);
    assert.equal(again.Location, first.Location);
    assert.equal(again.Bucket, first.Bucket);
    assert.equal(again.Key, first.Key);

    // Raw HTTP, ETags unquoted this time: the same document.
    const raw = await rawComplete(
      srv.endpoint,
      u,
      u.Parts.map((p) => ({ ...p, ETag: p.ETag!.slice(1, -1) })),
    );
    assert.equal(raw.status, 200, raw.text);
    assert.match(raw.text, /<CompleteMultipartUploadResult[^>]*>/);
    assert.ok(raw.text.includes(`<ETag>${first.ETag.replaceAll('"', '&quot;')}</ETag>`), raw.text);
    assert.ok(raw.text.includes(`<Location>${first.Location}</Location>`), raw.text);
    assert.ok(raw.text.includes(`<Key>repeat/same.bin</Key>`), raw.text);

    // The object was not written again, and is whole.
    assert.equal(await inodeOf(srv, Bucket, 'repeat/same.bin'), ino);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'repeat/same.bin' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(u.data));

    // Other operations on the completed upload id keep answering NoSuchUpload (AWS: "the upload may
    // have been aborted or completed"); the repeat still works after them.
    const ids = { Bucket: u.Bucket, Key: u.Key, UploadId: u.UploadId };
    await expectError(
      s3.send(new UploadPartCommand({ ...ids, PartNumber: 3, Body: 'x' })),
      'NoSuchUpload',
      404,
    );
    await expectError(s3.send(new ListPartsCommand(ids)), 'NoSuchUpload', 404);
    await expectError(s3.send(new AbortMultipartUploadCommand(ids)), 'NoSuchUpload', 404);
    assert.equal((await completeUpload(s3, u, u.Parts)).ETag, first.ETag);
  });

  it('a repeat with other parts, other ETags or another key answers NoSuchUpload', T, async () => {
    const u = await uploaded(s3, Bucket, 'repeat/differs.bin');
    const first = await completeUpload(s3, u, u.Parts);
    const [p1, p2] = u.Parts as [CompletedPart, CompletedPart];
    const differing: CompletedPart[][] = [
      [p1],
      [p2],
      [p1, p2, { PartNumber: 3, ETag: p2.ETag! }],
      [p1, { ...p2, ETag: `"${'0'.repeat(32)}"` }],
      [p1, { ...p2, PartNumber: 3 }],
    ];
    for (const parts of differing) {
      await expectError(completeUpload(s3, u, parts), 'NoSuchUpload', 404);
    }
    await expectError(completeUpload(s3, { ...u, Key: 'repeat/other.bin' }, u.Parts), 'NoSuchUpload', 404);
    await expectError(
      completeUpload(s3, { ...u, UploadId: u.UploadId.slice(0, -1) + 'A' }, u.Parts),
      'NoSuchUpload',
      404,
    );
    // The identical repeat still answers 200.
    assert.equal((await completeUpload(s3, u, u.Parts)).ETag, first.ETag);
  });

  it(
    'with a checksum: the same ChecksumCRC32 and ChecksumType; a wrong part checksum is NoSuchUpload',
    T,
    async () => {
      const u = await uploaded(s3, Bucket, 'repeat/crc.bin', { ChecksumAlgorithm: 'CRC32' });
      assert.ok(u.Parts.every((p) => p.ChecksumCRC32 !== undefined));
      const first = await completeUpload(s3, u, u.Parts);
      assert.match(first.ChecksumCRC32 ?? '', /-2$/);
      const again = await completeUpload(s3, u, u.Parts);
      assert.equal(again.ETag, first.ETag);
      assert.equal(again.ChecksumCRC32, first.ChecksumCRC32);
      assert.equal(again.ChecksumType, first.ChecksumType);
      const [p1, p2] = u.Parts as [CompletedPart, CompletedPart];
      await expectError(
        completeUpload(s3, u, [{ ...p1, ChecksumCRC32: p2.ChecksumCRC32! }, p2]),
        'NoSuchUpload',
        404,
      );
    },
  );

  it('If-None-Match: * on the repeat: 200, the Complete it repeats passed it', T, async () => {
    const u = await uploaded(s3, Bucket, 'repeat/create-only.bin');
    const first = await completeUpload(s3, u, u.Parts, { IfNoneMatch: '*' });
    const again = await completeUpload(s3, u, u.Parts, { IfNoneMatch: '*' });
    assert.equal(again.ETag, first.ETag);
  });

  it('versioned bucket: two Completes at once make one version, and every repeat names it', T, async () => {
    const versioned = await newBucket(s3, 'mpu-repeat-v', { versioning: 'Enabled' });
    const u = await uploaded(s3, versioned, 'v.bin');
    const [a, b] = await Promise.all([completeUpload(s3, u, u.Parts), completeUpload(s3, u, u.Parts)]);
    assert.ok(a.VersionId);
    assert.equal(b.VersionId, a.VersionId);
    assert.equal(b.ETag, a.ETag);
    const again = await completeUpload(s3, u, u.Parts);
    assert.equal(again.VersionId, a.VersionId);
    const raw = await rawComplete(srv.endpoint, u);
    assert.equal(raw.status, 200, raw.text);
    assert.equal(raw.headers['x-amz-version-id'], a.VersionId);
    const listed = await listAllVersions(srv.endpoint, versioned);
    assert.deepEqual(describeEntries(listed.entries), [`V v.bin ${a.VersionId} latest`]);
  });
});

describe('CompleteMultipartUpload repeated: durability and expiry (local backend)', () => {
  it('a repeat after a restart answers 200 (the completion is in the index)', T, async () => {
    const dataDir = await tempDir();
    try {
      let srv = await startServer({ dataDir });
      const u = await uploaded(srv.client(), 'default', 'restart.bin');
      const first = await completeUpload(srv.client(), u, u.Parts);
      await srv.close();
      srv = await startServer({ dataDir });
      try {
        const again = await completeUpload(srv.client(), u, u.Parts);
        assert.equal(again.ETag, first.ETag);
        assert.equal(again.Key, 'restart.bin');
      } finally {
        await srv.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('after the completion TTL a repeat answers NoSuchUpload, and the reaper forgets it', T, async () => {
    const ttl = 1500;
    const srv = await startServer({ backend: { completedUploadTtlMs: ttl } });
    try {
      const s3 = srv.client();
      const u = await uploaded(s3, 'default', 'expiring.bin');
      const first = await completeUpload(s3, u, u.Parts);
      const completedBy = Date.now();
      assert.equal(rememberedCompletions(srv.dataDir), 1);
      assert.equal((await completeUpload(s3, u, u.Parts)).ETag, first.ETag, 'within the TTL');
      await sleep(completedBy + ttl + 100 - Date.now());
      await expectError(completeUpload(s3, u, u.Parts), 'NoSuchUpload', 404);
      // The uploads reaper (the background sweep, `s3local cache cleanup`) forgets it.
      await srv.backend.multipart.expireUploads(7 * 24 * 3600 * 1000);
      assert.equal(rememberedCompletions(srv.dataDir), 0);
    } finally {
      await srv.close();
    }
  });
});
