/**
 * A faithful fake of the Drime Cloud API (drime-api.md §12) on node:http, port 0, for tests:
 * `/api/v1/...` (the API) and `/__r2/...` (the presigned storage host). Test code, not product.
 *
 *   const fake = await startFakeDrime({ sameName: 'replace' });
 *   // fake.apiUrl, fake.token, fake.state (inspectable), fake.faults (injection), fake.requests (log)
 *   await fake.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { UrlSigner, int, json, type ApiContext, type FakeRequest, type FakeResponse } from './context.js';
import { FaultInjector, type FaultRule } from './faults.js';
import { parseFormData } from './form-data.js';
import * as drive from './routes-drive.js';
import { download, storage } from './routes-storage.js';
import * as upload from './routes-upload.js';
import { FakeDrimeState, type FakeOptions, type FakeUser } from './state.js';

export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  /** An Authorization header was present. */
  authorization: boolean;
  /** `workspaceId` as sent in the query string (null when absent). */
  workspaceIdQuery: string | null;
  /** `workspaceId` as sent in the JSON or form body (undefined when absent). */
  workspaceIdBody: unknown;
  status: number;
  fault?: string;
}

export interface FakeDrime {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `http://127.0.0.1:<port>/api/v1` */
  apiUrl: string;
  /** The default user's Bearer token. */
  token: string;
  user: FakeUser;
  state: FakeDrimeState;
  faults: FaultInjector;
  requests: LoggedRequest[];
  /** API requests (not storage) being handled right now, and the most ever seen at once. */
  stats: { apiInFlight: number; maxApiInFlight: number };
  close(): Promise<void>;
}

const HTML_PAGE =
  '<!DOCTYPE html><html><head><title>Drime</title></head><body><div id="root"></div></body></html>';

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type Handler = (ctx: ApiContext, arg: string) => FakeResponse;

const ROUTES: Array<[string, RegExp, Handler]> = [
  ['GET', /^\/cli\/loggedUser$/, (c) => drive.loggedUser(c)],
  ['GET', /^\/me\/workspaces$/, (c) => drive.workspaces(c)],
  ['GET', /^\/user\/space-usage$/, (c) => drive.spaceUsage(c)],
  ['GET', /^\/drive\/file-entries$/, (c) => drive.listEntries(c)],
  ['GET', /^\/file-entries\/download\/([^/]+)$/, download],
  ['POST', /^\/file-entries\/delete$/, (c) => drive.deleteEntries(c)],
  ['POST', /^\/file-entries\/restore$/, (c) => drive.restoreEntries(c)],
  ['POST', /^\/file-entries\/move$/, (c) => drive.moveEntries(c)],
  ['POST', /^\/file-entries\/duplicate$/, (c) => drive.duplicateEntries(c)],
  ['GET', /^\/file-entries\/([^/]+)$/, drive.getEntry],
  ['PUT', /^\/file-entries\/([^/]+)$/, drive.renameEntry],
  ['POST', /^\/folders$/, (c) => drive.createFolder(c)],
  ['GET', /^\/folders\/([^/]+)\/count$/, drive.folderCount],
  ['GET', /^\/folders\/([^/]+)\/path$/, drive.folderPath],
  ['GET', /^\/users\/([^/]+)\/folders$/, (c) => drive.userFolders(c)],
  ['POST', /^\/uploads$/, (c) => upload.simpleUpload(c)],
  ['POST', /^\/s3\/simple\/presign$/, (c) => upload.simplePresign(c)],
  ['POST', /^\/s3\/multipart\/create$/, (c) => upload.multipartCreate(c)],
  ['POST', /^\/s3\/multipart\/batch-sign-part-urls$/, (c) => upload.multipartSign(c)],
  ['POST', /^\/s3\/multipart\/get-uploaded-parts$/, (c) => upload.multipartParts(c)],
  ['POST', /^\/s3\/multipart\/complete$/, (c) => upload.multipartComplete(c)],
  ['POST', /^\/s3\/multipart\/abort$/, (c) => upload.multipartAbort(c)],
  ['POST', /^\/s3\/entries$/, (c) => upload.s3Entries(c)],
];

/** The JSON body's fields (empty for other bodies). */
function jsonFields(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const ctype = req.headers['content-type'] ?? '';
  if (!ctype.includes('application/json') || body.length === 0) return {};
  const parsed = JSON.parse(body.toString('utf8')) as unknown;
  return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
}

function faultResponse(rule: FaultRule): FakeResponse | 'reset' {
  switch (rule.kind) {
    case 'status':
      if (rule.status === 429) {
        return {
          status: 429,
          headers: {
            'retry-after': rule.retryAfter ?? '1',
            'x-ratelimit-limit': '60',
            'x-ratelimit-remaining': '0',
          },
          json: { message: 'Too Many Attempts.' },
        };
      }
      return json(rule.status ?? 500, { message: 'There was an issue. Please try again later.' });
    case 'html':
      return { status: 200, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: HTML_PAGE };
    case 'reset':
      return 'reset';
    case 'slow':
    case 'truncate':
    case 'users-empty':
      throw new Error(`not a replacing fault: ${rule.kind}`);
  }
}

