/**
 * Uploads (form, presigned, multipart) and downloads (redirect/stream, Range, resume) against the fake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DrimeError } from '../../../src/storage/drime/errors.js';
import { openDownload } from '../../../src/storage/drime/download.js';
import { partSizeFor, uploadMultipart } from '../../../src/storage/drime/multipart.js';
import { formSafeName, uploadForm, uploadPresigned } from '../../../src/storage/drime/transfer.js';
import { MiB, bytes, collect, withRig } from './helpers.js';

/** Every test has a deadline. */
const T = { timeout: 60_000 };

const target = (name: string, parentId: number | null = null) => ({
  name,
  parentId,
  mime: 'application/octet-stream',
  extension: 'bin',
});

test('partSizeFor: at least 5 MiB, whole MiB, grows to stay within 10,000 parts', T, () => {
  assert.equal(partSizeFor(100, 1), 5 * MiB);
  assert.equal(partSizeFor(100, 7.5 * MiB), 8 * MiB);
  assert.equal(partSizeFor(100_000 * MiB, 5 * MiB), 10 * MiB);
  assert.ok(partSizeFor(100_000 * MiB, 5 * MiB) * 10_000 >= 100_000 * MiB);
});

test('form upload: streamed body, entry named by the filename, placed by parentId', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client();
    const dir = await c.createFolder('dir', null);
    const data = bytes(100_000);
    const src = await rig.file('a', data);
    const e = await uploadForm(c, src, target('hello wörld.txt', dir.id), new Set());
    assert.equal(e.name, 'hello wörld.txt');
    assert.equal(e.parentId, dir.id);
    assert.deepEqual(rig.fake.state.blobOf(rig.fake.state.entries.get(e.id)!), data);
    assert.equal(formSafeName('a"b'), false);
    assert.equal(formSafeName('ok name.txt'), true);
  });
});

test('form upload: an ambiguous failure is re-checked by listing, not uploaded twice', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client();
    const src = await rig.file('a', bytes(1000));
    rig.fake.faults.add({ match: /uploads/, kind: 'status', status: 500, phase: 'after' });
    const e = await uploadForm(c, src, target('once.bin'), new Set());
    assert.equal(rig.fake.requests.filter((r) => r.path.endsWith('/uploads')).length, 1);
    assert.deepEqual([...rig.fake.state.files(0).keys()], ['once.bin']);
    assert.equal(e.id, rig.fake.state.files(0).get('once.bin')!.id);
    // Reset before processing: nothing was stored, so the upload is sent again.
    rig.fake.faults.add({ match: /uploads/, kind: 'reset' });
    await uploadForm(c, src, target('twice.bin'), new Set());
    assert.equal(rig.fake.requests.filter((r) => r.path.endsWith('/uploads')).length, 3);
    assert.equal([...rig.fake.state.entries.values()].filter((x) => x.name === 'twice.bin').length, 1);
  });
});

test(
  'form upload: a users: [] answer is re-checked on the entry; a guest (bad token) upload is refused',
  T,
  async () => {
    await withRig(
      async (rig) => {
        const src = await rig.file('a', bytes(10));
        rig.fake.faults.add({ match: /uploads/, kind: 'users-empty', phase: 'after' });
        const e = await uploadForm(rig.client(), src, target('u.bin'), new Set());
        assert.equal(e.userCount, 1);
        assert.equal([...rig.fake.state.entries.values()].filter((x) => x.name === 'u.bin').length, 1);
        assert.equal(rig.fake.requests.filter((r) => r.path.endsWith('/uploads')).length, 1);
        assert.ok(rig.fake.requests.some((r) => r.path === `/api/v1/file-entries/${e.id}`));
        // A guest upload (invalid token, optionalAuth) creates an ownerless entry: refused.
        const before = rig.fake.state.entries.size;
        await assert.rejects(
          uploadForm(rig.client({ apiKey: 'bad' }), src, target('g.bin'), new Set()),
          (err: unknown) => err instanceof DrimeError && err.kind === 'auth',
        );
        // The guest entry could not be deleted by us (not ours); nothing of ours was added.
        assert.equal(
          [...rig.fake.state.entries.values()].filter((x) => x.ownerId === rig.fake.user.id).length,
          before,
        );
      },
      { guestUploads: true },
    );
  },
);

test(
  'presigned single PUT: no Authorization on storage, chosen clientExtension, exact bytes',
  T,
  async () => {
    await withRig(
      async (rig) => {
        const data = bytes(3000, 3);
        const src = await rig.file('p', data);
        const e = await uploadPresigned(rig.client(), src, target('backup.2024-01-01T00'));
        assert.equal(e.name, 'backup.2024-01-01T00');
        assert.equal(e.extension, 'bin');
        assert.deepEqual(rig.fake.state.blobOf(rig.fake.state.entries.get(e.id)!), data);
        for (const r of rig.fake.requests.filter((x) => x.path.startsWith('/__r2/')))
          assert.equal(r.authorization, false);
      },
      { extensionMaxLength: 10 },
    );
  },
);

