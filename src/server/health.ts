/**
 * `GET /_s3local/health`: 200 when the store can take a write now, 503 otherwise (disk full,
 * read-only, index locked, remote unreachable, shutting down). No authentication: load balancers,
 * systemd watchdogs and uptime checkers call it. The answer is a small JSON document that names
 * the problem without paths or secrets.
 */
import type { S3Result } from '../s3/handlers/types.js';
import type { StorageBackend } from '../storage/backend.js';
import type { Logger } from './logger.js';

/** Longest a probe may take before the store counts as unhealthy (a hung disk or remote). */
export const HEALTH_TIMEOUT_MS = 5000;

/** The outcome of one probe. */
export interface HealthState {
  ok: boolean;
  /** Why not, when not ok. */
  reason?: string;
}

/** Probes a backend; concurrent callers share one probe. Logs when the state flips. */
export class HealthCheck {
  readonly #backend: StorageBackend;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #running: Promise<HealthState> | undefined;
  #lastOk = true;

  constructor(backend: StorageBackend, logger: Logger, timeoutMs = HEALTH_TIMEOUT_MS) {
    this.#backend = backend;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** Runs a probe (or joins the one running). */
  probe(): Promise<HealthState> {
    this.#running ??= this.#probe().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #probe(): Promise<HealthState> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the storage did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    let state: HealthState;
    try {
      const backend = this.#backend;
      const check = backend.health ? backend.health() : backend.listBuckets().then(() => undefined);
      check.catch(() => undefined); // a probe that fails after the deadline is not an unhandled rejection
      await Promise.race([check, timeout]);
      state = { ok: true };
    } catch (err) {
      state = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
    if (state.ok !== this.#lastOk) {
      if (state.ok) this.#logger.info('health: the store is writable again');
      else this.#logger.warn('health: the store is unhealthy', { reason: state.reason });
      this.#lastOk = state.ok;
    }
    return state;
  }

  /** The HTTP answer: 200 `{"status":"ok"}` or 503 `{"status":"unavailable","reason":...}`. */
  async result(closing: boolean): Promise<S3Result> {
    const state: HealthState = closing
      ? { ok: false, reason: 'the server is shutting down' }
      : await this.probe();
    const doc = state.ok
      ? { status: 'ok', backend: this.#backend.kind }
      : { status: 'unavailable', backend: this.#backend.kind, reason: state.reason };
    return {
      status: state.ok ? 200 : 503,
      headers: {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        ...(state.ok ? {} : { 'retry-after': '5' }),
      },
      body: JSON.stringify(doc) + '\n',
    };
  }
}