/** Starts the fake on 127.0.0.1, port 0. */
export async function startFakeDrime(options: Partial<FakeOptions> = {}): Promise<FakeDrime> {
  const state = new FakeDrimeState(options);
  const token = '1|fake-token-for-tests';
  const user = state.addUser(token, 'tester@example.test');
  const faults = new FaultInjector();
  const signer = new UrlSigner();
  const requests: LoggedRequest[] = [];
  const stats = { apiInFlight: 0, maxApiInFlight: 0 };
  let origin = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const isApi = (req.url ?? '').startsWith('/api/');
    if (isApi) stats.maxApiInFlight = Math.max(stats.maxApiInFlight, ++stats.apiInFlight);
    try {
      await handleCounted(req, res);
    } finally {
      if (isApi) stats.apiInFlight--;
    }
  }

  async function handleCounted(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', origin);
    let method = req.method ?? 'GET';
    const path = url.pathname;
    const log: LoggedRequest = {
      method,
      path,
      query: url.search,
      authorization: req.headers.authorization !== undefined,
      workspaceIdQuery: url.searchParams.get('workspaceId'),
      workspaceIdBody: undefined,
      status: 0,
    };
    requests.push(log);
    const isStorage = path.startsWith('/__r2/');
    const isUpload = /^\/api\/v1\/(uploads|s3\/entries)$/.test(path);
    const rule = faults.pick(method, path, {
      bytes: isStorage || path.startsWith('/api/v1/file-entries/download/'),
      upload: isUpload,
      query: url.search,
    });
    if (rule) log.fault = `${rule.kind}${rule.status ? ` ${rule.status}` : ''} ${rule.phase ?? 'before'}`;
    const slow = rule?.kind === 'slow' ? rule : undefined;
    const wait = (r: FaultRule) => r.until ?? sleep(r.delayMs ?? 1000);
    if (slow && (slow.phase ?? 'before') === 'before') await wait(slow);
    const before = rule && (rule.phase ?? 'before') === 'before' && rule.kind !== 'slow' ? rule : undefined;
    const after = rule && rule.phase === 'after' && rule.kind !== 'slow' ? rule : undefined;

    let out: FakeResponse | 'reset';
    if (before && before.kind !== 'truncate' && before.kind !== 'users-empty') out = faultResponse(before);
    else out = dispatch(req, url, body, method, log);
    method = log.method;
    if (slow && slow.phase === 'after') await wait(slow);
    if (after && out !== 'reset') {
      if (after.kind === 'users-empty') {
        const j = out.json as { fileEntry?: { users?: unknown[] } } | undefined;
        if (j?.fileEntry) j.fileEntry.users = [];
      } else if (after.kind !== 'truncate') out = faultResponse(after);
    }
    if (out === 'reset') {
      log.status = -1;
      req.socket.destroy();
      return;
    }
    log.status = out.status;
    const headers: Record<string, string> = { ...out.headers };
    let payload: Buffer;
    if (out.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = Buffer.from(JSON.stringify(out.json));
    } else payload = typeof out.body === 'string' ? Buffer.from(out.body) : (out.body ?? Buffer.alloc(0));
    headers['content-length'] = String(payload.length);
    res.writeHead(out.status, headers);
    if ((after ?? before)?.kind === 'truncate' && payload.length > 1) {
      res.write(payload.subarray(0, Math.floor(payload.length / 2)), () => req.socket.destroy());
      return;
    }
    res.end(req.method === 'HEAD' ? undefined : payload);
  }

  function dispatch(
    req: IncomingMessage,
    url: URL,
    body: Buffer,
    method: string,
    log: LoggedRequest,
  ): FakeResponse {
    const path = url.pathname;
    const headers = req.headers;
    if (path.startsWith('/__r2/')) {
      return storage(state, signer, { method, path, query: url.searchParams, headers, body, params: {} });
    }
    if (!path.startsWith('/api/v1/')) {
      return { status: 200, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: HTML_PAGE };
    }
    let bodyFields: Record<string, unknown>;
    let form: FakeRequest['form'];
    try {
      bodyFields = jsonFields(req, body);
      const ctype = headers['content-type'] ?? '';
      if (ctype.startsWith('multipart/form-data')) {
        form = parseFormData(body, ctype);
        for (const p of form) if (p.filename === undefined) bodyFields[p.name] = p.data.toString('utf8');
      }
    } catch {
      return json(400, { message: 'Malformed request body.' });
    }
    log.workspaceIdBody = bodyFields.workspaceId;
    const params: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...bodyFields };
    if (method === 'POST' && typeof params._method === 'string') method = params._method.toUpperCase();
    log.method = method;
    const sub = path.slice('/api/v1'.length);
    const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    const u = bearer === undefined ? undefined : state.userByToken(bearer);
    const guestOk = method === 'POST' && sub === '/uploads' && state.options.guestUploads;
    if (!u && !guestOk) return json(401, { message: 'Unauthenticated.' });
    const ws = int(params, 'workspaceId') ?? 0;
    if (Number.isNaN(ws) || (u && !state.canUseWorkspace(u, ws))) {
      return json(403, { message: "You don't have required permissions for this action." });
    }
    const request: FakeRequest = { method, path, query: url.searchParams, headers, body, params };
    if (form) request.form = form;
    const ctx: ApiContext = { state, req: request, user: u, ws, origin, signer };
    for (const [m, re, h] of ROUTES) {
      const match = re.exec(sub);
      if (match && m === method) return h(ctx, decodeURIComponent(match[1] ?? ''));
    }
    return json(404, { message: 'Not found.' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `fake error: ${String(err)}` }));
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 2000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    apiUrl: `${origin}/api/v1`,
    token,
    user,
    state,
    faults,
    requests,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
