/**
 * Drime-specific behaviour of DrimeBackend against the fake (the shared contract runs in
 * test/contract/drime.test.ts): mapping of buckets and keys, names Drime cannot hold as-is,
 * duplicates, ETag validity, delete modes, server-side copy, upload paths, stale caches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Error } from '../../../src/s3/errors.js';
import { DrimeBackend, type DrimeBackendOptions } from '../../../src/storage/drime/backend.js';
import { aliasOf, decodeName, storedNameFor } from '../../../src/storage/drime/names.js';
import { bodyFrom, md5Hex, readAll } from '../../helpers/body.js';
import type { FakeDrime } from '../../fakes/drime/server.js';
import type { FakeEntry } from '../../fakes/drime/state.js';
import { MiB, bytes, openBackend, withRig, type Rig } from './helpers.js';

/** Every test has a deadline. */
const T = { timeout: 60_000 };

function open(rig: Rig, opts: Partial<DrimeBackendOptions> = {}): Promise<DrimeBackend> {
  return openBackend(rig, {
    simpleUploadMaxBytes: 1 * MiB,
    partSizeBytes: 5 * MiB,
    retireDelayMs: 0,
    listingCacheTtlMs: 0,
    folderCacheTtlMs: 0,
    ...opts,
  });
}

const put = (b: DrimeBackend, bucket: string, key: string, data: Buffer | string, contentType?: string) =>
  b.putObject(bucket, key, bodyFrom(data), { headers: contentType ? { contentType } : {}, metadata: {} });

const get = async (b: DrimeBackend, bucket: string, key: string) =>
  readAll((await b.getObject(bucket, key)).body);

function folderByPath(fake: FakeDrime, path: string): FakeEntry {
  let parent: number | null = null;
  let e: FakeEntry | undefined;
  for (const seg of path.split('/')) {
    e = fake.state.children(parent, 0).find((x) => x.type === 'folder' && x.name === seg);
    assert.ok(e, `folder ${path}`);
    parent = e.id;
  }
  return e!;
}

test('names: aliases round-trip and never collide; ordinary names are stored as themselves', T, () => {
  for (const n of ['', '.', '..', 'tab\there', ' lead', 'trail ', '50%', 'a~0123456789abcdef']) {
    assert.equal(decodeName(aliasOf(n)), n, JSON.stringify(n));
  }
  assert.equal(storedNameFor('photo.jpg', []), 'photo.jpg');
  assert.equal(storedNameFor('Photos', ['photos']), aliasOf('Photos'));
  assert.equal(storedNameFor('Ā', ['a']), aliasOf('Ā'));
  assert.equal(storedNameFor('😀', ['\uFFFD']), aliasOf('😀'));
  assert.equal(storedNameFor('Photos', [aliasOf('Photos'), 'photos']), aliasOf('Photos'));
  assert.equal(decodeName('plain~0123456789abcdef'), 'plain~0123456789abcdef');
  assert.equal(storedNameFor('', []), aliasOf(''));
});

test('open: the token is checked; a bad one fails before anything else', T, async () => {
  await withRig(async (rig) => {
    await assert.rejects(
      open(rig, { apiKey: 'wrong' }),
      (e: unknown) => e instanceof S3Error && /token/.test(e.message),
    );
    assert.equal(rig.fake.requests.length, 1);
  });
});

test(
  'default mode: bucket "default" is the root folder; keys map to folders + file; root folder is not escaped',
  T,
  async () => {
    await withRig(async (rig) => {
      const b = await open(rig, { rootFolder: 'backups/s3' });
      await put(b, 'default', 'backups/x.txt', 'inside the root');
      await put(b, 'default', 'top.txt', 'top');
      const root = folderByPath(rig.fake, 'backups/s3');
      assert.deepEqual([...rig.fake.state.files(0, root.id).keys()].sort(), ['backups/x.txt', 'top.txt']);
      // Nothing landed next to the root folder (pys3local's cache-collision bug).
      assert.deepEqual([...rig.fake.state.files(0).keys()].sort(), [
        'backups/s3/backups/x.txt',
        'backups/s3/top.txt',
      ]);
      assert.deepEqual(
        (await b.listBuckets()).map((x) => x.name),
        ['default'],
      );
      await assert.rejects(b.headBucket('other'), (e: S3Error) => e.code === 'NoSuchBucket');
      await assert.rejects(b.createBucket('default'), (e: S3Error) => e.code === 'BucketAlreadyOwnedByYou');
      await b.close();
    });
  },
);

