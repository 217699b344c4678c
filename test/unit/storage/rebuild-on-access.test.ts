/**
 * Files changed behind the server's back, seen through a real server and the AWS SDK: a GET/HEAD
 * of a file that vanished answers NoSuchKey and the row is dropped (the listing forgets it); a
 * file whose size or mtime changed gets its ETag recomputed, never a stale one. And two stores
 * side by side never see each other's objects.
 */
import assert from 'node:assert/strict';
import { rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { readIndexStats } from '../../../src/storage/local/rebuild.js';
import { md5Hex } from '../../helpers/body.js';
import { startServer, type TestServer } from '../../helpers/server.js';

const Bucket = 'default';
const T = { timeout: 30_000 };

async function keys(c: S3Client): Promise<Array<[string, string]>> {
  const r = await c.send(new ListObjectsV2Command({ Bucket }));
  return (r.Contents ?? []).map((o) => [o.Key ?? '', (o.ETag ?? '').replace(/"/g, '')]);
}

async function body(c: S3Client, Key: string): Promise<{ text: string; etag: string }> {
  const r = await c.send(new GetObjectCommand({ Bucket, Key }));
  return { text: (await r.Body?.transformToString()) ?? '', etag: (r.ETag ?? '').replace(/"/g, '') };
}

async function rejects404(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
    assert.equal(err.$metadata?.httpStatusCode, 404);
    assert.ok(err.name === 'NoSuchKey' || err.name === 'NotFound', err.name);
    return true;
  });
}

describe('files changed behind the server, on access', () => {
  let s: TestServer;
  let c: S3Client;
  before(async () => {
    s = await startServer();
    c = s.client();
  });
  after(async () => s.close());

  test('HEAD of a vanished file: 404 NotFound, and the row is dropped', T, async () => {
    await c.send(new PutObjectCommand({ Bucket, Key: 'h/vanish', Body: 'soon gone' }));
    await unlink(join(s.dataDir, Bucket, 'h', 'vanish'));
    assert.deepEqual(
      (await keys(c)).map(([k]) => k),
      ['h/vanish'],
      'the listing does not stat files: it still shows the row',
    );
    await rejects404(c.send(new HeadObjectCommand({ Bucket, Key: 'h/vanish' })));
    assert.deepEqual(await keys(c), []);
  });

  test('GET of a vanished file: NoSuchKey, and the row is dropped', T, async () => {
    await c.send(new PutObjectCommand({ Bucket, Key: 'g/vanish', Body: 'soon gone' }));
    await unlink(join(s.dataDir, Bucket, 'g', 'vanish'));
    await rejects404(c.send(new GetObjectCommand({ Bucket, Key: 'g/vanish' })));
    assert.deepEqual(await keys(c), []);
    assert.equal(readIndexStats(join(s.dataDir, '.s3local', 'index.sqlite'))[0]?.objects, 0);
  });

  test('a file rewritten with another size: GET serves it with its new ETag', T, async () => {
    await c.send(new PutObjectCommand({ Bucket, Key: 'resized', Body: 'version one' }));
    await writeFile(join(s.dataDir, Bucket, 'resized'), 'v2');
    assert.deepEqual(await body(c, 'resized'), { text: 'v2', etag: md5Hex('v2') });
    assert.deepEqual(await keys(c), [['resized', md5Hex('v2')]]);
  });

  test('same size, new mtime: HEAD answers the recomputed ETag, never the stale one', T, async () => {
    await c.send(new PutObjectCommand({ Bucket, Key: 'touched', Body: 'aaaa' }));
    const file = join(s.dataDir, Bucket, 'touched');
    await writeFile(file, 'bbbb');
    const later = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    await utimes(file, later, later);
    const head = await c.send(new HeadObjectCommand({ Bucket, Key: 'touched' }));
    assert.equal(head.ETag, `"${md5Hex('bbbb')}"`);
    assert.equal(head.LastModified?.getTime(), later.getTime());
    assert.deepEqual(await body(c, 'touched'), { text: 'bbbb', etag: md5Hex('bbbb') });
    await c.send(new PutObjectCommand({ Bucket, Key: 'touched', Body: 'cleanup' }));
    await c.send(new PutObjectCommand({ Bucket, Key: 'resized', Body: 'cleanup' }));
  });

  test('a changed copy source is copied with its new ETag', T, async () => {
    await c.send(new PutObjectCommand({ Bucket, Key: 'src', Body: 'original' }));
    await writeFile(join(s.dataDir, Bucket, 'src'), 'edited by hand');
    const r = await c.send(new CopyObjectCommand({ Bucket, Key: 'dst', CopySource: `${Bucket}/src` }));
    assert.equal(r.CopyObjectResult?.ETag, `"${md5Hex('edited by hand')}"`);
    assert.deepEqual(await body(c, 'dst'), { text: 'edited by hand', etag: md5Hex('edited by hand') });
  });
});

describe('two stores side by side', () => {
  test('never see each other’s objects', T, async () => {
    const a = await startServer();
    const b = await startServer();
    try {
      const ca = a.client();
      const cb = b.client();
      await ca.send(new PutObjectCommand({ Bucket, Key: 'only-in-a', Body: 'A' }));
      await ca.send(new PutObjectCommand({ Bucket, Key: 'both', Body: 'from A' }));
      await cb.send(new PutObjectCommand({ Bucket, Key: 'both', Body: 'from B' }));
      assert.deepEqual(
        (await keys(ca)).map(([k]) => k),
        ['both', 'only-in-a'],
      );
      assert.deepEqual(await keys(cb), [['both', md5Hex('from B')]]);
      await rejects404(cb.send(new GetObjectCommand({ Bucket, Key: 'only-in-a' })));
      assert.equal((await body(ca, 'both')).text, 'from A');
      assert.equal((await body(cb, 'both')).text, 'from B');
      // Each store has its own index inside its data directory.
      assert.deepEqual(readIndexStats(join(a.dataDir, '.s3local', 'index.sqlite')), [
        { name: 'default', objects: 2, bytes: 7 },
      ]);
      assert.deepEqual(readIndexStats(join(b.dataDir, '.s3local', 'index.sqlite')), [
        { name: 'default', objects: 1, bytes: 6 },
      ]);
      // Removing B's files does not disturb A.
      await cb.send(new PutObjectCommand({ Bucket, Key: 'x', Body: '' }));
      await rm(join(b.dataDir, Bucket, 'both'));
      await rejects404(cb.send(new HeadObjectCommand({ Bucket, Key: 'both' })));
      assert.equal((await body(ca, 'both')).text, 'from A');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
