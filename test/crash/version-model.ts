/**
 * The model of the versioned crash loop (versioning-crash.test.ts): per bucket and key, the
 * acknowledged version chain (newest first) with each version's object lock, the operation the
 * kill cut (if any), and the key's open multipart upload. After a restart the store must show, per
 * key, the acknowledged chain or the chain with the cut operation applied — nothing else.
 */
import assert from 'node:assert/strict';

export type Status = 'Enabled' | 'Suspended';

/** 32 URL-safe characters: 11 base-36 digits of the sequence number, then 21 random ones. */
export const VERSION_ID = /^[0-9a-z]{11}[A-Za-z0-9_-]{21}$/;

/**
 * A version's object lock as GetObjectRetention / GetObjectLegalHold answer it: `mode` and `until`
 * (ms since the epoch) together or neither; `hold` undefined when never set (404), else ON / OFF.
 */
export interface Lock {
  mode?: 'GOVERNANCE' | 'COMPLIANCE';
  until?: number;
  hold?: boolean;
}

/** One version of a key (etag, md5 '' and size 0 for delete markers). */
export interface Entry {
  id: string;
  marker: boolean;
  /** As listed: the MD5 of a single PUT or copy, `md5(md5s)-N` of a multipart object. */
  etag: string;
  /** MD5 of the bytes (what GET must give). */
  md5: string;
  size: number;
  lock?: Lock;
}

/** A write on a key that was sent but not acknowledged when the kill came. */
export type Pending =
  /** PUT, CopyObject or CompleteMultipartUpload (`via`): a new version (null when `nullMode`). */
  | {
      kind: 'put';
      via?: 'copy' | 'complete';
      etag: string;
      md5: string;
      size: number;
      nullMode: boolean;
      lock?: Lock;
    }
  /** DELETE without version id: a delete marker. */
  | { kind: 'marker'; nullMode: boolean }
  /** DELETE ?versionId. */
  | { kind: 'remove'; id: string }
  /** PutObjectRetention / PutObjectLegalHold: the version's whole lock afterwards. */
  | { kind: 'lock'; id: string; lock: Lock | undefined };

/** A multipart upload of a key, open or cut by a kill. */
export interface Upload {
  /** Undefined while its CreateMultipartUpload is cut by the kill (the id was never seen). */
  id?: string;
  /** Acknowledged parts, part n at index n-1. */
  parts: Buffer[];
  /** A part sent but not acknowledged (part number parts.length + 1). */
  pendingPart?: Buffer;
  /** The lock given at Create (CompleteMultipartUpload gives it to the object). */
  lock?: Lock;
  /** CompleteMultipartUpload sent, not acknowledged: the key's `pending` is its new version. */
  completing: boolean;
}

export interface KeyState {
  /** Acknowledged versions, newest first. */
  chain: Entry[];
  pending?: Pending;
  /** An operation (or a copy reading it) holds the key. */
  busy: boolean;
  upload?: Upload;
}

export interface BucketModel {
  name: string;
  objectLock: boolean;
  keys: Map<string, KeyState>;
  status: Status;
  /** A versioning toggle sent but not acknowledged. */
  pendingStatus?: Status;
}

/** A bucket model with every key's chain empty. */
export function bucketModel(name: string, keys: readonly string[], objectLock: boolean): BucketModel {
  return {
    name,
    objectLock,
    keys: new Map(keys.map((k) => [k, { chain: [], busy: false }])),
    status: 'Enabled',
  };
}

/** True while the lock forbids deleting the version (a hold, or a retention not yet passed). */
export function isLocked(lock: Lock | undefined, now = Date.now()): boolean {
  return lock?.hold === true || (lock?.until !== undefined && lock.until > now);
}

/** The lock without its empty parts (undefined when it holds nothing). */
export function normalLock(lock: Lock | undefined): Lock | undefined {
  const out: Lock = {};
  if (lock?.mode !== undefined && lock.until !== undefined) {
    out.mode = lock.mode;
    out.until = lock.until;
  }
  if (lock?.hold !== undefined) out.hold = lock.hold;
  return Object.keys(out).length > 0 ? out : undefined;
}

function lockSig(lock: Lock | undefined): string {
  const l = normalLock(lock);
  return l ? `${l.mode ?? '-'}:${l.until ?? '-'}:${l.hold ?? '-'}` : '';
}

/** True when both locks hold the same retention and legal hold. */
export function sameLock(a: Lock | undefined, b: Lock | undefined): boolean {
  return lockSig(a) === lockSig(b);
}

