/**
 * No key or bucket name, however spelled, reaches a path outside `<data>/<bucket>/`.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3Error } from '../../../src/s3/errors.js';
import { BACKSLASH_SEPARATES } from '../../../src/storage/local/key-path.js';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { bodyFrom } from '../../helpers/body.js';

/** Every path under `dir` (relative), with its type and size. */
async function snapshot(
  dir: string,
  base = dir,
  out = new Map<string, string>(),
): Promise<Map<string, string>> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    const st = await lstat(abs);
    out.set(relative(base, abs), entry.isDirectory() ? 'dir' : `file:${st.size}`);
    if (entry.isDirectory()) await snapshot(abs, base, out);
  }
  return out;
}

function outsideBucket(snap: Map<string, string>): string[] {
  return [...snap.keys()]
    .filter((p) => !p.startsWith(join('data', 'bkt')) && !p.startsWith(join('data', '.s3local')))
    .sort();
}

const ATTACKS = [
  '../escape',
  '../../outside/pwned',
  'a/../../escape',
  'a/b/../../../escape',
  decodeURIComponent('%2e%2e%2f%2e%2e%2foutside%2fpwned'),
  decodeURIComponent('%2e%2e/escape'),
  '/etc/passwd',
  '/' + join(tmpdir(), 'pwned-abs'),
  // Only where a backslash separates paths (Windows); elsewhere these are plain names (below).
  ...(BACKSLASH_SEPARATES ? ['..\\escape', 'a\\..\\..\\escape'] : []),
  'nul\0../escape',
  '..',
  '.',
  'a/./b',
  './x',
];

describe('traversal', () => {
  let root: string;
  let backend: LocalBackend;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 's3local-traversal-'));
    await mkdir(join(root, 'outside'));
    await writeFile(join(root, 'outside', 'sentinel'), 'keep me');
    await writeFile(join(root, 'sentinel'), 'keep me too');
    backend = await LocalBackend.open({ path: join(root, 'data') });
    await backend.createBucket('bkt');
    await backend.createBucket('other');
    await backend.putObject('other', 'secret', bodyFrom('other bucket'), { headers: {}, metadata: {} });
  });

  after(async () => {
    await backend.close();
    await rm(root, { recursive: true, force: true });
  });

  test('hostile keys are refused and create nothing outside the bucket', async () => {
    const before = outsideBucket(await snapshot(root));
    for (const key of ATTACKS) {
      await assert.rejects(
        backend.putObject('bkt', key, bodyFrom('pwned'), { headers: {}, metadata: {} }),
        (err: unknown) => err instanceof S3Error && err.code === 'InvalidArgument',
        JSON.stringify(key),
      );
      await assert.rejects(
        backend.copyObject({ bucket: 'other', key: 'secret' }, { bucket: 'bkt', key }, {}),
        (err: unknown) => err instanceof S3Error && err.code === 'InvalidArgument',
        JSON.stringify(key),
      );
      for (const read of [backend.headObject('bkt', key), backend.getObject('bkt', key)]) {
        await assert.rejects(read, (err: unknown) => err instanceof S3Error && err.code === 'NoSuchKey');
      }
      await backend.deleteObject('bkt', key); // absent: success, touching nothing
    }
    assert.deepEqual(outsideBucket(await snapshot(root)), before);
    assert.equal(await readFile(join(root, 'outside', 'sentinel'), 'utf8'), 'keep me');
    assert.equal(await readFile(join(root, 'sentinel'), 'utf8'), 'keep me too');
    assert.equal((await backend.headObject('other', 'secret')).size, 'other bucket'.length);
  });

  test('deleting relative paths to existing files removes nothing', async () => {
    for (const key of [
      '../outside/sentinel',
      '../../sentinel',
      '../other/secret',
      '/' + join(root, 'sentinel'),
    ]) {
      await backend.deleteObject('bkt', key);
    }
    assert.equal(await readFile(join(root, 'outside', 'sentinel'), 'utf8'), 'keep me');
    assert.equal(await readFile(join(root, 'sentinel'), 'utf8'), 'keep me too');
    assert.equal(await readFile(join(root, 'data', 'other', 'secret'), 'utf8'), 'other bucket');
  });

  test('keys that look like traversal but are plain names stay inside the bucket', async () => {
    const plain = ['%2e%2e%2fescape', '..%2f..%2fescape', '...', 'a/.../b', '..x', 'x..', '.../...'];
    if (!BACKSLASH_SEPARATES) plain.push('..\\escape', 'a\\..\\..\\escape');
    for (const key of plain) {
      await backend.putObject('bkt', key, bodyFrom(key), { headers: {}, metadata: {} });
      const { body } = await backend.getObject('bkt', key);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      assert.equal(Buffer.concat(chunks).toString(), key);
    }
    const outside = outsideBucket(await snapshot(root));
    assert.deepEqual(outside, [
      'data',
      join('data', 'other'),
      join('data', 'other', 'secret'),
      'outside',
      join('outside', 'sentinel'),
      'sentinel',
    ]);
  });

  test('hostile bucket names never resolve to a directory', async () => {
    for (const bucket of ['..', '.', '.s3local', '../outside', 'bkt/../other', '', 'a\0b', '/tmp', 'BKT']) {
      await assert.rejects(
        backend.headBucket(bucket),
        (e: unknown) => e instanceof S3Error && e.code === 'NoSuchBucket',
      );
      await assert.rejects(
        backend.putObject(bucket, 'x', bodyFrom('x'), { headers: {}, metadata: {} }),
        (e: unknown) => e instanceof S3Error && e.code === 'NoSuchBucket',
      );
      await assert.rejects(backend.deleteObject(bucket, 'sentinel'), (e: unknown) => e instanceof S3Error);
      await assert.rejects(backend.deleteBucket(bucket), (e: unknown) => e instanceof S3Error);
      await assert.rejects(backend.createBucket(bucket), (e: unknown) => e instanceof S3Error);
    }
    assert.equal(await readFile(join(root, 'outside', 'sentinel'), 'utf8'), 'keep me');
    assert.ok((await lstat(join(root, 'data', '.s3local', 'index.sqlite'))).isFile());
  });
});
