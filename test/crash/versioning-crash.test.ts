/**
 * Crash safety of versioning against a REAL `s3local serve` process: versioned PUT, DELETE
 * (delete marker), DELETE ?versionId (permanent) and the occasional Suspended <-> Enabled toggle
 * (null versions replacing each other) run concurrently over plain HTTP on nested keys (`a`,
 * `a/b`, `a/b/c`, `d/`, `d//e` ...); the server is killed with SIGKILL at a random moment,
 * sometimes killed again while it starts (recovery interrupted), restarted, and the store is
 * checked against a model of the acknowledged operations:
 *
 *  - no temp file left in `.s3local/tmp`, no intent left in the write journal;
 *  - per key, ListObjectVersions gives exactly the acknowledged chain (newest first), plus the
 *    operation cut by the kill either fully applied or not at all; exactly one IsLatest per key;
 *  - every listed version reads back by versionId with bytes whose MD5 is its ETag and whose size
 *    is its Size; GET without versionId answers the latest version, or 404 (with
 *    x-amz-delete-marker) when the latest is a delete marker;
 *  - the plain file at the key's path exists iff the latest is a version, holds its bytes and is
 *    the objects row's path; no file below the bucket belongs to no current version;
 *  - the key's version directory holds exactly `<seq>.json` of every version, `<seq>.data` of
 *    every noncurrent object version (its size), and no `.data` for the current version; no
 *    version directory of an unknown key.
 *
 * 30+ iterations, bounded in time; the seed is printed for replay. Never spawnSync here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { candidatePaths, pathToKey } from '../../src/storage/local/key-path.js';
import { versionDir } from '../../src/storage/local/version-records.js';
import {
  encodeKey,
  headerOf,
  killed,
  md5,
  prng,
  send,
  start,
  walk,
  xmlField,
  type Reply,
} from './crash-kit.js';

const ITERATIONS = 50;
const BUDGET_MS = 90_000; // stop starting new iterations after this (the test deadline is 170 s)
const MIN_ITERATIONS = 30;
const BUCKET = 'vcrash';
const KEYS = ['a', 'a/b', 'a/b/c', 'd/', 'd//e', 'f', 'g/h', 'x0', 'x1', 'x2'];
const MiB = 1024 * 1024;
const SERVE_ARGS = ['--allow-bucket-creation'];
const VERSION_ID = /^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/;

type Status = 'Enabled' | 'Suspended';

/** One version of a key as the model and the listing see it (etag '' and size 0 for markers). */
interface Entry {
  id: string;
  marker: boolean;
  etag: string;
  size: number;
}

/** The operation on a key that was sent but not acknowledged when the kill came. */
type Pending =
  | { kind: 'put'; etag: string; size: number; nullMode: boolean }
  | { kind: 'marker'; nullMode: boolean }
  | { kind: 'remove'; id: string };

interface KeyState {
  /** Acknowledged versions, newest first. */
  chain: Entry[];
  pending?: Pending;
  busy: boolean;
}

interface Model {
  keys: Map<string, KeyState>;
  status: Status;
  /** A versioning toggle sent but not acknowledged. */
  pendingStatus?: Status;
}

/** The chain after `op`; `id` names the new version when it is not a null one. */
function applied(chain: Entry[], op: Pending, id = 'null'): Entry[] {
  if (op.kind === 'remove') return chain.filter((e) => e.id !== op.id);
  const entry: Entry =
    op.kind === 'put'
      ? { id: op.nullMode ? 'null' : id, marker: false, etag: op.etag, size: op.size }
      : { id: op.nullMode ? 'null' : id, marker: true, etag: '', size: 0 };
  // A version written while versioning is suspended replaces the null version (AWS, "Adding
  // objects to versioning-suspended buckets"; the same for delete markers).
  return [entry, ...(op.nullMode ? chain.filter((e) => e.id !== 'null') : chain)];
}

