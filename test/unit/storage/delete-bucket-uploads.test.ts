/**
 * DeleteBucket with multipart uploads on the local backend, what the contract cannot see: the
 * crash states (docs/on-disk-format.md, "Multipart uploads") and versions counting as objects.
 * A crash before the bucket directory is gone leaves the bucket (found again at open) with its
 * uploads; after it, the uploads of the missing bucket are aborted when the store opens.
 */
import assert from 'node:assert/strict';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { S3Error } from '../../../src/s3/errors.js';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { bodyFrom } from '../../helpers/body.js';
import { closeTempStore, openTempStore, putText } from '../../helpers/local-store.js';

let root: string;
let data: string;
let backend: LocalBackend;

const ALL = { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 1000 };

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof S3Error && e.code === code);
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

const uploadsDir = () => join(data, '.s3local', 'uploads');

/** An upload of `key` in `bucket` with one staged part; its id. */
async function startUpload(bucket: string, key: string): Promise<string> {
  const up = await backend.multipart.createUpload(bucket, key, { headers: {}, metadata: {} });
  await backend.multipart.uploadPart(bucket, key, up.uploadId, 1, bodyFrom('staged part'), {});
  return up.uploadId;
}

/** Runs `sql` on the closed store's index (a state a crash could leave), then reopens the store. */
async function reopenAfter(edit: (db: Database.Database) => void): Promise<void> {
  await backend.close();
  const db = new Database(join(data, '.s3local', 'index.sqlite'));
  try {
    edit(db);
  } finally {
    db.close();
  }
  backend = await LocalBackend.open({ path: data });
}

describe('local backend: DeleteBucket and multipart uploads', () => {
  beforeEach(async () => {
    ({ root, data, backend } = await openTempStore('s3local-delbucket-'));
  });
  afterEach(() => closeTempStore({ root, backend }));

  test('deleting removes the bucket directory, the upload rows and the staged parts', async () => {
    const id = await startUpload('bkt', 'k');
    assert.deepEqual(await readdir(uploadsDir()), [id]);
    await backend.deleteBucket('bkt');
    assert.ok(!(await exists(join(data, 'bkt'))));
    assert.deepEqual(await readdir(uploadsDir()), []);
    const db = new Database(join(data, '.s3local', 'index.sqlite'), { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT count(*) AS n FROM multipart_uploads').get(), { n: 0 });
      assert.deepEqual(db.prepare('SELECT count(*) AS n FROM multipart_parts').get(), { n: 0 });
    } finally {
      db.close();
    }
  });

  test('crash after the bucket row went, before its directory: the bucket comes back with its uploads', async () => {
    const id = await startUpload('bkt', 'k');
    await reopenAfter((db) => db.prepare("DELETE FROM buckets WHERE name = 'bkt'").run());
    await backend.headBucket('bkt');
    const page = await backend.multipart.listUploads('bkt', ALL);
    assert.deepEqual(
      page.uploads.map((u) => u.uploadId),
      [id],
    );
    assert.deepEqual(await readdir(uploadsDir()), [id]);
  });

  test('crash after the bucket directory went, before the upload rows: aborted at open', async () => {
    const id = await startUpload('bkt', 'k');
    await backend.createBucket('kept');
    const other = await startUpload('kept', 'k');
    // The state DeleteBucket leaves between removing the directory and deleting the upload rows
    // (the same as a bucket directory removed behind the server's back).
    await backend.close();
    await rm(join(data, 'bkt'), { recursive: true });
    backend = await LocalBackend.open({ path: data });
    await rejectsCode(backend.headBucket('bkt'), 'NoSuchBucket');
    assert.deepEqual(await readdir(uploadsDir()), [other], 'only the uploads of existing buckets stay');
    await backend.createBucket('bkt');
    assert.deepEqual((await backend.multipart.listUploads('bkt', ALL)).uploads, []);
    await rejectsCode(backend.multipart.getUpload('bkt', 'k', id), 'NoSuchUpload');
    const kept = await backend.multipart.listUploads('kept', ALL);
    assert.deepEqual(
      kept.uploads.map((u) => u.uploadId),
      [other],
    );
  });

  test('a noncurrent version or a delete marker keeps the bucket and its uploads', async () => {
    await backend.versioning.setBucketVersioning('bkt', 'Enabled');
    await putText(backend, 'bkt', 'v', 'one');
    await backend.deleteObject('bkt', 'v');
    const id = await startUpload('bkt', 'k');
    await rejectsCode(backend.deleteBucket('bkt'), 'BucketNotEmpty');
    await rejectsCode(backend.deleteBucket('bkt', { keep: true }), 'BucketNotEmpty');
    assert.deepEqual(await readdir(uploadsDir()), [id]);
    await backend.multipart.getUpload('bkt', 'k', id);
  });

  test('a file unknown to the index keeps the bucket and its uploads', async () => {
    const id = await startUpload('bkt', 'k');
    await putText(backend, 'bkt', 'x', 'x');
    backend.dropIndexRows('bkt');
    await rejectsCode(backend.deleteBucket('bkt'), 'BucketNotEmpty');
    assert.deepEqual(await readdir(uploadsDir()), [id]);
  });
});
