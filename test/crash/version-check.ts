/**
 * The checks of the versioned crash loop (versioning-crash.test.ts), run after every restart, over
 * HTTP and on disk, against the model (version-model.ts), which they reconcile with the operations
 * cut by the kill:
 *
 *  - no temp file left in `.s3local/tmp`, no intent left in the write journal;
 *  - per key, ListObjectVersions gives exactly the acknowledged chain (newest first), plus the
 *    operation cut by the kill either fully applied or not at all; exactly one IsLatest per key;
 *  - object lock: GetObjectRetention / GetObjectLegalHold of every version give its acknowledged
 *    lock (a change cut by the kill: before or after), GET answers the same lock headers, and a
 *    DELETE ?versionId of every locked version answers AccessDenied;
 *  - every listed version reads back by versionId with bytes whose MD5 is the model's, its ETag
 *    and size; GET without versionId answers the latest version, or 404 (with
 *    x-amz-delete-marker) when the latest is a delete marker;
 *  - multipart uploads: every acknowledged Create is listed with exactly its acknowledged parts
 *    (a part cut by the kill: there or not); an acknowledged Complete's upload is gone; a cut
 *    Complete either made its version or left its upload whole; `.s3local/uploads/` holds exactly
 *    the part files of the uploads' rows;
 *  - the plain file at the key's path exists iff the latest is a version, holds its bytes and is
 *    the objects row's path; no file below the bucket belongs to no current version;
 *  - the key's version directory holds exactly `<seq>.json` of every version, `<seq>.data` of
 *    every noncurrent object version (its size), and no `.data` for the current version; no
 *    version directory of an unknown key.
 */
import assert from 'node:assert/strict';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join, relative, sep } from 'node:path';
import Database from 'better-sqlite3';
import { candidatePaths, pathToKey } from '../../src/storage/local/key-path.js';
import { versionDir } from '../../src/storage/local/version-records.js';
import { encodeKey, headerOf, md5, send, walk, xmlField, type Reply } from './crash-kit.js';
import {
  applied,
  countCut,
  isLocked,
  normalLock,
  reconcile,
  same,
  sameLock,
  type BucketModel,
  type Entry,
  type KeyState,
  type Lock,
  type Status,
} from './version-model.js';

type Listed = Entry & { key: string; latest: boolean };

/** Every entry of ListObjectVersions, following key-marker / version-id-marker pages. */
async function listVersions(agent: Agent, port: number, bucket: string, maxKeys: number): Promise<Listed[]> {
  const out: Listed[] = [];
  let marker = '';
  for (let page = 0; page < 1000; page++) {
    const res = await send(agent, port, 'GET', `/${bucket}?versions&max-keys=${maxKeys}${marker}`);
    assert.equal(res.status, 200, `ListObjectVersions: ${res.status} ${res.body}`);
    for (const m of res.body.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)) {
      const xml = m[2]!;
      const isMarker = m[1] === 'DeleteMarker';
      out.push({
        key: xmlField(xml, 'Key') ?? '',
        id: xmlField(xml, 'VersionId') ?? '',
        latest: xmlField(xml, 'IsLatest') === 'true',
        marker: isMarker,
        etag: isMarker ? '' : (xmlField(xml, 'ETag') ?? '').replace(/"/g, ''),
        md5: '',
        size: isMarker ? 0 : Number(xmlField(xml, 'Size')),
      });
    }
    if (xmlField(res.body, 'IsTruncated') !== 'true') return out;
    const key = xmlField(res.body, 'NextKeyMarker');
    const id = xmlField(res.body, 'NextVersionIdMarker');
    assert.ok(key !== undefined, 'a truncated ListObjectVersions page has a NextKeyMarker');
    marker =
      `&key-marker=${encodeURIComponent(key)}` + (id ? `&version-id-marker=${encodeURIComponent(id)}` : '');
  }
  assert.fail('ListObjectVersions did not end in 1,000 pages');
}