test('advanced mode: buckets are folders under the root; other folders are not buckets', T, async () => {
  await withRig(async (rig) => {
    const b = await open(rig, { advanced: true, rootFolder: 'r00t' });
    await b.createBucket('bucket-one');
    await put(b, 'bucket-one', 'a/b.txt', 'x');
    const r = folderByPath(rig.fake, 'r00t');
    rig.fake.state.createEntry({
      name: 'Not A Bucket',
      type: 'folder',
      parentId: r.id,
      workspaceId: 0,
      ownerId: 1,
      fileName: 'Not A Bucket',
      size: 0,
      mime: null,
      extension: null,
    });
    assert.deepEqual(
      (await b.listBuckets()).map((x) => x.name),
      ['bucket-one'],
    );
    assert.deepEqual([...rig.fake.state.files(0).keys()], ['r00t/bucket-one/a/b.txt']);
    await b.close();
  });
});

test('keys that differ only in case or accents both survive, in both same-name modes', T, async () => {
  for (const sameName of ['duplicate', 'replace'] as const) {
    await withRig(
      async (rig) => {
        const b = await open(rig);
        const keys = [
          'Photos/a.txt',
          'photos/b.txt',
          'A.txt',
          'a.txt',
          'Ā.txt',
          'dir/',
          'dir//x',
          ' edge ',
          'tab\tkey',
        ];
        for (const k of keys) await put(b, 'default', k, `data ${k}`);
        for (const k of keys)
          assert.equal((await get(b, 'default', k)).toString(), `data ${k}`, `${sameName} ${k}`);
        const page = await b.listObjects('default', { prefix: '', delimiter: '', after: '', maxKeys: 100 });
        assert.equal(page.objects.length, keys.length);
        // Drime sees readable names, with an alias only where needed.
        const stored = [...rig.fake.state.files(0).keys()];
        assert.ok(stored.includes('Photos/a.txt'));
        assert.ok(stored.includes(`${aliasOf('photos')}/b.txt`));
        await b.close();
      },
      { sameName },
    );
  }
});

test('duplicate same-name entries (made outside s3local) resolve to the newest', T, async () => {
  await withRig(async (rig) => {
    const b = await open(rig);
    await put(b, 'default', 'dup.bin', 'old');
    const old = [...rig.fake.state.files(0).values()][0]!;
    const newer = rig.fake.state.createEntry({ ...old, name: 'dup.bin' });
    newer.fileName = 'external-file-name';
    rig.fake.state.blobs.set(rig.fake.state.blobKey(newer.fileName), Buffer.from('newer'));
    newer.size = 5;
    assert.equal((await get(b, 'default', 'dup.bin')).toString(), 'newer');
    const head = await b.headObject('default', 'dup.bin');
    // Written outside s3local: no stale MD5, the storage name instead.
    assert.equal(head.etag, 'external-file-name');
    await b.deleteObject('default', 'dup.bin');
    assert.equal(rig.fake.state.files(0).size, 0);
    await b.close();
  });
});

test(
  'ETag: MD5 from the index while valid; a file replaced outside s3local falls back to its file_name',
  T,
  async () => {
    await withRig(async (rig) => {
      const b = await open(rig);
      const info = await put(b, 'default', 'e.txt', 'hello', 'text/x-hello');
      assert.equal(info.etag, md5Hex('hello'));
      const e = rig.fake.state.files(0).get('e.txt')!;
      e.fileName = 'replaced-elsewhere';
      rig.fake.state.blobs.set(rig.fake.state.blobKey(e.fileName), Buffer.from('HELLO'));
      const head = await b.headObject('default', 'e.txt');
      assert.equal(head.etag, 'replaced-elsewhere');
      assert.deepEqual(head.headers, { contentType: 'text/x-hello' });
      assert.equal((await get(b, 'default', 'e.txt')).toString(), 'HELLO');
      // cache migrate fills it again from the bytes.
      assert.deepEqual(await b.migrateMd5({ dryRun: true }), { scanned: 1, missing: 1, filled: 0, bytes: 0 });
      const r = await b.migrateMd5();
      assert.equal(r.filled, 1);
      assert.equal((await b.headObject('default', 'e.txt')).etag, md5Hex('HELLO'));
      assert.deepEqual(b.indexStats(), { workspaceId: 0, objects: 1, bytes: 5 });
      await b.deleteObject('default', 'e.txt');
      await put(b, 'default', 'f.txt', 'f');
      rig.fake.state.files(0).get('f.txt')!.fileName = 'changed';
      assert.deepEqual(await b.cleanupIndex(), { kept: 0, removed: 1 });
      await b.close();
    });
  },
);

