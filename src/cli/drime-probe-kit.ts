/**
 * Tools for the `s3local drime check` probes (drime-probes.ts): raw API requests that show what
 * the server really answered (status, headers, redirects not followed), small uploads from a
 * private temp directory, and the result shape every probe returns.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import type { DrimeClient, Query } from '../storage/drime/client.js';
import { DrimeError } from '../storage/drime/errors.js';
import { readAll, sendRequest } from '../storage/drime/http.js';
import { uploadForm, uploadPresigned } from '../storage/drime/transfer.js';
import type { DrimeEntry } from '../storage/drime/types.js';

/** PASS: Drime behaves as s3local expects. DIFFERENT: it does not (see the detail). ERROR: the probe could not run. */
export type ProbeStatus = 'PASS' | 'DIFFERENT' | 'ERROR';

export interface ProbeResult {
  /** `1`..`8` for the questions of drime-api.md §13, `A`.. for the other unverified points. */
  id: string;
  title: string;
  status: ProbeStatus;
  /** What was observed, one finding per line. */
  detail: string[];
}

/** A raw API answer: nothing interpreted, redirects not followed. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, when it is JSON. */
  json?: Record<string, unknown>;
}

const RAW_LIMIT = 8 * 1024 * 1024;

/**
 * One API request with the Bearer token and `workspaceId` (query, and JSON body for POST/PUT),
 * without retries or redirects, so a probe sees exactly what the server answered.
 */
export async function rawApi(
  client: DrimeClient,
  method: string,
  path: string,
  opts: { query?: Query; json?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...client.authHeaders(), ...opts.headers };
  let body: Buffer | undefined;
  if (opts.json) {
    body = Buffer.from(JSON.stringify({ workspaceId: client.workspaceId, ...opts.json }));
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  const res = await sendRequest({
    method,
    url: client.url(path, opts.query),
    headers,
    ...(body ? { body } : {}),
    timeoutMs: client.timeoutMs,
  });
  return answer(res.status, res.headers, await readAll(res.body, RAW_LIMIT));
}

/** A GET of an absolute URL (a storage redirect target) WITHOUT the Drime token. */
export async function rawGet(
  client: DrimeClient,
  url: string,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const res = await sendRequest({ method: 'GET', url: new URL(url), headers, timeoutMs: client.timeoutMs });
  return answer(res.status, res.headers, await readAll(res.body, RAW_LIMIT));
}

function answer(status: number, headers: IncomingHttpHeaders, body: Buffer): RawAnswer {
  const out: RawAnswer = { status, headers, body };
  if (/json/i.test(String(headers['content-type'] ?? ''))) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as unknown;
      if (parsed && typeof parsed === 'object') out.json = parsed as Record<string, unknown>;
    } catch {
      // not JSON after all: leave json unset
    }
  }
  return out;
}

/** `status content-type` of an answer, for detail lines. */
export function describeAnswer(a: RawAnswer): string {
  const ctype = String(a.headers['content-type'] ?? 'no content-type').split(';')[0];
  return `${a.status} ${ctype}`;
}

/** A short message for a failed call. */
export function errorText(err: unknown): string {
  if (err instanceof DrimeError) return err.status ? `${err.status}: ${err.message}` : err.message;
  return err instanceof Error ? err.message : String(err);
}

/** True when `err` is an HTTP error answer of the API (a refusal, not a broken connection). */
export function isRefusal(err: unknown): err is DrimeError {
  return err instanceof DrimeError && err.kind === 'http' && err.status !== undefined && err.status < 500;
}

/** Small uploads for the probes, staged in a private temp directory. */
export class ProbeUploader {
  private constructor(
    private readonly client: DrimeClient,
    private readonly dir: string,
    private n = 0,
  ) {}

  static async create(client: DrimeClient): Promise<ProbeUploader> {
    return new ProbeUploader(client, await mkdtemp(join(tmpdir(), 's3local-drime-check-')));
  }

  private async stage(data: Buffer | string): Promise<{ path: string; size: number }> {
    const path = join(this.dir, `f${++this.n}`);
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    await writeFile(path, buf, { mode: 0o600 });
    return { path, size: buf.length };
  }

  /** `POST /uploads` (the name and extension come from the form filename). */
  async form(name: string, parentId: number | null, data: Buffer | string): Promise<DrimeEntry> {
    const src = await this.stage(data);
    const dot = name.lastIndexOf('.');
    const extension = dot > 0 ? name.slice(dot + 1) : 'bin';
    return uploadForm(this.client, src, { name, parentId, mime: 'text/plain', extension }, new Set());
  }

  /** The presigned single PUT, then `POST /s3/entries`. */
  async presigned(name: string, parentId: number | null, data: Buffer | string): Promise<DrimeEntry> {
    const src = await this.stage(data);
    return uploadPresigned(this.client, src, {
      name,
      parentId,
      mime: 'application/octet-stream',
      extension: 'bin',
    });
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
