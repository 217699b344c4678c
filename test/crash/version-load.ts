/**
 * The load of the versioned crash loop (versioning-crash.test.ts): workers running random
 * versioned writes over plain HTTP against the two buckets of the model until the kill, each
 * recording in the model what it sent (`pending`) and what was acknowledged (the chain):
 *
 * - both buckets: PUT, DELETE (delete marker), DELETE ?versionId, CopyObject from a specific
 *   version (`x-amz-copy-source: /bucket/key?versionId=...`, often the key's own older version:
 *   a restore) and multipart uploads (Create, UploadPart, Complete — cut anywhere, resumed later);
 * - the versioned bucket: Enabled <-> Suspended toggles (null versions replacing each other);
 * - the object-lock bucket: new versions with retention and legal-hold headers,
 *   PutObjectRetention (set, extend, shorten or remove with the governance bypass) and
 *   PutObjectLegalHold on a version, and DELETE ?versionId of a locked version, which must answer
 *   AccessDenied (or, with the bypass, delete a version under GOVERNANCE retention only).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import {
  contentMd5,
  encodeKey,
  headerOf,
  md5,
  multipartEtag,
  runWorkers,
  send,
  xmlField,
  type Reply,
} from './crash-kit.js';
import {
  applied,
  isLocked,
  normalLock,
  VERSION_ID,
  type BucketModel,
  type Entry,
  type KeyState,
  type Lock,
  type Pending,
  type Status,
} from './version-model.js';

const MiB = 1024 * 1024;
/** A key with more versions than this loses its oldest (deletable) one. */
const MAX_CHAIN = 4;
const DAY = 86_400_000;
/** Part 1 of two-part uploads (parts but the last must be 5 MiB or more). */
const PART1 = randomBytes(5 * MiB);

/** Object lock request headers of `lock`. */
export function lockHeaders(lock: Lock | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (lock?.mode !== undefined && lock.until !== undefined) {
    h['x-amz-object-lock-mode'] = lock.mode;
    h['x-amz-object-lock-retain-until-date'] = new Date(lock.until).toISOString();
  }
  if (lock?.hold !== undefined) h['x-amz-object-lock-legal-hold'] = lock.hold ? 'ON' : 'OFF';
  return h;
}

export function setVersioning(agent: Agent, port: number, bucket: string, status: Status): Promise<Reply> {
  const xml = `<VersioningConfiguration><Status>${status}</Status></VersioningConfiguration>`;
  return send(agent, port, 'PUT', `/${bucket}?versioning`, Buffer.from(xml));
}

/** A date in whole seconds, `ms` from now. */
function fromNow(ms: number): number {
  return Math.floor((Date.now() + ms) / 1000) * 1000;
}

export class Load {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  stopped = false;
  ops = 0;
  toggles = 0;
  /** Acknowledged operations per kind. */
  readonly done: Record<string, number> = {};
  #active = 0;
  #gate: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  /** `buckets[0]` is versioned (toggled), `buckets[1]` has object lock. */
  constructor(
    readonly port: number,
    readonly buckets: readonly [BucketModel, BucketModel],
    readonly random: () => number,
    readonly log: string[],
  ) {}