function show(chain: Entry[]): string {
  return chain.map((e) => (e.marker ? `${e.id}:DM` : `${e.id}:${e.etag.slice(0, 8)}/${e.size}`)).join(', ');
}

// ---- the load ------------------------------------------------------------------------------

/** The operations of the current iteration, printed when its check fails. */
let opLog: string[] = [];

class Load {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  stopped = false;
  ops = 0;
  toggles = 0;
  #active = 0;
  #gate: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  constructor(
    readonly port: number,
    readonly model: Model,
    readonly random: () => number,
  ) {}

  #path(key: string, query = ''): string {
    return `/${BUCKET}/${encodeKey(key)}${query}`;
  }

  async #op(): Promise<void> {
    const r = this.random();
    if (r < 0.03) return this.#toggle();
    // Key operations wait while a toggle is on its way, so each knows the status it runs under.
    while (this.#gate !== undefined) await this.#gate;
    if (this.stopped) return;
    // A key whose operation the kill cut keeps it as `pending` until the check: never pick it.
    const free = KEYS.filter((k) => {
      const st = this.model.keys.get(k)!;
      return !st.busy && st.pending === undefined;
    });
    if (free.length === 0) return;
    const key = free[Math.floor(this.random() * free.length)]!;
    const st = this.model.keys.get(key)!;
    st.busy = true;
    this.#active++;
    try {
      if (r < 0.47 || st.chain.length === 0) await this.#write(key, st, false);
      else if (r < 0.65) await this.#write(key, st, true);
      else await this.#remove(key, st);
    } finally {
      st.busy = false;
      if (--this.#active === 0) this.#idle?.();
    }
  }

  /** PUT of random bytes (`marker` false) or DELETE without version id (a delete marker). */
  async #write(key: string, st: KeyState, marker: boolean): Promise<void> {
    const nullMode = this.model.status === 'Suspended';
    const size = marker || this.random() < 0.2 ? 0 : Math.floor(this.random() ** 3 * MiB);
    const body = randomBytes(size);
    const op: Pending = marker
      ? { kind: 'marker', nullMode }
      : { kind: 'put', etag: md5(body), size, nullMode };
    const what = `${marker ? 'DELETE' : 'PUT'} ${key}${nullMode ? ' (suspended)' : ''}`;
    st.pending = op;
    opLog.push(op.kind === 'put' ? `${what} ${op.etag.slice(0, 8)}/${size}` : what);
    const res = await send(this.agent, this.port, marker ? 'DELETE' : 'PUT', this.#path(key), body);
    assert.equal(res.status, marker ? 204 : 200, `${what}: ${res.status} ${res.body}`);
    if (op.kind === 'put') assert.equal(res.headers.etag, `"${op.etag}"`, `${what}: ETag`);
    else assert.equal(headerOf(res, 'x-amz-delete-marker'), 'true', `${what}: x-amz-delete-marker`);
    const id = headerOf(res, 'x-amz-version-id');
    // A suspended PUT may leave out the id of the null version it wrote; a delete marker names it.
    if (nullMode) assert.ok(id === 'null' || (id === undefined && !marker), `${what}: version id ${id}`);
    else assert.ok(id !== undefined && VERSION_ID.test(id), `${what}: version id ${id}`);
    opLog.push(`  ok ${what} -> ${id}`);
    st.chain = applied(st.chain, op, id);
    delete st.pending;
  }

  async #remove(key: string, st: KeyState): Promise<void> {
    // Keep chains short (every check reads every version): long ones lose their oldest.
    const at = st.chain.length > 5 ? st.chain.length - 1 : Math.floor(this.random() * st.chain.length);
    const victim = st.chain[at]!;
    const op: Pending = { kind: 'remove', id: victim.id };
    st.pending = op;
    opLog.push(`DELETE ${key} ?versionId=${victim.id}`);
    const res = await send(this.agent, this.port, 'DELETE', this.#path(key, `?versionId=${victim.id}`));
    assert.equal(res.status, 204, `DELETE ${key} version ${victim.id}: ${res.status} ${res.body}`);
    assert.equal(headerOf(res, 'x-amz-version-id'), victim.id, `DELETE ${key} version: x-amz-version-id`);
    assert.equal(
      headerOf(res, 'x-amz-delete-marker'),
      victim.marker ? 'true' : undefined,
      `DELETE ${key} version ${victim.id}: x-amz-delete-marker`,
    );
    opLog.push(`  ok DELETE ${key} ?versionId=${victim.id}`);
    st.chain = applied(st.chain, op);
    delete st.pending;
  }

  /** Flips Enabled <-> Suspended once no key operation is in flight (none starts meanwhile). */
  async #toggle(): Promise<void> {
    if (this.#gate !== undefined) return;
    let open!: () => void;
    this.#gate = new Promise((r) => (open = r));
    try {
      if (this.#active > 0) await new Promise<void>((r) => (this.#idle = r));
      this.#idle = undefined;
      if (this.stopped) return;
      const next: Status = this.model.status === 'Enabled' ? 'Suspended' : 'Enabled';
      this.model.pendingStatus = next;
      opLog.push(`PUT ?versioning ${next}`);
      const res = await setVersioning(this.agent, this.port, next);
      assert.equal(res.status, 200, `PUT ?versioning ${next}: ${res.status} ${res.body}`);
      opLog.push(`  ok PUT ?versioning ${next}`);
      this.model.status = next;
      delete this.model.pendingStatus;
      this.toggles++;
    } finally {
      this.#gate = undefined;
      open();
    }
  }

  /** Workers loop until the server dies under them; a request cut by the kill ends the worker. */
  run(workers: number): Promise<void> {
    const worker = async () => {
      while (!this.stopped) {
        try {
          await this.#op();
          this.ops++;
        } catch (err) {
          if (err instanceof assert.AssertionError || !this.stopped) throw err;
          return; // cut by the kill
        }
        await new Promise((r) => setImmediate(r));
      }
    };
    return Promise.all(Array.from({ length: workers }, worker)).then(() => undefined);
  }
}

function setVersioning(agent: Agent, port: number, status: Status): Promise<Reply> {
  const xml = `<VersioningConfiguration><Status>${status}</Status></VersioningConfiguration>`;
  return send(agent, port, 'PUT', `/${BUCKET}?versioning`, Buffer.from(xml));
}

// ---- reading the listing -------------------------------------------------------------------

type Listed = Entry & { key: string; latest: boolean };

/** Every entry of ListObjectVersions, following key-marker / version-id-marker pages. */
async function listVersions(agent: Agent, port: number, maxKeys: number): Promise<Listed[]> {
  const out: Listed[] = [];
  let marker = '';
  for (let page = 0; page < 1000; page++) {
    const res = await send(agent, port, 'GET', `/${BUCKET}?versions&max-keys=${maxKeys}${marker}`);
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

// ---- the invariants ------------------------------------------------------------------------

function same(a: Entry[], b: Entry[]): boolean {
  const sig = (c: Entry[]) => c.map((e) => `${e.id}|${e.marker}|${e.etag}|${e.size}`).join(',');
  return sig(a) === sig(b);
}

/** What the operations cut by the kills turned out to be. */
const cut = { applied: 0, notApplied: 0 };

/** The acknowledged chain, or the chain with the operation cut by the kill applied, or a failure. */
function reconcile(key: string, st: KeyState, got: Entry[], where: string): Entry[] {
  const op = st.pending;
  if (same(got, st.chain)) {
    if (op !== undefined) cut.notApplied++;
    return got;
  }
  if (op !== undefined) {
    const fresh = op.kind !== 'remove' && !op.nullMode ? got[0]?.id : undefined;
    const fits = fresh === undefined || (VERSION_ID.test(fresh) && !st.chain.some((e) => e.id === fresh));
    if (fits && same(got, applied(st.chain, op, fresh))) {
      cut.applied++;
      return got;
    }
  }
  assert.fail(
    `${where}: ${key} lists [${show(got)}]\n  acknowledged [${show(st.chain)}]` +
      (op ? `\n  in flight ${JSON.stringify(op)}` : ''),
  );
}

interface CurrentRow {
  key: string;
  path: string;
  etag: string;
  version: string | null;
}

/** The listing, every version's bytes and the key GETs, then {@link checkFiles}. */
async function checkStore(
  dir: string,
  port: number,
  model: Model,
  pageSize: number,
  where: string,
): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  try {
    assert.deepEqual(await readdir(join(dir, '.s3local', 'tmp')), [], `${where}: temp files left`);

    // The bucket's status: the acknowledged one, or the toggle cut by the kill.
    const v = await send(agent, port, 'GET', `/${BUCKET}?versioning`);
    const status = xmlField(v.body, 'Status');
    const allowed = [model.status, ...(model.pendingStatus ? [model.pendingStatus] : [])];
    assert.ok(
      allowed.includes(status as Status),
      `${where}: versioning ${status}, expected ${allowed.join('|')}`,
    );
    model.status = status as Status;
    delete model.pendingStatus;

    // The listing against the model.
    const listed = await listVersions(agent, port, pageSize);
    const byKey = new Map<string, Listed[]>();
    let prev = '';
    for (const e of listed) {
      assert.ok(model.keys.has(e.key), `${where}: listed key ${e.key} was never written`);
      assert.ok(Buffer.compare(Buffer.from(prev), Buffer.from(e.key)) <= 0, `${where}: listing order`);
      prev = e.key;
      byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    }
    for (const [key, st] of model.keys) {
      const got = byKey.get(key) ?? [];
      if (got.length > 0) {
        assert.deepEqual(
          got.map((e) => e.latest),
          got.map((_, i) => i === 0),
          `${where}: ${key} must have exactly one IsLatest, its newest`,
        );
      }
      st.chain = reconcile(
        key,
        st,
        got.map(({ id, marker, etag, size }) => ({ id, marker, etag, size })),
        where,
      );
      delete st.pending;
      st.busy = false;
    }

    // Every version reads back whole; the key itself answers its latest version.
    for (const [key, st] of model.keys) {
      for (const e of st.chain) {
        const res = await send(agent, port, 'GET', `/${BUCKET}/${encodeKey(key)}?versionId=${e.id}`);
        if (e.marker) {
          assert.equal(res.status, 405, `${where}: GET delete marker ${key} ${e.id}: ${res.status}`);
          continue;
        }
        assert.equal(res.status, 200, `${where}: GET ${key} ${e.id}: ${res.status} ${res.body}`);
        assert.equal(res.bytes.length, e.size, `${where}: ${key} ${e.id} size`);
        assert.equal(md5(res.bytes), e.etag, `${where}: ${key} ${e.id} is torn (MD5 differs from its ETag)`);
        assert.equal(res.headers.etag, `"${e.etag}"`, `${where}: ${key} ${e.id} ETag header`);
        assert.equal(headerOf(res, 'x-amz-version-id'), e.id, `${where}: ${key} ${e.id} x-amz-version-id`);
      }
      const latest = st.chain[0];
      const res = await send(agent, port, 'GET', `/${BUCKET}/${encodeKey(key)}`);
      if (latest === undefined || latest.marker) {
        assert.equal(res.status, 404, `${where}: GET ${key} (latest ${latest?.id ?? 'none'}): ${res.status}`);
        const dm = headerOf(res, 'x-amz-delete-marker');
        assert.equal(dm, latest ? 'true' : undefined, `${where}: GET ${key} x-amz-delete-marker`);
      } else {
        assert.equal(res.status, 200, `${where}: GET ${key}: ${res.status}`);
        assert.equal(md5(res.bytes), latest.etag, `${where}: GET ${key} is not its latest version`);
        assert.equal(headerOf(res, 'x-amz-version-id'), latest.id, `${where}: GET ${key} x-amz-version-id`);
      }
    }
  } finally {
    agent.destroy();
  }
  await checkFiles(dir, model, where);
}

/** The journal, the plain files and the version directories against the (reconciled) model. */
async function checkFiles(dir: string, model: Model, where: string): Promise<void> {
  const db = new Database(join(dir, '.s3local', 'index.sqlite'), { readonly: true });
  let rows: CurrentRow[];
  let noncurrent: Array<{ key: string; seq: number; record: string }>;
  try {
    const journal = db.prepare('SELECT COUNT(*) FROM write_journal').pluck().get() as number;
    assert.equal(journal, 0, `${where}: intents left in the journal`);
    rows = db
      .prepare('SELECT key, path, etag, version FROM objects WHERE bucket = ? ORDER BY key')
      .all(BUCKET) as CurrentRow[];
    noncurrent = db
      .prepare('SELECT key, seq, record FROM object_versions WHERE bucket = ? ORDER BY key, seq DESC')
      .all(BUCKET) as typeof noncurrent;
  } finally {
    db.close();
  }
  const rowOf = new Map(rows.map((r) => [r.key, r]));
  const bucketDir = join(dir, BUCKET);
  const meta = join(dir, '.s3local');
  for (const [key, st] of model.keys) {
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
      `${where}: ${key} objects row, latest ${latest?.id ?? 'none'}`,
    );
    assert.deepEqual(
      plain,
      row ? [row.path] : [],
      `${where}: ${key} plain files, latest ${latest?.id ?? 'none'}`,
    );
    if (row !== undefined && latest !== undefined) {
      const bytes = await readFile(join(bucketDir, row.path));
      assert.equal(md5(bytes), latest.etag, `${where}: the plain file of ${key} is not its latest version`);
      assert.equal(row.etag, latest.etag, `${where}: ${key} row ETag`);
    }
    // The version directory: a record per version, data per noncurrent object version only.
    const expected = new Map<string, number | undefined>();
    const current = row?.version ? (JSON.parse(row.version) as { id: string; seq: number }) : undefined;
    if (current !== undefined) {
      assert.equal(current.id, latest?.id, `${where}: ${key} current version id in the index`);
      expected.set(`${current.seq}.json`, undefined);
    }
    for (const nc of noncurrent.filter((n) => n.key === key)) {
      const rec = JSON.parse(nc.record) as { versionId: string; deleteMarker: boolean; size: number };
      expected.set(`${nc.seq}.json`, undefined);
      if (!rec.deleteMarker) expected.set(`${nc.seq}.data`, rec.size);
    }
    const vdir = versionDir(meta, BUCKET, key);
    const names = (await readdir(vdir).catch(() => [] as string[])).sort();
    assert.deepEqual(names, [...expected.keys()].sort(), `${where}: ${key} version directory`);
    for (const [name, size] of expected) {
      if (size !== undefined) {
        assert.equal((await stat(join(vdir, name))).size, size, `${where}: ${key} ${name} size`);
      } else {
        const rec = JSON.parse(await readFile(join(vdir, name), 'utf8')) as Record<string, unknown>;
        const listed = rec.key === key && st.chain.some((e) => e.id === rec.versionId);
        assert.ok(listed, `${where}: ${key} ${name} is not a listed version of the key`);
      }
    }
    if (current !== undefined) {
      assert.ok(!names.includes(`${current.seq}.data`), `${where}: ${key} current version has a .data file`);
    }
  }
  // Nothing else: every file below the bucket is a current version, every version dir a key's.
  for (const rel of await walk(bucketDir)) {
    const key = pathToKey(rel);
    assert.ok(key !== undefined && rowOf.get(key)?.path === rel, `${where}: stray file ${rel} in the bucket`);
  }
  const known = new Set(KEYS.map((k) => versionDir(meta, BUCKET, k)));
  const versionsRoot = join(meta, 'versions', BUCKET);
  for (const rel of await walk(versionsRoot).catch(() => [] as string[])) {
    const parent = join(versionsRoot, rel.split('/').slice(0, -1).join(sep));
    assert.ok(known.has(parent), `${where}: ${relative(meta, join(versionsRoot, rel))} belongs to no key`);
  }
}

// ---- the test ------------------------------------------------------------------------------

test(
  'SIGKILL at random points of versioned PUT, DELETE and version DELETE: the version chain stays consistent',
  { timeout: 170_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 's3local-vcrash-'));
    const seed = Number(process.env.S3LOCAL_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    t.diagnostic(`seed ${seed} (replay with S3LOCAL_CRASH_SEED=${seed})`);
    const dir = join(root, 'data');
    const home = join(root, 'home');
    const model: Model = {
      keys: new Map(KEYS.map((k) => [k, { chain: [], busy: false }])),
      status: 'Enabled',
    };
    const started = Date.now();
    let server = await start(dir, home, undefined, SERVE_ARGS);
    let iterations = 0;
    let ops = 0;
    let toggles = 0;
    let interruptedStarts = 0;
    let keep = false;
    try {
      // A bucket with two objects written before versioning (they become null versions).
      const setup = new Agent();
      assert.equal((await send(setup, server.port, 'PUT', `/${BUCKET}`)).status, 200);
      for (const key of ['a', 'x0']) {
        const body = randomBytes(1000);
        assert.equal((await send(setup, server.port, 'PUT', `/${BUCKET}/${key}`, body)).status, 200);
        model.keys.get(key)!.chain = [{ id: 'null', marker: false, etag: md5(body), size: body.length }];
      }
      assert.equal((await setVersioning(setup, server.port, 'Enabled')).status, 200);
      setup.destroy();

      while (iterations < ITERATIONS && Date.now() - started < BUDGET_MS) {
        iterations++;
        opLog = [];
        const load = new Load(server.port, model, random);
        const running = load.run(4);
        await Promise.race([new Promise((r) => setTimeout(r, 5 + random() * 350)), running]);
        load.stopped = true;
        await killed(server.child);
        await running.catch((err: unknown) => {
          // Only transport errors (the kill) may end a worker; a wrong answer is a failure.
          if (err instanceof assert.AssertionError) throw err;
        });
        load.agent.destroy();
        ops += load.ops;
        toggles += load.toggles;
        const interrupt = random() < 0.15 ? 30 + random() * 150 : undefined;
        if (interrupt !== undefined) interruptedStarts++;
        opLog.push(
          interrupt === undefined ? 'KILL' : `KILL, then a restart killed after ${interrupt | 0} ms`,
        );
        server = await start(dir, home, interrupt, SERVE_ARGS);
        try {
          const pageSize = random() < 0.3 ? 2 + Math.floor(random() * 6) : 1000; // small pages walk the markers
          await checkStore(dir, server.port, model, pageSize, `iteration ${iterations} (seed ${seed})`);
        } catch (err) {
          t.diagnostic(`operations of iteration ${iterations}:\n${opLog.join('\n')}`);
          // S3LOCAL_CRASH_KEEP=1 keeps the store of a failed run for inspection.
          keep = process.env.S3LOCAL_CRASH_KEEP === '1';
          if (keep) t.diagnostic(`store kept at ${dir}`);
          throw err;
        }
      }
      const versions = [...model.keys.values()].reduce((n, st) => n + st.chain.length, 0);
      t.diagnostic(
        `${iterations} kills, ${ops} acknowledged operations, ${toggles} versioning toggles, ` +
          `${versions} versions at the end, ${interruptedStarts} restarts killed during recovery, ` +
          `operations cut by a kill: ${cut.applied} applied, ${cut.notApplied} not, ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      assert.ok(iterations >= MIN_ITERATIONS, `only ${iterations} iterations fit in the time budget`);
    } finally {
      await killed(server.child);
      if (!keep) await rm(root, { recursive: true, force: true });
    }
  },
);
