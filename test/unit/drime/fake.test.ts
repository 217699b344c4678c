/**
 * The fake Drime API itself (test/fakes/drime) against drime-api.md §12, driven with plain fetch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeEntryHash, encodeEntryHash } from '../../fakes/drime/hash.js';
import { startFakeDrime, type FakeDrime } from '../../fakes/drime/server.js';

/** Every test has a deadline. */
const T = { timeout: 60_000 };

const MiB = 1024 * 1024;

/** The fields of fake API answers these tests read (each test reads only what that answer has). */
interface Entry {
  id: number;
  name: string;
  hash: string;
  path: string;
  file_name: string;
  file_size: number;
  owner_id: number | null;
  users: unknown[];
}
interface Resp {
  status: string;
  message: string;
  errors: Record<string, unknown>;
  user: { email: string };
  folder: Entry;
  fileEntry: Entry;
  data: Entry[];
  entries: Entry[];
  total: number;
  last_page: number;
  current_page: number;
  next_page: number | null;
  next_page_url: string;
  key: string;
  uploadId: string;
  urls: Array<{ partNumber: number; url: string }>;
  parts: Array<{ PartNumber: number; ETag: string; Size: number }>;
}

const names = (r: { json: Resp }): string[] => r.json.data.map((e) => e.name);