  #path(b: BucketModel, key: string, query = ''): string {
    return `/${b.name}/${encodeKey(key)}${query}`;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  #ok(kind: string, line: string): void {
    this.log.push(`  ok ${line}`);
    this.done[kind] = (this.done[kind] ?? 0) + 1;
  }

  /** A key of `b` nobody holds and no kill cut (a cut key keeps its `pending` until the check). */
  #freeKeys(b: BucketModel): string[] {
    return [...b.keys].filter(([, st]) => !st.busy && st.pending === undefined).map(([k]) => k);
  }

  async #op(): Promise<void> {
    const r = this.random();
    if (r < 0.03) return this.#toggle(this.buckets[0]);
    // Key operations wait while a toggle is on its way, so each knows the status it runs under.
    while (this.#gate !== undefined) await this.#gate;
    if (this.stopped) return;
    const b = this.random() < 0.55 ? this.buckets[0] : this.buckets[1];
    const free = this.#freeKeys(b);
    if (free.length === 0) return;
    const key = this.#pick(free);
    const st = b.keys.get(key)!;
    st.busy = true;
    this.#active++;
    try {
      const k = this.random();
      const hasObject = st.chain.some((e) => !e.marker);
      // Keep chains short (every check reads every version): a long one loses its oldest.
      if (st.chain.length > MAX_CHAIN) await this.#remove(b, key, st, true);
      else if ((st.upload !== undefined && k < 0.5) || (k >= 0.9 && k < 0.98))
        await this.#multipart(b, key, st);
      else if (st.chain.length === 0 || k < 0.38) await this.#write(b, key, st, false);
      else if (k < 0.48) await this.#write(b, key, st, true);
      else if (k < 0.6) await this.#copy(b, key, st);
      else if (b.objectLock && hasObject && k < 0.68) await this.#retention(b, key, st);
      else if (b.objectLock && hasObject && k < 0.76) await this.#hold(b, key, st, undefined);
      else await this.#remove(b, key, st, false);
    } finally {
      st.busy = false;
      if (--this.#active === 0) this.#idle?.();
    }
  }

  /** A lock for a new version of the object-lock bucket (no COMPLIANCE twice on one key). */
  #newLock(b: BucketModel, st: KeyState): Lock | undefined {
    if (!b.objectLock) return undefined;
    const lock: Lock = {};
    const x = this.random();
    const compliance = st.chain.some((e) => e.lock?.mode === 'COMPLIANCE');
    if (x < 0.3) Object.assign(lock, { mode: 'GOVERNANCE', until: fromNow(DAY + this.random() * 30 * DAY) });
    else if (x < 0.36 && !compliance)
      Object.assign(lock, { mode: 'COMPLIANCE', until: fromNow(30 * 60_000) });
    if (this.random() < 0.3) lock.hold = this.random() < 0.6;
    return normalLock(lock);
  }

  /** Runs `send` for a write whose model change is `op` (recorded as pending until acknowledged). */
  async #tracked(st: KeyState, op: Pending, line: string, request: () => Promise<Reply>): Promise<Reply> {
    st.pending = op;
    this.log.push(line);
    return request();
  }

  /** The version id answered for a new version (`null` or none when written suspended). */
  #newId(res: Reply, nullMode: boolean, marker: boolean, what: string): string | undefined {
    const id = headerOf(res, 'x-amz-version-id');
    // A suspended PUT may leave out the id of the null version it wrote; a delete marker names it.
    if (nullMode) assert.ok(id === 'null' || (id === undefined && !marker), `${what}: version id ${id}`);
    else assert.ok(id !== undefined && VERSION_ID.test(id), `${what}: version id ${id}`);
    return id;
  }

  #acked(st: KeyState, op: Pending, id?: string): void {
    st.chain = applied(st.chain, op, id);
    delete st.pending;
  }

  /** PUT of random bytes (`marker` false) or DELETE without version id (a delete marker). */
  async #write(b: BucketModel, key: string, st: KeyState, marker: boolean): Promise<void> {
    const nullMode = b.status === 'Suspended';
    const size = marker || this.random() < 0.2 ? 0 : Math.floor(this.random() ** 3 * MiB);
    const body = randomBytes(size);
    const lock = marker ? undefined : this.#newLock(b, st);
    const op: Pending = marker
      ? { kind: 'marker', nullMode }
      : { kind: 'put', etag: md5(body), md5: md5(body), size, nullMode, ...(lock ? { lock } : {}) };
    const what = `${marker ? 'DELETE' : 'PUT'} ${b.name}/${key}${nullMode ? ' (suspended)' : ''}`;
    const line =
      op.kind === 'put' ? `${what} ${op.etag.slice(0, 8)}/${size} ${JSON.stringify(lock ?? {})}` : what;
    // Content-MD5: S3 requires it (or a checksum) on a PUT with object lock parameters.
    const headers = marker ? {} : { 'content-md5': contentMd5(body), ...lockHeaders(lock) };
    const res = await this.#tracked(st, op, line, () =>
      send(this.agent, this.port, marker ? 'DELETE' : 'PUT', this.#path(b, key), body, headers),
    );
    assert.equal(res.status, marker ? 204 : 200, `${what}: ${res.status} ${res.body}`);
    if (op.kind === 'put') assert.equal(res.headers.etag, `"${op.etag}"`, `${what}: ETag`);
    else assert.equal(headerOf(res, 'x-amz-delete-marker'), 'true', `${what}: x-amz-delete-marker`);
    const id = this.#newId(res, nullMode, marker, what);
    this.#ok(op.kind === 'put' ? 'put' : 'marker', `${what} -> ${id}`);
    this.#acked(st, op, id);
  }

  /**
   * CopyObject of a specific version (of this key or another, in either bucket) onto the key: a new
   * version with the source's bytes (its ETag is their MD5, even from a multipart source).
   */
  async #copy(b: BucketModel, key: string, st: KeyState): Promise<void> {
    const sources: Array<{ sb: BucketModel; sk: string; e: Entry }> = [];
    for (const sb of this.buckets) {
      for (const [sk, ss] of sb.keys) {
        const usable = ss === st || (!ss.busy && ss.pending === undefined);
        if (usable) for (const e of ss.chain) if (!e.marker) sources.push({ sb, sk, e });
      }
    }
    if (sources.length === 0) return this.#write(b, key, st, false);
    const { sb, sk, e } = this.#pick(sources);
    const src = sb.keys.get(sk)!;
    const holdsSource = src !== st;
    if (holdsSource) src.busy = true; // no version DELETE of the source meanwhile
    try {
      const nullMode = b.status === 'Suspended';
      const lock = this.#newLock(b, st);
      const op: Pending = {
        kind: 'put',
        via: 'copy',
        etag: e.md5,
        md5: e.md5,
        size: e.size,
        nullMode,
        ...(lock ? { lock } : {}),
      };
      const what = `COPY ${sb.name}/${sk}?versionId=${e.id} -> ${b.name}/${key}${nullMode ? ' (suspended)' : ''}`;
      const headers = {
        'x-amz-copy-source': `/${sb.name}/${encodeKey(sk)}?versionId=${e.id}`,
        ...lockHeaders(lock),
      };
      const res = await this.#tracked(st, op, `${what} ${JSON.stringify(lock ?? {})}`, () =>
        send(this.agent, this.port, 'PUT', this.#path(b, key), undefined, headers),
      );
      assert.equal(res.status, 200, `${what}: ${res.status} ${res.body}`);
      assert.ok(res.body.includes('<CopyObjectResult'), `${what}: ${res.body}`);
      assert.equal(xmlField(res.body, 'ETag'), `"${e.md5}"`, `${what}: ETag`);
      assert.equal(
        headerOf(res, 'x-amz-copy-source-version-id'),
        e.id,
        `${what}: x-amz-copy-source-version-id`,
      );
      const id = this.#newId(res, nullMode, false, what);
      this.#ok('copy', `${what} -> ${id}`);
      this.#acked(st, op, id);
    } finally {
      if (holdsSource) src.busy = false;
    }
  }

  /**
   * A multipart upload of the key: Create (with lock headers in the object-lock bucket), one small
   * part or 5 MiB + a small one, Complete. An upload a kill left open is resumed: its parts (as
   * ListParts gave them at the check) completed.
   */
  async #multipart(b: BucketModel, key: string, st: KeyState): Promise<void> {
    let u = st.upload;
    if (u === undefined) {
      const lock = this.#newLock(b, st);
      u = st.upload = { parts: [], completing: false, ...(lock ? { lock } : {}) };
      const what = `CreateMultipartUpload ${b.name}/${key} ${JSON.stringify(lock ?? {})}`;
      this.log.push(what);
      const res = await send(
        this.agent,
        this.port,
        'POST',
        this.#path(b, key, '?uploads'),
        undefined,
        lockHeaders(lock),
      );
      assert.equal(res.status, 200, `${what}: ${res.status} ${res.body}`);
      const created = xmlField(res.body, 'UploadId');
      assert.ok(created, `${what}: no UploadId in ${res.body}`);
      u.id = created;
      this.#ok('create', `${what} -> ${created}`);
    } else {
      this.log.push(`resuming upload ${u.id} of ${b.name}/${key} (${u.parts.length} parts)`);
    }
    const id: string = u.id!;
    if (u.parts.length === 0) {
      const small = randomBytes(1 + Math.floor(this.random() ** 2 * 256 * 1024));
      for (const data of this.random() < 0.2 ? [PART1, small] : [small]) {
        const n: number = u.parts.length + 1;
        const what: string = `UploadPart ${b.name}/${key} ${id} #${n} ${md5(data).slice(0, 8)}/${data.length}`;
        u.pendingPart = data;
        this.log.push(what);
        const q = `?partNumber=${n}&uploadId=${encodeURIComponent(id)}`;
        const res = await send(this.agent, this.port, 'PUT', this.#path(b, key, q), data);
        assert.equal(res.status, 200, `${what}: ${res.status} ${res.body}`);
        assert.equal(res.headers.etag, `"${md5(data)}"`, `${what}: ETag`);
        u.parts.push(data);
        delete u.pendingPart;
        this.#ok('part', what);
      }
    }
    const nullMode = b.status === 'Suspended';
    const whole = createHash('md5');
    for (const p of u.parts) whole.update(p);
    const size = u.parts.reduce((n, p) => n + p.length, 0);
    const etag = multipartEtag(u.parts);
    const op: Pending = {
      kind: 'put',
      via: 'complete',
      etag,
      md5: whole.digest('hex'),
      size,
      nullMode,
      ...(u.lock ? { lock: u.lock } : {}),
    };
    const xml =
      '<CompleteMultipartUpload>' +
      u.parts
        .map((p, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>"${md5(p)}"</ETag></Part>`)
        .join('') +
      '</CompleteMultipartUpload>';
    const what = `CompleteMultipartUpload ${b.name}/${key} ${id} ${etag.slice(0, 8)}/${size}${nullMode ? ' (suspended)' : ''}`;
    u.completing = true;
    const res = await this.#tracked(st, op, what, () =>
      send(
        this.agent,
        this.port,
        'POST',
        this.#path(b, key, `?uploadId=${encodeURIComponent(id)}`),
        Buffer.from(xml),
      ),
    );
    assert.equal(res.status, 200, `${what}: ${res.status} ${res.body}`);
    assert.ok(res.body.includes('<CompleteMultipartUploadResult'), `${what}: ${res.body}`);
    assert.equal(xmlField(res.body, 'ETag'), `"${etag}"`, `${what}: ETag`);
    const vid = this.#newId(res, nullMode, false, what);
    this.#ok('complete', `${what} -> ${vid}`);
    this.#acked(st, op, vid);
    delete st.upload;
  }

  /** PutObjectRetention on a version: set, extend, or (GOVERNANCE, with the bypass) shorten or remove. */
  async #retention(b: BucketModel, key: string, st: KeyState): Promise<void> {
    const e = this.#pick(st.chain.filter((v) => !v.marker));
    const cur = e.lock;
    const active = cur?.until !== undefined && cur.until > Date.now();
    let next: Pick<Lock, 'mode' | 'until'> | undefined;
    let bypass = false;
    const x = this.random();
    if (!active) {
      const compliance = st.chain.some((v) => v.lock?.mode === 'COMPLIANCE');
      next =
        x < 0.15 && !compliance
          ? { mode: 'COMPLIANCE', until: fromNow(30 * 60_000) }
          : { mode: 'GOVERNANCE', until: fromNow(DAY + this.random() * 30 * DAY) };
    } else if (cur.mode === 'COMPLIANCE' || x < 0.5) {
      next = { mode: cur.mode!, until: cur.until! + 1000 * Math.ceil(this.random() * 3600) }; // extend
    } else if (x < 0.75) {
      next = {
        mode: 'GOVERNANCE',
        until: fromNow(DAY / 2 + this.random() * Math.max(0, cur.until! - Date.now() - DAY)),
      };
      bypass = true; // shorten
    } else {
      bypass = true; // remove
    }
    const xml = next
      ? `<Retention><Mode>${next.mode}</Mode><RetainUntilDate>${new Date(next.until!).toISOString()}</RetainUntilDate></Retention>`
      : '<Retention></Retention>';
    const lock = normalLock({ ...next, ...(cur?.hold !== undefined ? { hold: cur.hold } : {}) });
    const op: Pending = { kind: 'lock', id: e.id, lock };
    const what = `PutObjectRetention ${b.name}/${key}?versionId=${e.id} ${JSON.stringify(next ?? {})}${bypass ? ' (bypass)' : ''}`;
    const body = Buffer.from(xml);
    const headers: Record<string, string> = { 'content-md5': contentMd5(body) };
    if (bypass) headers['x-amz-bypass-governance-retention'] = 'true';
    const res = await this.#tracked(st, op, what, () =>
      send(this.agent, this.port, 'PUT', this.#path(b, key, `?retention&versionId=${e.id}`), body, headers),
    );
    assert.equal(res.status, 200, `${what}: ${res.status} ${res.body}`);
    assert.equal(headerOf(res, 'x-amz-version-id'), e.id, `${what}: x-amz-version-id`);
    this.#ok('retention', what);
    this.#acked(st, op);
  }

  /** PutObjectLegalHold flipping the hold of `target` (undefined: a random object version). */
  async #hold(b: BucketModel, key: string, st: KeyState, target: Entry | undefined): Promise<void> {
    const e = target ?? this.#pick(st.chain.filter((v) => !v.marker));
    const on = !(e.lock?.hold ?? false);
    const op: Pending = { kind: 'lock', id: e.id, lock: { ...e.lock, hold: on } };
    const what = `PutObjectLegalHold ${b.name}/${key}?versionId=${e.id} ${on ? 'ON' : 'OFF'}`;
    const body = Buffer.from(`<LegalHold><Status>${on ? 'ON' : 'OFF'}</Status></LegalHold>`);
    const res = await this.#tracked(st, op, what, () =>
      send(this.agent, this.port, 'PUT', this.#path(b, key, `?legal-hold&versionId=${e.id}`), body, {
        'content-md5': contentMd5(body),
      }),
    );
    assert.equal(res.status, 200, `${what}: ${res.status} ${res.body}`);
    this.#ok('hold', what);
    this.#acked(st, op);
  }

  /**
   * DELETE ?versionId: removes a version for good — unless its lock forbids it: then AccessDenied
   * (a probe, nothing changes), or its hold is released first, or the governance bypass is used.
   */
  async #remove(b: BucketModel, key: string, st: KeyState, prune: boolean): Promise<void> {
    // COMPLIANCE versions can never go; pruning removes the oldest other version (releasing its
    // hold first, deleting it with the bypass when GOVERNANCE retains it).
    const deletable = st.chain.filter((e) => e.lock?.mode !== 'COMPLIANCE' || !isLocked(e.lock));
    if (deletable.length === 0) return this.#probe(b, key, this.#pick(st.chain));
    const victim = prune ? deletable[deletable.length - 1]! : this.#pick(deletable);
    if (victim.lock?.hold === true) {
      return !prune && this.random() < 0.5 ? this.#probe(b, key, victim) : this.#hold(b, key, st, victim);
    }
    const governed = isLocked(victim.lock);
    if (governed && !prune && this.random() < 0.4) return this.#probe(b, key, victim);
    const op: Pending = { kind: 'remove', id: victim.id };
    const what = `DELETE ${b.name}/${key}?versionId=${victim.id}${governed ? ' (bypass)' : ''}`;
    const headers: Record<string, string> = governed ? { 'x-amz-bypass-governance-retention': 'true' } : {};
    const res = await this.#tracked(st, op, what, () =>
      send(
        this.agent,
        this.port,
        'DELETE',
        this.#path(b, key, `?versionId=${victim.id}`),
        undefined,
        headers,
      ),
    );
    assert.equal(res.status, 204, `${what}: ${res.status} ${res.body}`);
    assert.equal(headerOf(res, 'x-amz-version-id'), victim.id, `${what}: x-amz-version-id`);
    assert.equal(
      headerOf(res, 'x-amz-delete-marker'),
      victim.marker ? 'true' : undefined,
      `${what}: x-amz-delete-marker`,
    );
    this.#ok('remove', what);
    this.#acked(st, op);
  }

  /** DELETE ?versionId of a locked version (the bypass does not lift COMPLIANCE nor a hold): AccessDenied. */
  async #probe(b: BucketModel, key: string, e: Entry): Promise<void> {
    if (!isLocked(e.lock)) return;
    const bypass = this.random() < 0.5 && (e.lock?.mode === 'COMPLIANCE' || e.lock?.hold === true);
    const what = `DELETE ${b.name}/${key}?versionId=${e.id} of a locked version${bypass ? ' (bypass)' : ''}`;
    this.log.push(what);
    const headers: Record<string, string> = bypass ? { 'x-amz-bypass-governance-retention': 'true' } : {};
    const res = await send(
      this.agent,
      this.port,
      'DELETE',
      this.#path(b, key, `?versionId=${e.id}`),
      undefined,
      headers,
    );
    assert.equal(res.status, 403, `${what}: ${res.status} ${res.body}`);
    assert.equal(xmlField(res.body, 'Code'), 'AccessDenied', `${what}: ${res.body}`);
    this.#ok('denied', what);
  }

  /** Flips the versioning of `b` once no key operation is in flight; key operations wait for it. */
  async #toggle(b: BucketModel): Promise<void> {
    if (this.#gate !== undefined) return;
    let open!: () => void;
    this.#gate = new Promise<void>((r) => (open = r));
    try {
      if (this.#active > 0) await new Promise<void>((r) => (this.#idle = r));
      this.#idle = undefined;
      if (this.stopped) return;
      const next: Status = b.status === 'Enabled' ? 'Suspended' : 'Enabled';
      b.pendingStatus = next;
      this.log.push(`PUT ${b.name}?versioning ${next}`);
      const res = await setVersioning(this.agent, this.port, b.name, next);
      assert.equal(res.status, 200, `PUT ?versioning ${next}: ${res.status} ${res.body}`);
      this.log.push(`  ok PUT ${b.name}?versioning ${next}`);
      b.status = next;
      delete b.pendingStatus;
      this.toggles++;
    } finally {
      this.#gate = undefined;
      open();
    }
  }

  /** Workers loop until the server dies under them; a request cut by the kill ends the worker. */
  run(workers: number): Promise<void> {
    return runWorkers(
      workers,
      () => this.#op(),
      () => this.stopped,
      () => void this.ops++,
    );
  }
}