test('delete modes: trash by default, permanent on request; absent keys are fine', T, async () => {
  await withRig(async (rig) => {
    const b = await open(rig);
    await put(b, 'default', 't.txt', 'x');
    const id = rig.fake.state.files(0).get('t.txt')!.id;
    await b.deleteObject('default', 't.txt');
    assert.notEqual(rig.fake.state.entries.get(id)?.deletedAt, null);
    await b.deleteObject('default', 't.txt');
    await b.close();
    const p = await open(rig, { deleteMode: 'permanent' });
    await put(p, 'default', 'p.txt', 'x');
    const pid = rig.fake.state.files(0).get('p.txt')!.id;
    await p.deleteObject('default', 'p.txt');
    assert.equal(rig.fake.state.entries.has(pid), false);
    await p.close();
  });
});

test('overwrite: the old entry is retired (after the grace period) and never read again', T, async () => {
  await withRig(async (rig) => {
    const b = await open(rig, { retireDelayMs: 60_000 });
    await put(b, 'default', 'o.txt', 'one');
    const first = rig.fake.state.files(0).get('o.txt')!.id;
    await put(b, 'default', 'o.txt', 'two');
    assert.equal(rig.fake.state.entries.get(first)?.deletedAt, null, 'kept during the grace period');
    assert.equal((await get(b, 'default', 'o.txt')).toString(), 'two');
    await b.close();
    assert.notEqual(rig.fake.state.entries.get(first)?.deletedAt, null, 'retired on close');
  });
});

