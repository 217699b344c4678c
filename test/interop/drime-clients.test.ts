/**
 * Real clients through the REAL `s3local serve --backend drime` process, whose Drime API is the
 * fake running in this test process (DRIME_API_URL): rclone copy + check of a nested tree with a
 * 40 MiB file and a folder of 2,500 files; restic init/backup/check --read-data/restore; the AWS
 * SDK v3 (single PUTs and lib-storage multipart). Every test also reads the fake's state to prove
 * the bytes landed where they belong. The server's spool directory must be private and gone
 * after it stops.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { decodeName } from '../../src/storage/drime/names.js';
import type { FakeDrime } from '../fakes/drime/server.js';
import { clientEnv, clientTestOptions, runClient } from '../helpers/clients.js';
import { rcloneRunner, writeRcloneConfig } from '../helpers/rclone.js';
import { stopWithin, type ServeProcess } from '../helpers/serve-process.js';
import { TEST_CREDENTIALS } from '../helpers/server.js';
import { fakeFiles, startDrimeServe, type DrimeServe } from './drime-helpers.js';

const MiB = 1024 * 1024;
const ROOT = 's3local/interop';
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Every file below `dir` as `relative path -> bytes`. */
async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p));
    }
  };
  await walk(dir);
  return out;
}

describe('clients through s3local serve --backend drime (fake Drime API)', () => {
  let drime: DrimeServe;
  let fake: FakeDrime;
  let home: string;
  let serve: ServeProcess;
  let s3: S3Client;
  const spoolParent = (): string => drime.tmp;

  before(async () => {
    drime = await startDrimeServe({
      fake: { sameName: 'replace', download: 'redirect' },
      homePrefix: 's3local-drime-clients-',
      rootFolder: ROOT,
    });
    ({ fake, home, serve, s3 } = drime);
  });
  after(async () => drime?.close());

  it('starts with the Drime banner and never prints the token', () => {
    const out = serve.stdout();
    assert.match(out, /^Storage backend: Drime Cloud$/m);
    assert.match(out, /^ {2}Root folder: s3local\/interop$/m);
    assert.match(out, /^ {2}Workspace ID: 0 \(personal\)$/m);
    assert.ok(!out.includes(fake.token) && !serve.stderr().includes(fake.token));
  });

  it(
    'rclone copy + check: a nested tree with a 40 MiB file and a folder of 2,500 files',
    clientTestOptions('rclone'),
    async () => {
      const src = join(home, 'rclone-src');
      const files = new Map<string, Buffer>([
        ['a/b/c/deep.txt', Buffer.from('deep file\n')],
        ['a/notes.md', Buffer.from('# notes\n')],
        ['ünï cødé/日本/ファイル.txt', Buffer.from('unicode\n')],
        ['with space & plus+.txt', Buffer.from('odd name\n')],
        ['empty.bin', Buffer.alloc(0)],
        ['big/forty.bin', randomBytes(40 * MiB)],
      ]);
      for (let i = 0; i < 2500; i++)
        files.set(`many/f${String(i).padStart(4, '0')}.txt`, Buffer.from(`file ${i}\n`));
      for (const [rel, data] of files) {
        await mkdir(join(src, rel, '..'), { recursive: true });
        await writeFile(join(src, rel), data);
      }
      const conf = join(home, 'rclone.conf');
      await writeRcloneConfig(conf, { name: 'drime', endpoint: serve.endpoint });
      const rclone = rcloneRunner(conf, [
        '--retries',
        '1',
        '--low-level-retries',
        '2',
        '--transfers',
        '8',
        '--checkers',
        '16',
      ]);
      const copy = await rclone('copy', src, 'drime:default/tree');
      assert.equal(copy.code, 0, copy.err);
      const check = await rclone('check', src, 'drime:default/tree');
      assert.equal(check.code, 0, check.err + check.out);
      assert.match(check.err, /0 differences found/);
      assert.match(check.err, /2506 matching files/);

      const stored = fakeFiles(fake, ROOT);
      for (const [rel, data] of files) {
        const got = stored.get(`tree/${rel}`);
        assert.ok(got, `tree/${rel} is stored in the fake`);
        assert.equal(got.entry.size, data.length, `tree/${rel} size`);
        assert.ok(got.bytes?.equals(data), `tree/${rel} bytes`);
      }
      assert.equal(
        [...stored.keys()].filter((k) => k.startsWith('tree/')).length,
        files.size,
        'nothing else',
      );
    },
  );

  it('restic init, backup, check --read-data, restore', clientTestOptions('restic'), async () => {
    const src = join(home, 'restic-src');
    const tree = new Map<string, Buffer>([
      ['docs/readme.txt', Buffer.from('restic through s3local and Drime\n')],
      ['blobs/random-3m.bin', randomBytes(3 * MiB + 123)],
      ['blobs/zeros.bin', Buffer.alloc(MiB)],
    ]);
    for (let i = 0; i < 150; i++) tree.set(`small/s${i}.txt`, randomBytes(100 + i * 37));
    for (const [rel, data] of tree) {
      await mkdir(join(src, rel, '..'), { recursive: true });
      await writeFile(join(src, rel), data);
    }
    const env = clientEnv({
      RESTIC_REPOSITORY: `s3:${serve.endpoint}/default/restic`,
      RESTIC_PASSWORD: 'correct horse battery staple',
      RESTIC_CACHE_DIR: join(home, 'restic-cache'),
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    });
    const restic = async (...args: string[]) => {
      const r = await runClient('restic', args, env);
      assert.equal(r.code, 0, `restic ${args.join(' ')}:\n${r.out}\n${r.err}`);
      return r;
    };
    await restic('init');
    await restic('backup', '--host', 'interop', src);
    const check = await restic('check', '--read-data');
    assert.match(check.out, /no errors were found/);
    const target = join(home, 'restic-restore');
    await restic('restore', 'latest', '--target', target);
    const restored = await readTree(join(target, src));
    assert.deepEqual([...restored.keys()].sort(), [...tree.keys()].sort());
    for (const [rel, data] of tree)
      assert.ok(restored.get(rel)?.equals(data), `${rel} restored byte for byte`);

    // In the fake: restic names data, index and snapshot files by the SHA-256 of their bytes.
    const stored = [...fakeFiles(fake, ROOT)].filter(([k]) => k.startsWith('restic/'));
    assert.ok(stored.some(([k]) => k === 'restic/config'));
    const named = stored.filter(([k]) =>
      /^restic\/(data\/[0-9a-f]{2}|index|snapshots)\/[0-9a-f]{64}$/.test(k),
    );
    assert.ok(named.filter(([k]) => k.startsWith('restic/data/')).length > 0, 'data packs stored');
    assert.ok(
      named.some(([k]) => k.startsWith('restic/snapshots/')),
      'a snapshot stored',
    );
    for (const [k, v] of named) {
      assert.ok(v.bytes, `${k} has bytes`);
      assert.equal(sha256(v.bytes), k.slice(-64), `${k} holds exactly its bytes`);
    }
  });

  it('AWS SDK v3: PutObject, GetObject, ListObjectsV2, DeleteObject(s), all as stored in the fake', async () => {
    const Bucket = 'default';
    const objects = new Map<string, Buffer>([
      ['sdk/plain.txt', Buffer.from('plain text\n')],
      ['sdk/nested/deep/one-mib.bin', randomBytes(MiB)],
      ['sdk/unicode/ファイル ü.txt', Buffer.from('ユニコード\n')],
      ['sdk/folder-marker/', Buffer.alloc(0)],
      ['sdk/meta.json', Buffer.from('{"ok":true}')],
    ]);
    for (const [Key, Body] of objects) {
      const extra =
        Key === 'sdk/meta.json' ? { ContentType: 'application/json', Metadata: { colour: 'blue' } } : {};
      const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }));
      assert.equal(put.ETag, `"${md5(Body)}"`, Key);
    }
    for (const [Key, data] of objects) {
      const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
      const body = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
      assert.ok(body.equals(data), `${Key} read back`);
      assert.equal(got.ETag, `"${md5(data)}"`);
      if (Key === 'sdk/meta.json') {
        assert.equal(got.ContentType, 'application/json');
        assert.deepEqual(got.Metadata, { colour: 'blue' });
      }
    }
    const all = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'sdk/' }));
    assert.deepEqual(
      all.Contents?.map((o) => o.Key),
      [...objects.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
    );
    const top = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'sdk/', Delimiter: '/' }));
    assert.deepEqual(
      top.CommonPrefixes?.map((p) => p.Prefix),
      ['sdk/folder-marker/', 'sdk/nested/', 'sdk/unicode/'],
    );
    assert.deepEqual(
      top.Contents?.map((o) => o.Key),
      ['sdk/meta.json', 'sdk/plain.txt'],
    );

    // The fake holds each object as a file at its key's path, byte for byte.
    const stored = fakeFiles(fake, ROOT);
    for (const [key, data] of objects) {
      if (key.endsWith('/')) {
        const marker = [...stored].find(([k]) => k.startsWith(key) && decodeName(k.slice(key.length)) === '');
        assert.ok(marker, `${key} is a file with the empty name inside its folder`);
        assert.equal(marker[1].bytes?.length, 0);
      } else assert.ok(stored.get(key)?.bytes?.equals(data), `${key} stored byte for byte`);
    }

    // Deletes move files to the Drime trash (the default delete mode); absent keys answer 204 too.
    const plainId = stored.get('sdk/plain.txt')!.entry.id;
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'sdk/plain.txt' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.notEqual(fake.state.entries.get(plainId)?.deletedAt ?? null, null, 'in the trash');
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'sdk/never-existed.txt' }));
    const multi = await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Objects: [{ Key: 'sdk/nested/deep/one-mib.bin' }, { Key: 'sdk/unicode/ファイル ü.txt' }] },
      }),
    );
    assert.equal(multi.Errors, undefined);
    assert.equal(multi.Deleted?.length, 2);
    const left = [...fakeFiles(fake, ROOT).keys()].filter((k) => k.startsWith('sdk/'));
    assert.deepEqual(left.filter((k) => !k.startsWith('sdk/folder-marker/')).sort(), ['sdk/meta.json']);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'sdk/plain.txt' })), {
      name: 'NoSuchKey',
    });
  });

  it('AWS SDK v3 multipart: lib-storage, 5 MiB parts, a 30 MiB object', async () => {
    const data = randomBytes(30 * MiB);
    const Key = 'sdk-multipart/thirty.bin';
    const upload = new Upload({
      client: s3,
      params: { Bucket: 'default', Key, Body: data },
      partSize: 5 * MiB,
      queueSize: 4,
    });
    const done = await upload.done();
    const parts = Array.from({ length: 6 }, (_, i) =>
      createHash('md5')
        .update(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB))
        .digest(),
    );
    assert.equal(done.ETag, `"${md5(Buffer.concat(parts))}-6"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'default', Key }));
    assert.ok(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(data), 'read back');
    assert.ok(fakeFiles(fake, ROOT).get(Key)?.bytes?.equals(data), 'stored in the fake byte for byte');
  });

  it('the spool directory is private while serving and removed on stop', async () => {
    const spools = async () =>
      (await readdir(spoolParent())).filter((n) => n.startsWith('s3local-drime-spool-'));
    const during = await spools();
    assert.equal(during.length, 1, `one spool directory: ${during.join(', ')}`);
    assert.equal((await stat(join(spoolParent(), during[0]!))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(join(spoolParent(), during[0]!)), [], 'no request body left behind');
    assert.equal(await stopWithin(serve, 15_000), 0, serve.stderr());
    assert.deepEqual(await spools(), []);
  });
});