/** The lock of a version from GetObjectRetention and GetObjectLegalHold (404: none set). */
async function readLock(
  agent: Agent,
  port: number,
  path: string,
  id: string,
  what: string,
): Promise<Lock | undefined> {
  const lock: Lock = {};
  const ret = await send(agent, port, 'GET', `${path}?retention&versionId=${id}`);
  if (ret.status === 200) {
    const mode = xmlField(ret.body, 'Mode');
    assert.ok(mode === 'GOVERNANCE' || mode === 'COMPLIANCE', `${what}: retention mode ${ret.body}`);
    lock.mode = mode;
    lock.until = Date.parse(xmlField(ret.body, 'RetainUntilDate') ?? '');
  } else {
    assert.equal(ret.status, 404, `${what}: GetObjectRetention ${ret.status} ${ret.body}`);
    assert.equal(xmlField(ret.body, 'Code'), 'NoSuchObjectLockConfiguration', `${what}: ${ret.body}`);
  }
  const hold = await send(agent, port, 'GET', `${path}?legal-hold&versionId=${id}`);
  if (hold.status === 200) {
    const status = xmlField(hold.body, 'Status');
    assert.ok(status === 'ON' || status === 'OFF', `${what}: legal hold ${hold.body}`);
    lock.hold = status === 'ON';
  } else {
    assert.equal(hold.status, 404, `${what}: GetObjectLegalHold ${hold.status} ${hold.body}`);
    assert.equal(xmlField(hold.body, 'Code'), 'NoSuchObjectLockConfiguration', `${what}: ${hold.body}`);
  }
  return normalLock(lock);
}

/** The lock a GET answered in its x-amz-object-lock-* headers. */
function lockOfHeaders(res: Reply): Lock | undefined {
  const mode = headerOf(res, 'x-amz-object-lock-mode');
  const until = headerOf(res, 'x-amz-object-lock-retain-until-date');
  const hold = headerOf(res, 'x-amz-object-lock-legal-hold');
  return normalLock({
    ...(mode === 'GOVERNANCE' || mode === 'COMPLIANCE' ? { mode } : {}),
    ...(until !== undefined ? { until: Date.parse(until) } : {}),
    ...(hold !== undefined ? { hold: hold === 'ON' } : {}),
  });
}

/** The open uploads of the bucket and each one's parts (md5, size), over HTTP. */
async function listUploads(
  agent: Agent,
  port: number,
  bucket: string,
): Promise<Array<{ key: string; id: string; parts: string[] }>> {
  const res = await send(agent, port, 'GET', `/${bucket}?uploads`);
  assert.equal(res.status, 200, `ListMultipartUploads: ${res.status} ${res.body}`);
  assert.notEqual(xmlField(res.body, 'IsTruncated'), 'true', 'ListMultipartUploads: one page');
  const out = [];
  for (const m of res.body.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)) {
    const key = xmlField(m[1]!, 'Key') ?? '';
    const id = xmlField(m[1]!, 'UploadId') ?? '';
    const parts = await send(
      agent,
      port,
      'GET',
      `/${bucket}/${encodeKey(key)}?uploadId=${encodeURIComponent(id)}`,
    );
    assert.equal(parts.status, 200, `ListParts ${key} ${id}: ${parts.status} ${parts.body}`);
    const list = [...parts.body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((p, i) => {
      assert.equal(xmlField(p[1]!, 'PartNumber'), String(i + 1), `ListParts ${key} ${id}: part numbers`);
      return `${(xmlField(p[1]!, 'ETag') ?? '').replace(/"/g, '')}/${xmlField(p[1]!, 'Size')}`;
    });
    out.push({ key, id, parts: list });
  }
  return out;
}

/**
 * The key's upload after the restart (`completed`: its cut Complete made the version): an
 * acknowledged upload is listed with its parts (a cut part: there or not); a cut Create may have
 * made an upload (adopted, no parts) or not; a Complete that made its version may have left the
 * upload (its parts whole) or not.
 */