/** The chain after `op`; `id` names the new version when it is not a null one. */
export function applied(chain: Entry[], op: Pending, id = 'null'): Entry[] {
  if (op.kind === 'remove') return chain.filter((e) => e.id !== op.id);
  if (op.kind === 'lock') {
    return chain.map((e) => {
      if (e.id !== op.id) return e;
      const { lock: _old, ...rest } = e;
      const lock = normalLock(op.lock);
      return lock ? { ...rest, lock } : rest;
    });
  }
  const vid = op.nullMode ? 'null' : id;
  const lock = op.kind === 'put' ? normalLock(op.lock) : undefined;
  const entry: Entry =
    op.kind === 'put'
      ? { id: vid, marker: false, etag: op.etag, md5: op.md5, size: op.size, ...(lock ? { lock } : {}) }
      : { id: vid, marker: true, etag: '', md5: '', size: 0 };
  // A version written while versioning is suspended replaces the null version (AWS, "Adding
  // objects to versioning-suspended buckets"; the same for delete markers).
  return [entry, ...(op.nullMode ? chain.filter((e) => e.id !== 'null') : chain)];
}

/** A chain for messages. */
export function show(chain: Entry[]): string {
  return chain
    .map((e) => {
      if (e.marker) return `${e.id}:DM`;
      const lock = lockSig(e.lock);
      return `${e.id}:${e.etag.slice(0, 8)}${e.etag.includes('-') ? e.etag.slice(e.etag.indexOf('-')) : ''}/${e.size}${lock ? ` [${lock}]` : ''}`;
    })
    .join(', ');
}

/**
 * `got` (listed) has the same versions as `model`, in the same order, with the same ETags, sizes
 * and locks. With `looseNull`, a null version may list the MD5 of its bytes instead of its
 * multipart ETag: after the index was deleted, an object written the unversioned way (no version
 * record; a suspended write to a key never versioned) is indexed again from its file, and its
 * multipart ETag is lost with the row, as `cache cleanup` warns.
 */
export function same(got: Entry[], model: Entry[], looseNull = false): boolean {
  return (
    got.length === model.length &&
    got.every((g, i) => {
      const m = model[i]!;
      const etag = g.etag === m.etag || (looseNull && m.id === 'null' && !m.marker && g.etag === m.md5);
      return g.id === m.id && g.marker === m.marker && etag && g.size === m.size && sameLock(g.lock, m.lock);
    })
  );
}

/** What the operations cut by the kills turned out to be, per kind. */
export const cut: Record<string, { applied: number; notApplied: number }> = {};

/** Counts an operation of kind `name` cut by a kill. */
export function countCut(name: string, wasApplied: boolean): void {
  const c = (cut[name] ??= { applied: 0, notApplied: 0 });
  if (wasApplied) c.applied++;
  else c.notApplied++;
}

function count(op: Pending, wasApplied: boolean): void {
  countCut(op.kind === 'put' ? (op.via ?? 'put') : op.kind, wasApplied);
}

/**
 * The key's chain after the restart: `got` (as listed, with locks) must be the acknowledged chain,
 * or the chain with the operation cut by the kill applied (a new version then has a fresh id;
 * `looseNull`: see {@link same}).
 * Returns the matching model chain (which knows the bytes' MD5s) and whether the cut operation
 * was applied; fails otherwise.
 */
export function reconcile(
  key: string,
  st: KeyState,
  got: Entry[],
  where: string,
  looseNull = false,
): { chain: Entry[]; wasApplied: boolean } {
  const op = st.pending;
  // The model's entries (they know the MD5s) with the ETags listed (see `looseNull`).
  const listed = (chain: Entry[]) => chain.map((m, i) => ({ ...m, etag: got[i]!.etag }));
  if (same(got, st.chain, looseNull)) {
    if (op !== undefined) count(op, false);
    return { chain: listed(st.chain), wasApplied: false };
  }
  if (op !== undefined) {
    const fresh = (op.kind === 'put' || op.kind === 'marker') && !op.nullMode ? got[0]?.id : undefined;
    const fits = fresh === undefined || (VERSION_ID.test(fresh) && !st.chain.some((e) => e.id === fresh));
    const after = applied(st.chain, op, fresh);
    if (fits && same(got, after, looseNull)) {
      count(op, true);
      return { chain: listed(after), wasApplied: true };
    }
  }
  assert.fail(
    `${where}: ${key} lists [${show(got)}]\n  acknowledged [${show(st.chain)}]` +
      (op ? `\n  in flight ${JSON.stringify(op)}` : ''),
  );
}
