/**
 * Fault injection for the fake Drime API (drime-api.md §12): per-route rules or seeded random
 * faults. A rule matches `METHOD /path` (no query string).
 */

export type FaultKind =
  /** Answer with `status` (429 carries `Retry-After`). */
  | 'status'
  /** Destroy the connection without a response. */
  | 'reset'
  /**
   * Delay the (normal) response by `delayMs`, or until `until` settles. `before` (default): the
   * request waits before it is processed. `after`: it is processed at once (a listing is read then)
   * and only its answer waits — what a slow network does to a response.
   */
  | 'slow'
  /** 200 with an HTML page instead of JSON. */
  | 'html'
  /** Upload endpoints: the entry is created but the response has `users: []` (incomplete upload). */
  | 'users-empty'
  /** Byte responses: send the headers and half the body, then destroy the connection. */
  | 'truncate';

export interface FaultRule {
  /** Tested against `METHOD /path`; undefined matches every request. */
  match?: RegExp;
  /** Also tested against the query string (`?a=1&b=2`) when set. */
  query?: RegExp;
  kind: FaultKind;
  /** For `status`: 429, 500, 502, 503 ... */
  status?: number;
  /** For a 429: the Retry-After header value (default "1"). */
  retryAfter?: string;
  /** For `slow`. */
  delayMs?: number;
  /** For `slow`: wait for this instead of `delayMs` (a test decides when the request goes on). */
  until?: Promise<unknown>;
  /**
   * `before` (default): the request is not processed. `after`: it is processed (its effect is
   * kept) and only the response is replaced — the case that makes non-idempotent retries unsafe.
   */
  phase?: 'before' | 'after';
  /** How many times the rule fires (default 1). */
  times?: number;
  /** Matching requests to let through before firing. */
  skip?: number;
}

export interface FiredFault {
  method: string;
  path: string;
  kind: FaultKind;
  status?: number;
  phase: 'before' | 'after';
}

export interface RandomFaultOptions {
  seed: number;
  /** Probability that a matching request is hit (0..1). */
  probability: number;
  /** Requests to consider (default: every request). */
  match?: RegExp;
  /**
   * Kinds to draw from (default: 429, 500, 502, 503, reset, slow, html, truncate). `slow-after` is
   * a `slow` whose request is processed at once and whose answer is held back.
   */
  kinds?: ReadonlyArray<
    '429' | '500' | '502' | '503' | 'reset' | 'slow' | 'slow-after' | 'html' | 'truncate' | 'users-empty'
  >;
  /** Retry-After for random 429s (default "0"). */
  retryAfter?: string;
}

/** mulberry32: a small seeded PRNG so a failing random run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface LiveRule extends FaultRule {
  left: number;
  skipLeft: number;
}

export class FaultInjector {
  private rules: LiveRule[] = [];
  private random: (RandomFaultOptions & { rand: () => number }) | undefined;
  /** Every fault that fired, in order. */
  readonly fired: FiredFault[] = [];

  /** Adds a rule; rules are tried in insertion order. */
  add(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1, skipLeft: rule.skip ?? 0 });
  }

  /** Turns random faults on (replacing any previous random setting). */
  setRandom(opts: RandomFaultOptions | undefined): void {
    this.random = opts ? { ...opts, rand: prng(opts.seed) } : undefined;
  }

  /** Removes every rule and the random setting. */
  clear(): void {
    this.rules = [];
    this.random = undefined;
  }

  /** Rules that have not fired all their times yet. */
  pending(): number {
    return this.rules.filter((r) => r.left > 0).length;
  }

  /** The fault for this request, if any (consumes one firing). */
  pick(
    method: string,
    path: string,
    opts: { bytes: boolean; upload: boolean; query?: string },
  ): FaultRule | undefined {
    const subject = `${method} ${path}`;
    for (const r of this.rules) {
      if (r.left <= 0 || (r.match && !r.match.test(subject))) continue;
      if (r.query && !r.query.test(opts.query ?? '')) continue;
      if (r.kind === 'truncate' && !opts.bytes) continue;
      if (r.kind === 'users-empty' && !opts.upload) continue;
      if (r.skipLeft > 0) {
        r.skipLeft--;
        continue;
      }
      r.left--;
      return this.record(method, path, r);
    }
    const rnd = this.random;
    if (!rnd || (rnd.match && !rnd.match.test(subject)) || rnd.rand() >= rnd.probability) return undefined;
    const kinds = (rnd.kinds ?? ['429', '500', '502', '503', 'reset', 'slow', 'html', 'truncate']).filter(
      (k) => (k !== 'truncate' || opts.bytes) && (k !== 'users-empty' || opts.upload),
    );
    const k = kinds[Math.floor(rnd.rand() * kinds.length)];
    if (k === undefined) return undefined;
    const phase = method !== 'GET' && rnd.rand() < 0.5 ? 'after' : 'before';
    let rule: FaultRule;
    // A 429 comes from the throttle before any controller runs: never after processing.
    if (/^\d+$/.test(k))
      rule = {
        kind: 'status',
        status: Number(k),
        retryAfter: rnd.retryAfter ?? '0',
        phase: k === '429' ? 'before' : phase,
      };
    else if (k === 'slow') rule = { kind: 'slow', delayMs: 5 + Math.floor(rnd.rand() * 40) };
    else if (k === 'slow-after')
      rule = { kind: 'slow', delayMs: 5 + Math.floor(rnd.rand() * 40), phase: 'after' };
    else rule = { kind: k as FaultKind, phase: k === 'users-empty' || k === 'truncate' ? 'after' : phase };
    return this.record(method, path, rule);
  }

  private record(method: string, path: string, r: FaultRule): FaultRule {
    const f: FiredFault = { method, path, kind: r.kind, phase: r.phase ?? 'before' };
    if (r.status !== undefined) f.status = r.status;
    this.fired.push(f);
    return r;
  }
}