function reconcileUpload(
  key: string,
  st: KeyState,
  listed: Array<{ id: string; parts: string[] }>,
  completed: boolean,
  where: string,
): void {
  const u = st.upload;
  const sig = (parts: Buffer[]) => parts.map((p) => `${md5(p)}/${p.length}`);
  const what = `${where}: ${key} uploads ${JSON.stringify(listed)}, model ${u?.id ?? (u ? 'created?' : 'none')}`;
  if (u === undefined) {
    assert.equal(listed.length, 0, what);
    return;
  }
  if (u.id === undefined) {
    assert.ok(listed.length <= 1 && (listed[0]?.parts.length ?? 0) === 0, what);
    countCut('create', listed[0] !== undefined);
    if (listed[0] === undefined) delete st.upload;
    else st.upload = { id: listed[0].id, parts: [], completing: false, ...(u.lock ? { lock: u.lock } : {}) };
    return;
  }
  const found = listed.find((l) => l.id === u.id);
  assert.equal(listed.length, found ? 1 : 0, what);
  // A Complete cut after it made the version: its upload removed too (applied), or left whole.
  if (u.completing && completed) countCut('upload removal after Complete', found === undefined);
  if (found === undefined) {
    assert.ok(u.completing && completed, `${what}: the upload is gone, its Complete was not applied`);
    delete st.upload;
    return;
  }
  const acked = sig(u.parts);
  const withPending = u.pendingPart ? [...acked, ...sig([u.pendingPart])] : acked;
  if (u.pendingPart && JSON.stringify(found.parts) === JSON.stringify(withPending)) {
    u.parts.push(u.pendingPart);
    countCut('part', true);
  } else {
    assert.deepEqual(found.parts, acked, `${what}: parts`);
    if (u.pendingPart) countCut('part', false);
  }
  delete u.pendingPart;
  u.completing = false;
}

/** The listing, the locks, the uploads, every version's bytes and the key GETs, then the files. */
export async function checkStore(
  dir: string,
  port: number,
  buckets: readonly BucketModel[],
  opts: { pageSize: number; indexRebuilt: boolean },
  where: string,
): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    assert.deepEqual(await readdir(join(dir, '.s3local', 'tmp')), [], `${where}: temp files left`);
    for (const b of buckets) await checkBucket(agent, port, b, opts, where);
  } finally {
    agent.destroy();
  }
  for (const b of buckets) await checkFiles(dir, b, where);
  await checkStaging(dir, where);
}