test(
  'multipart: fixed-size parts, lazy signing, retried part PUTs, exact bytes, no token on storage',
  T,
  async () => {
    await withRig(async (rig) => {
      const data = bytes(23 * MiB + 123, 5);
      const src = await rig.file('m', data);
      rig.fake.faults.add({ match: /^PUT \/__r2\//, kind: 'status', status: 500, skip: 2 });
      rig.fake.faults.add({ match: /^PUT \/__r2\//, kind: 'reset', skip: 1 });
      const e = await uploadMultipart(rig.client(), src, target('big.bin'), 5 * MiB);
      assert.equal(e.fileSize, data.length);
      assert.deepEqual(rig.fake.state.blobOf(rig.fake.state.entries.get(e.id)!), data);
      const puts = rig.fake.requests.filter((r) => r.method === 'PUT' && r.path.startsWith('/__r2/'));
      assert.equal(puts.length, 5 + 2);
      assert.ok(puts.every((r) => !r.authorization));
      assert.equal(rig.fake.state.multipart.size, 0);
    });
  },
);

test(
  'multipart: an ambiguous complete is verified by registration; a failure aborts the upload',
  T,
  async () => {
    await withRig(async (rig) => {
      const data = bytes(11 * MiB, 9);
      const src = await rig.file('m', data);
      rig.fake.faults.add({ match: /multipart\/complete/, kind: 'status', status: 502, phase: 'after' });
      rig.fake.faults.add({ match: /s3\/entries/, kind: 'reset', phase: 'after' });
      const e = await uploadMultipart(rig.client(), src, target('c.bin'), 5 * MiB);
      assert.deepEqual(rig.fake.state.blobOf(rig.fake.state.entries.get(e.id)!), data);
      assert.equal([...rig.fake.state.entries.values()].filter((x) => x.name === 'c.bin').length, 1);
      rig.fake.faults.add({ match: /^PUT \/__r2\//, kind: 'status', status: 500, times: 1000 });
      await assert.rejects(uploadMultipart(rig.client(), src, target('d.bin'), 5 * MiB));
      assert.equal(rig.fake.state.multipart.size, 0);
      assert.ok(rig.fake.requests.some((r) => r.path.endsWith('/multipart/abort')));
    });
  },
);

for (const mode of ['redirect', 'stream'] as const) {
  for (const rangeSupport of [true, false]) {
    test(
      `download (${mode}, range ${rangeSupport ? 'on' : 'off'}): whole, ranges, resume after truncation`,
      T,
      async () => {
        await withRig(
          async (rig) => {
            const c = rig.client();
            const data = bytes(300_000, 1);
            const e = await uploadForm(c, await rig.file('d', data), target('d.bin'), new Set());
            const t = { hash: e.hash, size: e.fileSize, name: e.name };
            assert.deepEqual(await collect(await openDownload(c, t)), data);
            assert.deepEqual(
              await collect(await openDownload(c, t, { start: 1000, end: 1999 })),
              data.subarray(1000, 2000),
            );
            assert.deepEqual(
              await collect(await openDownload(c, t, { start: 299_999, end: 299_999 })),
              data.subarray(299_999),
            );
            rig.fake.faults.add({ kind: 'truncate', match: mode === 'redirect' ? /__r2/ : /download/ });
            assert.deepEqual(
              await collect(await openDownload(c, t, { start: 10, end: 250_000 })),
              data.subarray(10, 250_001),
            );
            assert.equal(rig.fake.faults.pending(), 0);
            for (const r of rig.fake.requests.filter((x) => x.path.startsWith('/__r2/')))
              assert.equal(r.authorization, false);
            const ranged = rig.fake.requests.filter((x) => x.method === 'GET' && x.path.startsWith('/__r2/'));
            assert.equal(ranged.length > 0, mode === 'redirect');
          },
          { download: mode, rangeSupport },
        );
      },
    );
  }
}

test('download: a trashed entry (empty ZIP) and an unknown entry fail cleanly', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client();
    const e = await uploadForm(c, await rig.file('d', bytes(10)), target('t.bin'), new Set());
    await c.deleteEntries([e.id], false);
    await assert.rejects(
      openDownload(c, { hash: e.hash, size: 10, name: 't.bin' }),
      (err: unknown) => err instanceof DrimeError && err.kind === 'gone',
    );
    await c.deleteEntries([e.id], true);
    await assert.rejects(
      openDownload(c, { hash: e.hash, size: 10, name: 't.bin' }),
      (err: unknown) => err instanceof DrimeError && err.status === 404,
    );
  });
});

test('download: destroying the stream early releases the transfer', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client();
    const e = await uploadForm(c, await rig.file('d', bytes(2 * MiB)), target('big.bin'), new Set());
    const s = await openDownload(c, { hash: e.hash, size: e.fileSize, name: e.name });
    await new Promise<void>((resolve, reject) => {
      s.once('data', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
    assert.equal(s.destroyed, true);
    // The client still works (no slot leaked).
    assert.equal((await c.listChildren(null)).length, 1);
  });
});
