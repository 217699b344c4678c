/**
 * The Drime Cloud HTTP client (drime-api.md): Bearer token, `workspaceId` on every call, paginated
 * listings, retries with backoff + jitter honouring Retry-After, no blind retry of non-idempotent
 * calls, HTML-instead-of-JSON detection, and a bound on API calls in flight. Byte transfers
 * (uploads to presigned URLs, downloads) live in transfer.ts on top of this.
 */
import type { Readable } from 'node:stream';
import { DrimeError, extractMessage } from './errors.js';
import { readAll, sendRequest, type HttpResponse } from './http.js';
import { DEFAULT_RETRY, Semaphore, parseRetryAfter, retryDelay, sleep, type RetryPolicy } from './retry.js';
import { decodeEntry, decodeUser, type DrimeEntry, type DrimeUser, type DrimeWorkspace } from './types.js';

export const DEFAULT_API_URL = 'https://app.drime.cloud/api/v1';
const JSON_LIMIT = 256 * 1024 * 1024;
/** Listings taken at most when entries keep disappearing while they are paged. */
const LIST_ATTEMPTS = 3;

export interface DrimeClientOptions {
  apiKey: string;
  /** 0 is the personal space. */
  workspaceId: number;
  /** Default: `DRIME_API_URL` from the environment, else https://app.drime.cloud/api/v1. */
  apiUrl?: string;
  /** API calls in flight at once (default 4, drime-api.md §9.1). */
  concurrency?: number;
  /** Part PUTs in flight per upload (default 4). */
  transferConcurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Idle timeout of API calls (default 30 s). */
  timeoutMs?: number;
  /** Idle timeout of storage transfers (default 120 s). */
  transferTimeoutMs?: number;
  /** Listing page size (default 1000). */
  perPage?: number;
  /** Test hooks. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Diagnostics (retries); never receives the token. */
  log?: (message: string) => void;
}

export type Query = Record<string, string | number | undefined>;

export interface CallOptions {
  query?: Query;
  json?: Record<string, unknown>;
  /** A streamed request body of known length (the upload form). */
  stream?: { open: () => Readable; length: number; contentType: string };
  /** Safe to resend after an ambiguous failure. */
  idempotent: boolean;
  signal?: AbortSignal;
  /** An HTML answer fails at once instead of being retried (the token check). */
  htmlFatal?: boolean;
  timeoutMs?: number;
}

export interface ListParams {
  parentIds?: string;
  folderId?: string | number;
  query?: string;
  deletedOnly?: boolean;
  backup?: 0 | 1;
  type?: string;
}

export class DrimeClient {
  readonly workspaceId: number;
  readonly apiUrl: string;
  readonly policy: RetryPolicy;
  readonly perPage: number;
  readonly timeoutMs: number;
  readonly transferTimeoutMs: number;
  readonly transferConcurrency: number;
  /** Bounds API calls in flight. */
  readonly apiSlots: Semaphore;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
  readonly log: (message: string) => void;
  readonly #token: string;

  constructor(opts: DrimeClientOptions) {
    if (!opts.apiKey) throw new DrimeError('auth', 'no Drime API key configured');
    this.#token = opts.apiKey;
    this.workspaceId = opts.workspaceId;
    this.apiUrl = (opts.apiUrl ?? process.env.DRIME_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, '');
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.perPage = opts.perPage ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.transferTimeoutMs = opts.transferTimeoutMs ?? 120_000;
    this.transferConcurrency = opts.transferConcurrency ?? 4;
    this.apiSlots = new Semaphore(opts.concurrency ?? 4);
    this.sleep = opts.sleep ?? sleep;
    this.random = opts.random ?? Math.random;
    this.log = opts.log ?? (() => undefined);
  }