async function api(
  fake: FakeDrime,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = fake.token,
): Promise<{ status: number; json: Resp; text: string; headers: Headers }> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${fake.apiUrl}${path}`, {
    method,
    headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(5000),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: (text.startsWith('{') ? JSON.parse(text) : {}) as Resp,
    text,
    headers: res.headers,
  };
}

async function uploadForm(fake: FakeDrime, name: string, data: Buffer, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', new Blob([data], { type: 'application/octet-stream' }), name);
  const res = await fetch(`${fake.apiUrl}/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fake.token}`, accept: 'application/json' },
    body: form,
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, json: (await res.json()) as Resp };
}

async function withFake(fn: (fake: FakeDrime) => Promise<void>, opts = {}) {
  const fake = await startFakeDrime(opts);
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

test('hash: the padded BeDrive encoding and its inverse', T, () => {
  assert.equal(encodeEntryHash(3260), 'MzI2MHxwYWRkaQ');
  assert.equal(encodeEntryHash(111344), 'MTExMzQ0fHBhZA');
  assert.equal(encodeEntryHash(112450), 'MTEyNDUwfHBhZA');
  assert.equal(encodeEntryHash(488163222), 'NDg4MTYzMjIyfA');
  assert.equal(encodeEntryHash(1), 'MXxwYWRkaW5ncA');
  for (const id of [1, 42, 3260, 488163222, 1234567890])
    assert.equal(decodeEntryHash(encodeEntryHash(id)), id);
  assert.equal(decodeEntryHash('not a hash!'), undefined);
});

test('auth: 401 without or with a bad token; loggedUser with a good one', T, async () => {
  await withFake(async (fake) => {
    assert.equal((await api(fake, 'GET', '/cli/loggedUser', undefined, null)).status, 401);
    const bad = await api(fake, 'GET', '/drive/file-entries', undefined, 'nope');
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json, { message: 'Unauthenticated.' });
    const ok = await api(fake, 'GET', '/cli/loggedUser');
    assert.equal(ok.status, 200);
    assert.equal(ok.json.user.email, 'tester@example.test');
    assert.equal((await api(fake, 'GET', '/drive/file-entries?workspaceId=999')).status, 403);
  });
});

test('folders: create, 422 on a case-insensitive duplicate, root listing scoping', T, async () => {
  await withFake(async (fake) => {
    const a = await api(fake, 'POST', '/folders?workspaceId=0', {
      name: 'Photos',
      parentId: null,
      workspaceId: 0,
    });
    assert.equal(a.status, 200);
    assert.equal(a.json.status, 'success');
    const id = Number(a.json.folder.id);
    assert.ok(id >= 480000000);
    const dup = await api(fake, 'POST', '/folders', { name: 'photos', parentId: null, workspaceId: 0 });
    assert.equal(dup.status, 422);
    assert.equal(dup.json.errors.name, 'Folder with same name already exists.');
    const child = await api(fake, 'POST', '/folders', { name: 'inner', parentId: id, workspaceId: 0 });
    assert.equal(child.status, 200);
    assert.equal(child.json.folder.path, `${id}/${child.json.folder.id}`);
    // Root: no parent params, folderId=0 (with the RootFolder object) and parentIds=0.
    for (const q of ['', '&folderId=0', '&parentIds=0']) {
      const r = await api(fake, 'GET', `/drive/file-entries?workspaceId=0${q}`);
      assert.deepEqual(names(r), ['Photos'], q);
    }
    const r0 = await api(fake, 'GET', '/drive/file-entries?folderId=0');
    assert.equal(r0.json.folder.id, 0);
    // A bad folderId hash silently lists the root without a folder key.
    const bad = await api(fake, 'GET', '/drive/file-entries?folderId=garbage');
    assert.equal(bad.json.folder, undefined);
    assert.deepEqual(names(bad), ['Photos']);
    const byHash = await api(fake, 'GET', `/drive/file-entries?folderId=${a.json.folder.hash}`);
    assert.equal(byHash.json.folder.id, id);
    assert.deepEqual(names(byHash), ['inner']);
    // A query ignores the parent filter.
    const q = await api(fake, 'GET', `/drive/file-entries?parentIds=${id}&query=PHO`);
    assert.deepEqual(names(q), ['Photos']);
    // min:3 knob.
    fake.state.options.folderMinLength = 3;
    assert.equal((await api(fake, 'POST', '/folders', { name: 'ab', workspaceId: 0 })).status, 422);
  });
});

test('listing: folders first, ordering, pagination keys in both paginator styles', T, async () => {
  await withFake(async (fake) => {
    for (const n of ['c.txt', 'a.txt', 'b.txt'])
      assert.equal((await uploadForm(fake, n, Buffer.from(n))).status, 201);
    await api(fake, 'POST', '/folders', { name: 'zdir', workspaceId: 0 });
    const p1 = await api(fake, 'GET', '/drive/file-entries?orderBy=name&orderDir=asc&perPage=3&page=1');
    assert.deepEqual(names(p1), ['zdir', 'a.txt', 'b.txt']);
    assert.equal(p1.json.total, 4);
    assert.equal(p1.json.last_page, 2);
    assert.equal(p1.json.current_page, 1);
    const p2 = await api(fake, 'GET', '/drive/file-entries?orderBy=name&orderDir=asc&perPage=3&page=2');
    assert.deepEqual(names(p2), ['c.txt']);
    assert.equal(p2.json.next_page, null);
    fake.state.options.paginator = 'simple';
    const s1 = await api(fake, 'GET', '/drive/file-entries?orderBy=name&orderDir=asc&perPage=3');
    assert.equal(s1.json.total, undefined);
    assert.match(s1.json.next_page_url, /page=2/);
  });
});

test('uploads: duplicate mode keeps both; replace mode keeps the id and hides a backup', T, async () => {
  await withFake(async (fake) => {
    const one = await uploadForm(fake, 'x.bin', Buffer.from('one'));
    const two = await uploadForm(fake, 'x.bin', Buffer.from('two'));
    assert.notEqual(one.json.fileEntry.id, two.json.fileEntry.id);
    assert.equal(one.json.fileEntry.users.length, 1);
    assert.equal((await api(fake, 'GET', '/drive/file-entries')).json.data.length, 2);
  });
  await withFake(
    async (fake) => {
      const one = await uploadForm(fake, 'x.bin', Buffer.from('one'));
      const two = await uploadForm(fake, 'X.BIN', Buffer.from('second'));
      assert.equal(two.json.fileEntry.id, one.json.fileEntry.id);
      assert.notEqual(two.json.fileEntry.file_name, one.json.fileEntry.file_name);
      assert.equal(two.json.fileEntry.file_size, 6);
      const list = await api(fake, 'GET', '/drive/file-entries');
      assert.equal(list.json.data.length, 1);
      const backups = await api(fake, 'GET', '/drive/file-entries?backup=1');
      assert.equal(backups.json.data.length, 1);
      assert.equal(backups.json.data[0]!.file_name, one.json.fileEntry.file_name);
    },
    { sameName: 'replace' },
  );
});

test('uploads: relativePath auto-creates folders; guest uploads return users: []', T, async () => {
  await withFake(
    async (fake) => {
      const r = await uploadForm(fake, 'f.txt', Buffer.from('hi'), {
        relativePath: '/a/b/f.txt',
        workspaceId: '0',
      });
      assert.equal(r.status, 201);
      assert.deepEqual([...fake.state.files(0).keys()], ['a/b/f.txt']);
      const form = new FormData();
      form.set('file', new Blob([Buffer.from('x')]), 'g.txt');
      const res = await fetch(`${fake.apiUrl}/uploads`, {
        method: 'POST',
        body: form,
        headers: { authorization: 'Bearer bad' },
      });
      const j = (await res.json()) as Resp;
      assert.equal(res.status, 201);
      assert.deepEqual(j.fileEntry.users, []);
      assert.equal(j.fileEntry.owner_id, null);
    },
    { guestUploads: true },
  );
});

test('multipart: R2 part rules, presigned URLs without Authorization, /s3/entries', T, async () => {
  await withFake(async (fake) => {
    const create = await api(fake, 'POST', '/s3/multipart/create', {
      filename: 'big.bin',
      mime: 'application/octet-stream',
      size: 11 * MiB,
      extension: 'bin',
      workspaceId: 0,
    });
    assert.equal(create.status, 200);
    const { key, uploadId } = create.json;
    const signed = await api(fake, 'POST', '/s3/multipart/batch-sign-part-urls', {
      key,
      uploadId,
      partNumbers: [1, 2, 3],
    });
    const urls: string[] = signed.json.urls.map((u) => u.url);
    const parts = [Buffer.alloc(5 * MiB, 1), Buffer.alloc(6 * MiB, 2), Buffer.alloc(2 * MiB, 3)];
    // Authorization on the storage host is refused.
    const withAuth = await fetch(urls[0]!, {
      method: 'PUT',
      body: parts[0]!,
      headers: { authorization: `Bearer ${fake.token}` },
    });
    assert.equal(withAuth.status, 400);
    // A tampered URL is refused.
    const tampered = await fetch(urls[0]!.replace('partNumber=1', 'partNumber=9'), {
      method: 'PUT',
      body: parts[0]!,
    });
    assert.equal(tampered.status, 403);
    const etags: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(urls[i]!, { method: 'PUT', body: parts[i]! });
      assert.equal(r.status, 200);
      etags.push(r.headers.get('etag')!);
      assert.equal(etags[i], `"${createHash('md5').update(parts[i]!).digest('hex')}"`);
    }
    const listed = await api(fake, 'POST', '/s3/multipart/get-uploaded-parts', { key, uploadId });
    assert.deepEqual(
      listed.json.parts.map((p) => p.Size),
      [5 * MiB, 6 * MiB, 2 * MiB],
    );
    // Unequal non-final parts fail at complete.
    const bad = await api(fake, 'POST', '/s3/multipart/complete', {
      key,
      uploadId,
      parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })),
    });
    assert.equal(bad.status, 422);
    assert.match(bad.json.message, /same length/);
    // Re-upload part 2 at 5 MiB and part 3 as 1 MiB: fine.
    const p2 = Buffer.alloc(5 * MiB, 2);
    const r2 = await fetch(urls[1]!, { method: 'PUT', body: p2 });
    etags[1] = r2.headers.get('etag')!;
    const r3 = await fetch(urls[2]!, { method: 'PUT', body: Buffer.alloc(MiB, 3) });
    etags[2] = r3.headers.get('etag')!;
    const done = await api(fake, 'POST', '/s3/multipart/complete', {
      key,
      uploadId,
      parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })),
    });
    assert.equal(done.status, 200);
    assert.equal(
      (await api(fake, 'POST', '/s3/multipart/get-uploaded-parts', { key, uploadId })).status,
      404,
    );
    const fileName = key.split('/').pop();
    const noExt = await api(fake, 'POST', '/s3/entries', {
      filename: fileName,
      size: 11 * MiB,
      clientName: 'big.bin',
      clientExtension: '',
      workspaceId: 0,
    });
    assert.equal(noExt.status, 422);
    const reg = await api(fake, 'POST', '/s3/entries', {
      filename: fileName,
      size: 11 * MiB,
      clientName: 'big.bin',
      clientExtension: 'bin',
      clientMime: 'application/octet-stream',
      workspaceId: 0,
    });
    assert.equal(reg.status, 200);
    assert.equal(reg.json.fileEntry.file_name, fileName);
    assert.equal(fake.state.blobOf(fake.state.entries.get(reg.json.fileEntry.id)!)!.length, 11 * MiB);
    const abort = await api(fake, 'POST', '/s3/multipart/create', {
      filename: 'z',
      mime: 'x/y',
      size: 1,
      extension: 'bin',
    });
    assert.equal(
      (await api(fake, 'POST', '/s3/multipart/abort', { key: abort.json.key, uploadId: abort.json.uploadId }))
        .status,
      200,
    );
    assert.equal(fake.state.multipart.size, 0);
  });
});

test('download: redirect with Range, stream mode ignoring Range, zip for trashed entries', T, async () => {
  await withFake(async (fake) => {
    const up = await uploadForm(fake, 'd.txt', Buffer.from('0123456789'));
    const hash = up.json.fileEntry.hash;
    const r = await api(fake, 'GET', `/file-entries/download/${hash}`);
    assert.equal(r.status, 302);
    const loc = r.headers.get('location')!;
    const ranged = await fetch(loc, { headers: { range: 'bytes=2-5' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), 'bytes 2-5/10');
    assert.equal(await ranged.text(), '2345');
    fake.state.options.rangeSupport = false;
    const full = await fetch(loc, { headers: { range: 'bytes=2-5' } });
    assert.equal(full.status, 200);
    assert.equal(await full.text(), '0123456789');
    fake.state.options.download = 'stream';
    const s = await fetch(`${fake.apiUrl}/file-entries/download/${hash}`, {
      headers: { authorization: `Bearer ${fake.token}`, range: 'bytes=2-5' },
    });
    assert.equal(s.status, 200);
    assert.equal(await s.text(), '0123456789');
    assert.equal((await api(fake, 'GET', `/file-entries/download/${encodeEntryHash(5)}`)).status, 404);
    await api(fake, 'POST', '/file-entries/delete', {
      entryIds: [up.json.fileEntry.id],
      deleteForever: false,
    });
    const z = await fetch(`${fake.apiUrl}/file-entries/download/${hash}`, {
      headers: { authorization: `Bearer ${fake.token}` },
    });
    assert.equal(z.headers.get('content-type'), 'application/zip');
  });
});

test(
  'delete (trash vs forever, default forever), duplicate " - Copy", rename via _method=PUT',
  T,
  async () => {
    await withFake(async (fake) => {
      const a = await uploadForm(fake, 'a.txt', Buffer.from('A'));
      const b = await uploadForm(fake, 'b.txt', Buffer.from('B'));
      assert.equal(
        (
          await api(fake, 'POST', '/file-entries/delete', {
            entryIds: [a.json.fileEntry.id],
            deleteForever: false,
          })
        ).status,
        200,
      );
      assert.equal(fake.state.entries.get(a.json.fileEntry.id)!.deletedAt !== null, true);
      const trash = await api(fake, 'GET', '/drive/file-entries?deletedOnly=true');
      assert.deepEqual(names(trash), ['a.txt']);
      assert.equal(
        (await api(fake, 'POST', '/file-entries/delete', { entryIds: [b.json.fileEntry.id] })).status,
        200,
      );
      assert.equal(fake.state.entries.has(b.json.fileEntry.id), false);
      assert.equal((await api(fake, 'POST', '/file-entries/delete', { entryIds: [123] })).status, 422);
      const c = await uploadForm(fake, 'c.txt', Buffer.from('C'));
      const dup = await api(fake, 'POST', '/file-entries/duplicate', { entryIds: [c.json.fileEntry.id] });
      assert.equal(dup.json.entries[0]!.name, 'c.txt - Copy');
      assert.notEqual(dup.json.entries[0]!.file_name, c.json.fileEntry.file_name);
      const ren = await api(fake, 'POST', `/file-entries/${dup.json.entries[0]!.id}?_method=PUT`, {
        name: 'd.txt',
      });
      assert.equal(ren.status, 200);
      assert.equal(ren.json.fileEntry.name, 'd.txt');
      assert.deepEqual([...fake.state.files(0).keys()].sort(), ['c.txt', 'd.txt']);
      assert.equal(fake.state.blobOf(fake.state.entries.get(ren.json.fileEntry.id)!)!.toString(), 'C');
    });
  },
);

test('faults: 429 with Retry-After, after-phase faults keep the effect, HTML pages, resets', T, async () => {
  await withFake(async (fake) => {
    fake.faults.add({ match: /cli\/loggedUser/, kind: 'status', status: 429, retryAfter: '7' });
    const r = await api(fake, 'GET', '/cli/loggedUser');
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '7');
    assert.equal((await api(fake, 'GET', '/cli/loggedUser')).status, 200);
    fake.faults.add({ match: /^POST \/api\/v1\/folders$/, kind: 'status', status: 500, phase: 'after' });
    assert.equal((await api(fake, 'POST', '/folders', { name: 'made', workspaceId: 0 })).status, 500);
    assert.deepEqual(fake.state.folders(0), ['made/']);
    fake.faults.add({ kind: 'html' });
    const h = await api(fake, 'GET', '/drive/file-entries');
    assert.equal(h.status, 200);
    assert.match(h.text, /^<!DOCTYPE html>/);
    fake.faults.add({ kind: 'reset' });
    await assert.rejects(api(fake, 'GET', '/drive/file-entries'));
    fake.faults.add({ match: /uploads/, kind: 'users-empty', phase: 'after' });
    const u = await uploadForm(fake, 'u.txt', Buffer.from('u'));
    assert.deepEqual(u.json.fileEntry.users, []);
    assert.equal(fake.faults.pending(), 0);
    assert.equal(fake.faults.fired.length, 5);
  });
});