test(
  'upload paths: form for small named files, presigned for odd names, multipart with fixed parts',
  T,
  async () => {
    await withRig(
      async (rig) => {
        const b = await open(rig);
        const count = (re: RegExp) =>
          rig.fake.requests.filter((r) => re.test(`${r.method} ${r.path}`)).length;
        await put(b, 'default', 'small.txt', 'small');
        assert.equal(count(/POST \/api\/v1\/uploads$/), 1);
        await put(b, 'default', 'noext', 'x');
        await put(b, 'default', 'backup.2024-01-01T00', 'x');
        await put(b, 'default', 'quote"name.txt', 'x');
        assert.equal(count(/POST \/api\/v1\/s3\/simple\/presign$/), 3);
        const big = bytes(12 * MiB + 5, 2);
        await put(b, 'default', 'big.bin', big);
        assert.equal(count(/PUT \/__r2\//), 3 + 3);
        assert.ok((await get(b, 'default', 'big.bin')).equals(big));
        assert.ok(rig.fake.state.blobOf(rig.fake.state.files(0).get('big.bin')!)!.equals(big));
        assert.ok(
          rig.fake.requests.filter((r) => r.path.startsWith('/__r2/')).every((r) => !r.authorization),
        );
        const ext = [...rig.fake.state.entries.values()].map((e) => e.extension ?? '');
        assert.ok(
          ext.every((x) => x.length <= 10),
          ext.join(','),
        );
        await b.close();
      },
      { extensionMaxLength: 10 },
    );
  },
);

test('a failed multipart upload is aborted and keeps the previous object', T, async () => {
  await withRig(async (rig) => {
    const b = await open(rig);
    await put(b, 'default', 'keep.bin', 'previous');
    rig.fake.faults.add({ match: /^PUT \/__r2\//, kind: 'status', status: 500, times: 1000 });
    await assert.rejects(
      put(b, 'default', 'keep.bin', bytes(7 * MiB)),
      (e: S3Error) => e.code === 'InternalError',
    );
    rig.fake.faults.clear();
    assert.equal((await get(b, 'default', 'keep.bin')).toString(), 'previous');
    assert.equal(rig.fake.state.multipart.size, 0);
    assert.deepEqual(await readdir(join(rig.dir, 'spool-a')), []);
    assert.equal((await stat(join(rig.dir, 'spool-a'))).mode & 0o777, 0o700);
    await b.close();
  });
});

test(
  'copy is server-side (duplicate + rename); falls back to streaming when Drime refuses the rename',
  T,
  async () => {
    await withRig(async (rig) => {
      const b = await open(rig);
      await put(b, 'default', 'src/file.txt', 'copy me', 'text/plain');
      const before = rig.fake.requests.length;
      const info = await b.copyObject(
        { bucket: 'default', key: 'src/file.txt' },
        { bucket: 'default', key: 'dst/renamed.txt' },
        {},
      );
      const used = rig.fake.requests.slice(before).map((r) => `${r.method} ${r.path}`);
      assert.ok(used.includes('POST /api/v1/file-entries/duplicate'), used.join('\n'));
      assert.ok(!used.some((u) => u.includes('/download/') || u.startsWith('GET /__r2')), 'no bytes moved');
      assert.equal(info.etag, md5Hex('copy me'));
      assert.equal((await get(b, 'default', 'dst/renamed.txt')).toString(), 'copy me');
      // BeDrive's min:3 on renames: a 1-character name cannot be renamed to.
      rig.fake.state.options.renameMinLength = 3;
      await b.copyObject({ bucket: 'default', key: 'src/file.txt' }, { bucket: 'default', key: 'src/x' }, {});
      assert.equal((await get(b, 'default', 'src/x')).toString(), 'copy me');
      assert.deepEqual([...rig.fake.state.files(0).keys()].sort(), [
        'dst/renamed.txt',
        'src/file.txt',
        'src/x',
      ]);
      await b.close();
    });
  },
);

test(
  'a folder trashed behind the folder cache is noticed and the object lands in a live folder',
  T,
  async () => {
    await withRig(async (rig) => {
      const b = await open(rig, { folderCacheTtlMs: 60_000, listingCacheTtlMs: 60_000 });
      await put(b, 'default', 'stale/one.txt', '1');
      const folder = folderByPath(rig.fake, 'stale');
      folder.deletedAt = Date.now();
      for (const d of rig.fake.state.descendants(folder.id)) d.deletedAt = Date.now();
      await put(b, 'default', 'stale/two.txt', '2');
      assert.deepEqual([...rig.fake.state.files(0).keys()], ['stale/two.txt']);
      // The first attempt went into the trashed folder, was noticed, removed and redone.
      assert.equal(rig.fake.requests.filter((r) => r.path === '/api/v1/uploads').length, 3);
      assert.notEqual(folderByPath(rig.fake, 'stale').id, folder.id);
      await b.close();
    });
  },
);

test('Drime refusing short folder names gives a clear InvalidArgument', T, async () => {
  await withRig(
    async (rig) => {
      const b = await open(rig);
      await assert.rejects(
        put(b, 'default', 'ab/x.txt', 'x'),
        (e: S3Error) => e.code === 'InvalidArgument' && /folder name "ab"/.test(e.message),
      );
      await put(b, 'default', 'abc/x.txt', 'x');
      await b.close();
    },
    { folderMinLength: 3 },
  );
});

test('other workspaces: every entry lands in the configured workspace', T, async () => {
  await withRig(async (rig) => {
    const ws = rig.fake.state.addWorkspace('Team', rig.fake.user);
    const b = await open(rig, { workspaceId: ws.id, advanced: true });
    await b.createBucket('team-bucket');
    await put(b, 'team-bucket', 'k/v.txt', 'v');
    assert.equal(rig.fake.state.files(0).size, 0);
    assert.deepEqual([...rig.fake.state.files(ws.id).keys()], ['team-bucket/k/v.txt']);
    assert.ok(
      rig.fake.requests
        .filter((r) => r.path.startsWith('/api/'))
        .every((r) => r.workspaceIdQuery === String(ws.id)),
    );
    await b.close();
  });
});

test('large folders: listing and lookups see past the first page', T, async () => {
  await withRig(async (rig) => {
    const b = await open(rig, { client: { perPage: 50, retry: { baseDelayMs: 1, maxDelayMs: 10 } } });
    await put(b, 'default', 'big/first', 'x');
    const parent = folderByPath(rig.fake, 'big');
    for (let i = 0; i < 180; i++) {
      rig.fake.state.createEntry({
        name: `f${String(i).padStart(3, '0')}`,
        type: 'file',
        parentId: parent.id,
        workspaceId: 0,
        ownerId: 1,
        fileName: `u${i}`,
        size: 1,
        mime: null,
        extension: null,
      });
    }
    const keys: string[] = [];
    let after = '';
    for (;;) {
      const page = await b.listObjects('default', { prefix: 'big/', delimiter: '/', after, maxKeys: 70 });
      keys.push(...page.objects.map((o) => o.key));
      if (!page.isTruncated) break;
      after = page.nextAfter!;
    }
    assert.equal(keys.length, 181);
    assert.equal((await b.headObject('default', 'big/f179')).size, 1);
    await b.close();
  });
});