  /** The Authorization header, for API requests only (never for storage URLs). */
  authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}`, accept: 'application/json' };
  }

  /** An API URL with `workspaceId` (and `query`) in its query string. */
  url(path: string, query: Query = {}): URL {
    const u = new URL(this.apiUrl + path);
    u.searchParams.set('workspaceId', String(this.workspaceId));
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  /**
   * Runs `fn` with retries: transient failures (429, 5xx, network, stray HTML) are retried when the
   * call is idempotent, or when the failure proves the server did not act (a 429, a refused
   * connection). Anything else is thrown for the caller to re-check (e.g. by listing).
   */
  async retrying<T>(
    what: string,
    fn: () => Promise<T>,
    opts: { idempotent: boolean; signal?: AbortSignal; htmlFatal?: boolean },
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof DrimeError)) throw err;
        if (err.kind === 'html' && opts.htmlFatal) throw err;
        const canRetry = err.retryable && (opts.idempotent || err.notProcessed);
        if (!canRetry || attempt + 1 >= this.policy.attempts) throw err;
        const delay = retryDelay(attempt, this.policy, err.retryAfterMs, this.random);
        this.log(`drime: retrying ${what} in ${delay} ms (${err.message})`);
        await this.sleep(delay, opts.signal);
      }
    }
  }

  /** One JSON API call with retries; resolves with the parsed body. */
  async call(method: string, path: string, opts: CallOptions): Promise<Record<string, unknown>> {
    const url = this.url(path, opts.query);
    const what = `${method} ${path}`;
    let reauthed = false;
    for (;;) {
      try {
        return await this.retrying(what, () => this.callOnce(method, url, opts), opts);
      } catch (err) {
        // drime-api.md §1.2: re-check the token after any 401; retry once if it is still good.
        if (!(err instanceof DrimeError) || err.kind !== 'auth' || reauthed || path === '/cli/loggedUser')
          throw err;
        reauthed = true;
        await this.loggedUser(opts.signal);
      }
    }
  }

  private async callOnce(method: string, url: URL, opts: CallOptions): Promise<Record<string, unknown>> {
    const headers = this.authHeaders();
    let body: Buffer | (() => Readable) | undefined;
    if (opts.json) {
      // Laravel reads both; folder creation once landed in the wrong workspace without it (§1.4).
      body = Buffer.from(JSON.stringify({ workspaceId: this.workspaceId, ...opts.json }));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    } else if (opts.stream) {
      body = opts.stream.open;
      headers['content-type'] = opts.stream.contentType;
      headers['content-length'] = String(opts.stream.length);
    }
    const release = await this.apiSlots.acquire();
    try {
      const res = await sendRequest({
        method,
        url,
        headers,
        ...(body ? { body } : {}),
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const buf = await readAll(res.body, JSON_LIMIT);
      return this.interpret(res, buf, `${method} ${url.pathname}`);
    } finally {
      release();
    }
  }

  /** Classifies a buffered API response: JSON success, HTML, auth failure or an HTTP error. */
  interpret(
    res: Pick<HttpResponse, 'status' | 'headers'>,
    buf: Buffer,
    what: string,
  ): Record<string, unknown> {
    const ctype = String(res.headers['content-type'] ?? '');
    const text = buf.toString('utf8');
    if (/text\/html/i.test(ctype) || text.trimStart().startsWith('<')) {
      throw new DrimeError(
        'html',
        `Drime answered ${what} with an HTML page (status ${res.status}) instead of JSON: ` +
          `check the API URL (${this.apiUrl}) and the API token`,
        res.status,
      );
    }
    let parsed: unknown;
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.status >= 200 && res.status < 300) throw new DrimeError('protocol', `${what}: invalid JSON`);
      }
    }
    if (res.status === 401)
      throw new DrimeError('auth', extractMessage(parsed, text) || 'Unauthenticated.', 401);
    if (res.status < 200 || res.status >= 300) {
      const msg = extractMessage(parsed, text) || `HTTP ${res.status}`;
      throw new DrimeError(
        'http',
        `${what}: ${msg}`,
        res.status,
        parseRetryAfter(res.headers['retry-after']),
      );
    }
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  }

  /** `GET /cli/loggedUser`: the token check; throws `auth` when the token is not valid. */
  async loggedUser(signal?: AbortSignal): Promise<DrimeUser> {
    const body = await this.call('GET', '/cli/loggedUser', {
      idempotent: true,
      htmlFatal: true,
      ...(signal ? { signal } : {}),
    });
    return decodeUser(body);
  }

  async workspaces(): Promise<DrimeWorkspace[]> {
    const body = await this.call('GET', '/me/workspaces', { idempotent: true });
    const list = Array.isArray(body.workspaces) ? (body.workspaces as Array<Record<string, unknown>>) : [];
    return list.map((w) => ({ id: Number(w.id), name: typeof w.name === 'string' ? w.name : '' }));
  }

  /** `GET /user/space-usage`: `available` is the total allowance (null: unlimited). */
  async spaceUsage(): Promise<{ used: number; available: number | null }> {
    const body = await this.call('GET', '/user/space-usage', { idempotent: true });
    const available = body.available === null || body.available === undefined ? null : Number(body.available);
    return { used: Number(body.used ?? 0), available };
  }

  /**
   * Every entry of a listing, all pages, ordered by name (stable while writes happen) and
   * de-duplicated by id. Works with length-aware and simple paginators (drime-api.md §3.1).
   * Pages are offsets: an entry deleted meanwhile shifts later ones onto pages already read, so
   * when the paginator's `total` drops between pages the listing starts again, up to `attempts`
   * listings in all (`complete` is false when the last one still saw it drop). Our own deletions
   * are kept apart from listings by children-cache.ts.
   */
  async listAll(
    params: ListParams,
    signal?: AbortSignal,
    attempts = LIST_ATTEMPTS,
  ): Promise<{ entries: DrimeEntry[]; folderId?: number; pages: number; complete: boolean }> {
    for (let attempt = 1; ; attempt++) {
      const { shrank, ...r } = await this.listPages(params, signal);
      if (shrank === undefined || attempt >= attempts) return { ...r, complete: shrank === undefined };
      this.log(`drime: listing again, entries were deleted while it was paged (${shrank})`);
    }
  }

  private async listPages(
    params: ListParams,
    signal?: AbortSignal,
  ): Promise<{ entries: DrimeEntry[]; folderId?: number; pages: number; shrank?: string }> {
    const seen = new Set<number>();
    const entries: DrimeEntry[] = [];
    let folderId: number | undefined;
    let firstTotal: number | undefined;
    let shrank: string | undefined;
    let page = 1;
    for (; page < 1_000_000; page++) {
      const query: Query = { orderBy: 'name', orderDir: 'asc', perPage: this.perPage, page };
      if (params.parentIds !== undefined) query.parentIds = params.parentIds;
      if (params.folderId !== undefined) query.folderId = params.folderId;
      if (params.query !== undefined) query.query = params.query;
      if (params.deletedOnly) query.deletedOnly = 'true';
      if (params.backup !== undefined) query.backup = params.backup;
      if (params.type !== undefined) query.type = params.type;
      const body = await this.call('GET', '/drive/file-entries', {
        query,
        idempotent: true,
        ...(signal ? { signal } : {}),
      });
      if (!Array.isArray(body.data)) throw new DrimeError('protocol', 'listing without a data array');
      const data = body.data as unknown[];
      if (page === 1 && body.folder && typeof body.folder === 'object') {
        const fid = Number((body.folder as Record<string, unknown>).id);
        if (Number.isFinite(fid)) folderId = fid;
      }
      const total = body.total === undefined || body.total === null ? NaN : Number(body.total);
      if (Number.isFinite(total)) {
        if (firstTotal === undefined) firstTotal = total;
        else if (total < firstTotal) shrank ??= `total ${firstTotal} on page 1, ${total} on page ${page}`;
      }
      for (const raw of data) {
        const e = decodeEntry(raw);
        if (!seen.has(e.id)) {
          seen.add(e.id);
          entries.push(e);
        }
      }
      const current = Number(body.current_page ?? page);
      const perPage = Number(body.per_page ?? this.perPage);
      if (data.length === 0) break;
      if (body.last_page !== undefined && current >= Number(body.last_page)) break;
      if ('next_page' in body && body.next_page === null) break;
      if ('next_page_url' in body && body.next_page_url === null) break;
      if (data.length < perPage) break;
    }
    const out: { entries: DrimeEntry[]; folderId?: number; pages: number; shrank?: string } = {
      entries,
      pages: page,
    };
    if (folderId !== undefined) out.folderId = folderId;
    if (shrank !== undefined) out.shrank = shrank;
    return out;
  }

  /**
   * Live children of a folder (null: the workspace root), filtered client-side on parent,
   * workspace, trash and backup flags as drime-api.md §3.1 recommends.
   */
  async listChildren(parentId: number | null, signal?: AbortSignal): Promise<DrimeEntry[]> {
    return (await this.listChildrenPaged(parentId, signal)).entries;
  }

  /**
   * {@link DrimeClient.listChildren}, how many pages the listing took, and whether it may have a
   * hole (`complete: false`, see {@link DrimeClient.listAll}; `attempts` as there).
   */
  async listChildrenPaged(
    parentId: number | null,
    signal?: AbortSignal,
    attempts?: number,
  ): Promise<{ entries: DrimeEntry[]; pages: number; complete: boolean }> {
    const params: ListParams = parentId === null ? { folderId: 0 } : { parentIds: String(parentId) };
    const { entries, pages, complete } = await this.listAll(params, signal, attempts);
    return {
      entries: entries.filter(
        (e) =>
          e.parentId === parentId && e.workspaceId === this.workspaceId && e.deletedAt === null && !e.backup,
      ),
      pages,
      complete,
    };
  }

  /** `GET /file-entries/{id}` (JSON with Accept: application/json; includes trashed entries). */
  async getEntry(id: number): Promise<DrimeEntry> {
    const body = await this.call('GET', `/file-entries/${id}`, { idempotent: true });
    return decodeEntry(body.fileEntry);
  }

  /** `POST /folders` — not idempotent: failures are thrown for the caller to re-check. */
  async createFolder(name: string, parentId: number | null): Promise<DrimeEntry> {
    const body = await this.call('POST', '/folders', { json: { name, parentId }, idempotent: false });
    return decodeEntry(body.folder ?? body.fileEntry);
  }

  /**
   * `POST /file-entries/delete` with `deleteForever` always explicit (BeDrive defaults to true).
   * A 422 on a retry after an ambiguous failure means the first attempt already deleted — for one
   * id. For several, an id deleted by someone else meanwhile gives the same 422 while the first
   * attempt deleted nothing, so they are then deleted one by one.
   */
  async deleteEntries(ids: number[], forever: boolean): Promise<void> {
    if (ids.length === 0) return;
    let ambiguous = false;
    let oneByOne = false;
    await this.retrying(
      'POST /file-entries/delete',
      async () => {
        try {
          await this.callOnce('POST', this.url('/file-entries/delete'), {
            json: { entryIds: ids, deleteForever: forever },
            idempotent: true,
          });
        } catch (err) {
          if (ambiguous && err instanceof DrimeError && err.status === 422) {
            oneByOne = ids.length > 1;
            return;
          }
          if (err instanceof DrimeError && err.retryable && !err.notProcessed) ambiguous = true;
          throw err;
        }
      },
      { idempotent: true },
    );
    if (oneByOne) await this.deleteEach(ids, forever);
  }

  /**
   * Deletes every entry of `ids` that still exists: one request, and when Drime refuses it with
   * 422 because an id is gone already (`exists` validation, drime-api.md §7.1), one per id, a 422
   * then meaning that entry is gone.
   */
  async deleteEach(ids: number[], forever: boolean): Promise<void> {
    try {
      await this.deleteEntries(ids, forever);
    } catch (err) {
      if (!(err instanceof DrimeError) || err.status !== 422) throw err;
      if (ids.length === 1) return;
      for (const id of ids) await this.deleteEach([id], forever);
    }
  }

  async restoreEntries(ids: number[]): Promise<void> {
    await this.call('POST', '/file-entries/restore', { json: { entryIds: ids }, idempotent: true });
  }

  /** `POST /file-entries/move` (at most 30 ids are honoured by the server). */
  async moveEntries(ids: number[], destinationId: number | null): Promise<void> {
    for (let i = 0; i < ids.length; i += 30) {
      await this.call('POST', '/file-entries/move', {
        json: { entryIds: ids.slice(i, i + 30), destinationId },
        idempotent: true,
      });
    }
  }

  /** `POST /file-entries/duplicate` — not idempotent. */
  async duplicateEntries(ids: number[], destinationId: number | null): Promise<DrimeEntry[]> {
    const body = await this.call('POST', '/file-entries/duplicate', {
      json: { entryIds: ids, destinationId },
      idempotent: false,
    });
    return (Array.isArray(body.entries) ? body.entries : []).map(decodeEntry);
  }

  /** Rename: `POST /file-entries/{id}?_method=PUT` (method spoofing, as pydrime does). */
  async renameEntry(id: number, name: string, initialName?: string): Promise<DrimeEntry> {
    const body = await this.call('POST', `/file-entries/${id}`, {
      query: { _method: 'PUT' },
      json: { name, ...(initialName !== undefined ? { initialName } : {}) },
      idempotent: true,
    });
    return decodeEntry(body.fileEntry);
  }
}