async function checkBucket(
  agent: Agent,
  port: number,
  b: BucketModel,
  opts: { pageSize: number; indexRebuilt: boolean },
  where: string,
): Promise<void> {
  // The bucket's status: the acknowledged one, or the toggle cut by the kill.
  const v = await send(agent, port, 'GET', `/${b.name}?versioning`);
  const status = xmlField(v.body, 'Status');
  const allowed = [b.status, ...(b.pendingStatus ? [b.pendingStatus] : [])];
  assert.ok(
    allowed.includes(status as Status),
    `${where}: ${b.name} versioning ${status}, expected ${allowed.join('|')}`,
  );
  b.status = status as Status;
  delete b.pendingStatus;

  // The listing (and the locks) against the model.
  const listed = await listVersions(agent, port, b.name, opts.pageSize);
  const byKey = new Map<string, Listed[]>();
  let prev = '';
  for (const e of listed) {
    assert.ok(b.keys.has(e.key), `${where}: listed key ${b.name}/${e.key} was never written`);
    assert.ok(Buffer.compare(Buffer.from(prev), Buffer.from(e.key)) <= 0, `${where}: listing order`);
    prev = e.key;
    byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  }
  const uploads = await listUploads(agent, port, b.name);
  for (const u of uploads) assert.ok(b.keys.has(u.key), `${where}: upload of unknown key ${b.name}/${u.key}`);
  for (const [key, st] of b.keys) {
    const path = `/${b.name}/${encodeKey(key)}`;
    const got = byKey.get(key) ?? [];
    if (got.length > 0) {
      assert.deepEqual(
        got.map((e) => e.latest),
        got.map((_, i) => i === 0),
        `${where}: ${b.name}/${key} must have exactly one IsLatest, its newest`,
      );
    }
    const chain: Entry[] = [];
    for (const { id, marker, etag, md5: m, size } of got) {
      const e: Entry = { id, marker, etag, md5: m, size };
      if (b.objectLock && !marker) {
        const lock = await readLock(agent, port, path, id, `${where}: ${b.name}/${key} ${id}`);
        if (lock) e.lock = lock;
      }
      chain.push(e);
    }
    const op = st.pending;
    const r = reconcile(`${b.name}/${key}`, st, chain, where, opts.indexRebuilt);
    // A null version replacing an identical one (a Complete retried while suspended) lists the same.
    const completed =
      r.wasApplied || (op?.kind === 'put' && op.nullMode && same(r.chain, applied(r.chain, op)));
    st.chain = r.chain;
    reconcileUpload(
      `${b.name}/${key}`,
      st,
      uploads.filter((u) => u.key === key),
      completed,
      where,
    );
    delete st.pending;
    st.busy = false;
  }

  // Every version reads back whole, with its lock; a locked one cannot be deleted; the key itself
  // answers its latest version.
  for (const [key, st] of b.keys) {
    const path = `/${b.name}/${encodeKey(key)}`;
    const name = `${b.name}/${key}`;
    for (const e of st.chain) {
      const res = await send(agent, port, 'GET', `${path}?versionId=${e.id}`);
      if (e.marker) {
        assert.equal(res.status, 405, `${where}: GET delete marker ${name} ${e.id}: ${res.status}`);
        continue;
      }
      assert.equal(res.status, 200, `${where}: GET ${name} ${e.id}: ${res.status} ${res.body}`);
      assert.equal(res.bytes.length, e.size, `${where}: ${name} ${e.id} size`);
      assert.equal(md5(res.bytes), e.md5, `${where}: ${name} ${e.id} is torn (MD5 differs)`);
      assert.equal(res.headers.etag, `"${e.etag}"`, `${where}: ${name} ${e.id} ETag header`);
      assert.equal(headerOf(res, 'x-amz-version-id'), e.id, `${where}: ${name} ${e.id} x-amz-version-id`);
      assert.ok(
        sameLock(lockOfHeaders(res), e.lock),
        `${where}: ${name} ${e.id} lock headers ${JSON.stringify(res.headers)}`,
      );
      if (isLocked(e.lock)) {
        const del = await send(agent, port, 'DELETE', `${path}?versionId=${e.id}`);
        assert.equal(
          del.status,
          403,
          `${where}: DELETE of locked ${name} ${e.id}: ${del.status} ${del.body}`,
        );
        assert.equal(
          xmlField(del.body, 'Code'),
          'AccessDenied',
          `${where}: DELETE of locked ${name} ${e.id}`,
        );
      }
    }
    const latest = st.chain[0];
    const res = await send(agent, port, 'GET', path);
    if (latest === undefined || latest.marker) {
      assert.equal(res.status, 404, `${where}: GET ${name} (latest ${latest?.id ?? 'none'}): ${res.status}`);
      const dm = headerOf(res, 'x-amz-delete-marker');
      assert.equal(dm, latest ? 'true' : undefined, `${where}: GET ${name} x-amz-delete-marker`);
    } else {
      assert.equal(res.status, 200, `${where}: GET ${name}: ${res.status}`);
      assert.equal(md5(res.bytes), latest.md5, `${where}: GET ${name} is not its latest version`);
      assert.equal(headerOf(res, 'x-amz-version-id'), latest.id, `${where}: GET ${name} x-amz-version-id`);
    }
  }
}

interface CurrentRow {
  key: string;
  path: string;
  etag: string;
  version: string | null;
}

