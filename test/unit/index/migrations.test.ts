/**
 * Schema migrations: an index written by an older schema (version 4, before object tags; version
 * 5, before remembered multipart completions) opens, migrates to the current version in place and
 * keeps every row; the new columns and tables start empty, and what is written afterwards reads
 * back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openIndexDatabase } from '../../../src/index/index-db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/index/migrations.js';
import { encodeTags, ObjectIndex, rowToInfo } from '../../../src/index/object-index.js';
import { CompletionIndex } from '../../../src/index/completion-index.js';
import { UploadIndex } from '../../../src/index/upload-index.js';

test('an index of schema version 4 migrates to the current schema and keeps its rows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3local-migrate-'));
  const file = join(dir, 'index.sqlite');
  try {
    // The store as s3local wrote it before tags: migrations 1..4 only.
    const old = new Database(file);
    for (const m of MIGRATIONS.filter((m) => m.version <= 4)) old.exec(m.sql);
    old.pragma('user_version = 4');
    old.prepare('INSERT INTO buckets (name, created_at) VALUES (?, ?)').run('bkt', 1_000);
    old
      .prepare(
        `INSERT INTO objects (bucket, key, path, size, etag, mtime_ns, last_modified, headers, metadata,
           checksums, checksum_type, parts, version)
         VALUES ('bkt', 'k', 'k', 1, 'etag', 5, 2000, '{"contentType":"a/b"}', '{"m":"v"}', '{}', NULL, NULL,
           '{"id":"null","seq":7}')`,
      )
      .run();
    old
      .prepare(
        `INSERT INTO object_versions (bucket, key, seq, version_id, record) VALUES ('bkt', 'k', 3, 'v3', '{}')`,
      )
      .run();
    old
      .prepare(
        `INSERT INTO multipart_uploads (upload_id, bucket, key, initiated, headers, metadata, lock)
         VALUES ('u1', 'bkt', 'mpu', 3000, '{}', '{"x":"y"}', NULL)`,
      )
      .run();
    old.close();

    const db = openIndexDatabase(file);
    try {
      assert.equal(SCHEMA_VERSION, 6);
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const index = new ObjectIndex(db);
      const row = index.getObject('bkt', 'k');
      assert.ok(row);
      assert.equal(row.tags, null);
      const info = rowToInfo(row);
      assert.deepEqual(info.headers, { contentType: 'a/b' });
      assert.deepEqual(info.metadata, { m: 'v' });
      assert.equal(info.versionId, 'null');
      assert.equal(info.tags, undefined);
      assert.equal(db.prepare('SELECT count(*) FROM object_versions WHERE bucket = ?').pluck().get('bkt'), 1);
      const upload = new UploadIndex(db).getUpload('u1');
      assert.deepEqual(upload?.metadata, { x: 'y' });
      assert.equal(upload?.tags, undefined);

      // The new column takes tags.
      assert.equal(
        index.setTags(
          'bkt',
          'k',
          encodeTags([
            { key: 'b', value: '2' },
            { key: 'a', value: '' },
          ]),
        ),
        true,
      );
      assert.deepEqual(rowToInfo(index.getObject('bkt', 'k')!).tags, [
        { key: 'b', value: '2' },
        { key: 'a', value: '' },
      ]);
    } finally {
      db.close();
    }
    // Opening again applies nothing more.
    const again = openIndexDatabase(file);
    assert.equal(again.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an index of schema version 5 gains multipart_completions; Complete moves an upload into it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3local-migrate-'));
  const file = join(dir, 'index.sqlite');
  try {
    const old = new Database(file);
    for (const m of MIGRATIONS.filter((m) => m.version <= 5)) old.exec(m.sql);
    old.pragma('user_version = 5');
    old
      .prepare(
        `INSERT INTO multipart_uploads (upload_id, bucket, key, initiated, headers, metadata)
         VALUES ('u1', 'bkt', 'mpu', 3000, '{}', '{}')`,
      )
      .run();
    old.close();

    const db = openIndexDatabase(file);
    try {
      assert.equal(db.pragma('user_version', { simple: true }), 6);
      assert.equal(db.prepare('SELECT count(*) FROM multipart_completions').pluck().get(), 0);
      const uploads = new UploadIndex(db);
      const completions = new CompletionIndex(db);
      const completedAt = new Date(5000);
      const record = {
        uploadId: 'u1',
        bucket: 'bkt',
        key: 'mpu',
        completedAt,
        parts: [
          { partNumber: 1, etag: 'a'.repeat(32), size: 5 * 1024 * 1024, checksum: 'AAAAAA==' },
          { partNumber: 3, etag: 'b'.repeat(32), size: 7 },
        ],
        result: {
          etag: 'c'.repeat(32) + '-2',
          size: 5 * 1024 * 1024 + 7,
          lastModified: new Date(4000),
          headers: { contentType: 'a/b' },
          metadata: { m: 'v' },
          checksums: { CRC32: 'BBBBBB==-2' },
          checksumType: 'COMPOSITE' as const,
          versionId: 'v1',
          checksumAlgorithm: 'CRC32' as const,
          uploadChecksumType: 'COMPOSITE' as const,
        },
      };
      // One transaction: the upload is gone and its completion remembered.
      assert.equal(completions.completeUpload(uploads, record), true);
      assert.equal(uploads.getUpload('u1'), undefined);
      assert.deepEqual(completions.get('u1'), record);
      assert.equal(completions.deleteCompletedBefore(5000), 0);
      assert.equal(completions.deleteCompletedBefore(5001), 1);
      assert.equal(completions.get('u1'), undefined);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