/** The journal, the plain files and the version directories against the (reconciled) model. */
async function checkFiles(dir: string, b: BucketModel, where: string): Promise<void> {
  const db = new Database(join(dir, '.s3local', 'index.sqlite'), { readonly: true });
  let rows: CurrentRow[];
  let noncurrent: Array<{ key: string; seq: number; record: string }>;
  try {
    const journal = db.prepare('SELECT COUNT(*) FROM write_journal').pluck().get() as number;
    assert.equal(journal, 0, `${where}: intents left in the journal`);
    rows = db
      .prepare('SELECT key, path, etag, version FROM objects WHERE bucket = ? ORDER BY key')
      .all(b.name) as CurrentRow[];
    noncurrent = db
      .prepare('SELECT key, seq, record FROM object_versions WHERE bucket = ? ORDER BY key, seq DESC')
      .all(b.name) as typeof noncurrent;
  } finally {
    db.close();
  }
  const rowOf = new Map(rows.map((r) => [r.key, r]));
  const bucketDir = join(dir, b.name);
  const meta = join(dir, '.s3local');
  for (const [key, st] of b.keys) {
    const name = `${b.name}/${key}`;
    const latest = st.chain[0];
    const row = rowOf.get(key);
    // The plain file: there iff the latest is a version, with its bytes, at the row's path.
    const plain: string[] = [];
    for (const p of candidatePaths(key)) {
      if ((await lstat(join(bucketDir, p)).catch(() => undefined))?.isFile()) plain.push(p);
    }
    const isCurrent = latest !== undefined && !latest.marker;
    assert.equal(
      row !== undefined,
      isCurrent,
      `${where}: ${name} objects row, latest ${latest?.id ?? 'none'}`,
    );
    assert.deepEqual(
      plain,
      row ? [row.path] : [],
      `${where}: ${name} plain files, latest ${latest?.id ?? 'none'}`,
    );
    if (row !== undefined && latest !== undefined) {
      const bytes = await readFile(join(bucketDir, row.path));
      assert.equal(md5(bytes), latest.md5, `${where}: the plain file of ${name} is not its latest version`);
      assert.equal(row.etag, latest.etag, `${where}: ${name} row ETag`);
    }
    // The version directory: a record per version, data per noncurrent object version only.
    const expected = new Map<string, number | undefined>();
    const current = row?.version ? (JSON.parse(row.version) as { id: string; seq: number }) : undefined;
    if (current !== undefined) {
      assert.equal(current.id, latest?.id, `${where}: ${name} current version id in the index`);
      expected.set(`${current.seq}.json`, undefined);
    }
    for (const nc of noncurrent.filter((n) => n.key === key)) {
      const rec = JSON.parse(nc.record) as { versionId: string; deleteMarker: boolean; size: number };
      expected.set(`${nc.seq}.json`, undefined);
      if (!rec.deleteMarker) expected.set(`${nc.seq}.data`, rec.size);
    }
    const vdir = versionDir(meta, b.name, key);
    const names = (await readdir(vdir).catch(() => [] as string[])).sort();
    assert.deepEqual(names, [...expected.keys()].sort(), `${where}: ${name} version directory`);
    for (const [file, size] of expected) {
      if (size !== undefined) {
        assert.equal((await stat(join(vdir, file))).size, size, `${where}: ${name} ${file} size`);
      } else {
        const rec = JSON.parse(await readFile(join(vdir, file), 'utf8')) as Record<string, unknown>;
        const listed = rec.key === key && st.chain.some((e) => e.id === rec.versionId);
        assert.ok(listed, `${where}: ${name} ${file} is not a listed version of the key`);
      }
    }
    if (current !== undefined) {
      assert.ok(!names.includes(`${current.seq}.data`), `${where}: ${name} current version has a .data file`);
    }
  }
  // Nothing else: every file below the bucket is a current version, every version dir a key's.
  for (const rel of await walk(bucketDir)) {
    const key = pathToKey(rel);
    assert.ok(key !== undefined && rowOf.get(key)?.path === rel, `${where}: stray file ${b.name}/${rel}`);
  }
  const known = new Set([...b.keys.keys()].map((k) => versionDir(meta, b.name, k)));
  const versionsRoot = join(meta, 'versions', b.name);
  for (const rel of await walk(versionsRoot).catch(() => [] as string[])) {
    const parent = join(versionsRoot, rel.split('/').slice(0, -1).join(sep));
    assert.ok(known.has(parent), `${where}: ${relative(meta, join(versionsRoot, rel))} belongs to no key`);
  }
}

/** `.s3local/uploads/`: one directory per upload row, holding exactly its parts' files. */
async function checkStaging(dir: string, where: string): Promise<void> {
  const db = new Database(join(dir, '.s3local', 'index.sqlite'), { readonly: true });
  let ids: string[];
  let parts: Array<{ id: string; file: string }>;
  try {
    ids = db.prepare('SELECT upload_id FROM multipart_uploads').pluck().all() as string[];
    parts = db.prepare('SELECT upload_id AS id, file FROM multipart_parts').all() as typeof parts;
  } finally {
    db.close();
  }
  const staging = join(dir, '.s3local', 'uploads');
  assert.deepEqual((await readdir(staging)).sort(), [...ids].sort(), `${where}: upload directories`);
  for (const id of ids) {
    const files = parts.filter((p) => p.id === id).map((p) => p.file);
    assert.deepEqual(
      (await readdir(join(staging, id))).sort(),
      files.sort(),
      `${where}: files of upload ${id}`,
    );
  }
}
