/**
 * Streamed downloads (drime-api.md §6): `GET /file-entries/download/{hash}` with the Bearer token,
 * redirects followed by hand WITHOUT the token, `Range` passed through (206 trusted via
 * Content-Range; a 200 answer is skipped into), an empty-ZIP answer for a vanished entry detected,
 * and broken connections resumed from the last byte delivered — from the same presigned storage
 * URL when there was one, so a concurrent overwrite never mixes two versions into one body.
 */
import { Readable } from 'node:stream';
import type { DrimeClient } from './client.js';
import { DrimeError } from './errors.js';
import { drain, readAll, sendRequest, type HttpResponse } from './http.js';
import { retryDelay } from './retry.js';
import { storageRequest } from './transfer.js';

const MAX_REDIRECTS = 5;

export interface DownloadTarget {
  /** The entry's `hash` field (used as-is, drime-api.md §2.1). */
  hash: string;
  /** The size the listing reported, to verify the answer. */
  size: number;
  name: string;
  /** The `file_name` the listing reported: a redirect to another storage object means the file changed. */
  fileName?: string;
}

interface Opened {
  res: HttpResponse;
  /** Bytes to discard before the wanted ones (the host ignored Range). */
  skip: number;
  /** The presigned storage URL the bytes came from (redirect mode). */
  storageUrl?: string;
  /** The response's ETag, when the host sent one. */
  etag?: string;
}

function looksLikeZip(res: HttpResponse, name: string): boolean {
  const ctype = String(res.headers['content-type'] ?? '');
  const disp = String(res.headers['content-disposition'] ?? '');
  return (/application\/zip/i.test(ctype) || /download-\d+\.zip/i.test(disp)) && !/\.zip$/i.test(name);
}

function rangeHeader(t: DownloadTarget, pos: number, end: number): Record<string, string> {
  return pos > 0 || end < t.size - 1 ? { range: `bytes=${pos}-${end}` } : {};
}

/** Checks a 200/206 answer against the wanted bytes; returns how many bytes to skip. */
function checkBytes(res: HttpResponse, t: DownloadTarget, pos: number): number {
  if (res.status !== 200 && res.status !== 206)
    throw new DrimeError('protocol', `download answered ${res.status}`);
  if (looksLikeZip(res, t.name)) {
    throw new DrimeError('gone', `"${t.name}" is no longer downloadable (the server answered with a ZIP)`);
  }
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) > pos)
      throw new DrimeError('protocol', `bad Content-Range: ${String(res.headers['content-range'])}`);
    if (m[3] !== '*' && Number(m[3]) !== t.size)
      throw new DrimeError('gone', `"${t.name}" changed size while being read`);
    return pos - Number(m[1]);
  }
  const len = res.headers['content-length'];
  if (len !== undefined && Number(len) !== t.size)
    throw new DrimeError('gone', `"${t.name}" changed size while being read`);
  return pos;
}

function opened(res: HttpResponse, t: DownloadTarget, pos: number, storageUrl?: string): Opened {
  let skip: number;
  try {
    skip = checkBytes(res, t, pos);
  } catch (err) {
    drain(res.body);
    throw err;
  }
  const o: Opened = { res, skip };
  if (storageUrl) o.storageUrl = storageUrl;
  if (typeof res.headers.etag === 'string') o.etag = res.headers.etag;
  return o;
}

/** Opens the bytes `pos..end` through the API; follows redirects without the Authorization header. */
async function openViaApi(
  client: DrimeClient,
  t: DownloadTarget,
  pos: number,
  end: number,
  signal?: AbortSignal,
): Promise<Opened> {
  const range = rangeHeader(t, pos, end);
  const url = client.url(`/file-entries/download/${encodeURIComponent(t.hash)}`);
  const release = await client.apiSlots.acquire();
  let res: HttpResponse;
  try {
    res = await sendRequest({
      method: 'GET',
      url,
      headers: { ...client.authHeaders(), accept: '*/*', ...range },
      timeoutMs: client.timeoutMs,
      ...(signal ? { signal } : {}),
    });
  } finally {
    release();
  }
  let hops = 0;
  let current = url;
  while (res.status >= 300 && res.status < 400 && res.headers.location) {
    drain(res.body);
    if (++hops > MAX_REDIRECTS) throw new DrimeError('protocol', 'too many download redirects');
    current = new URL(res.headers.location, current);
    // Presigned storage keys are `uploads/<file_name>/<file_name>` (drime-api.md §2.1): a different
    // name means the entry was re-uploaded (replace mode) since it was listed.
    const stored = /\/uploads\/([^/]+)\/\1$/.exec(decodeURIComponent(current.pathname))?.[1];
    if (t.fileName && stored && stored !== t.fileName)
      throw new DrimeError('gone', `"${t.name}" changed while being read`);
    // The presigned URL carries its own signature: the Bearer token must not go there.
    res = await storageRequest(
      client,
      'GET',
      current.toString(),
      { accept: '*/*', ...range },
      undefined,
      signal,
    );
  }
  // A file streamed by the API host comes as an attachment (with the file's own MIME type, which may
  // well be HTML or JSON); a page or JSON body without one is an API answer, not the file.
  const apiAnswer =
    hops === 0 &&
    /text\/html|application\/json/i.test(String(res.headers['content-type'] ?? '')) &&
    !/attachment/i.test(String(res.headers['content-disposition'] ?? ''));
  if (res.status >= 400 || apiAnswer) {
    const buf = await readAll(res.body, 1024 * 1024);
    client.interpret(res, buf, `GET /file-entries/download`);
    throw new DrimeError('protocol', `download answered ${res.status} with a JSON body`);
  }
  return opened(res, t, pos, hops > 0 ? current.toString() : undefined);
}

/** Re-opens `pos..end` from a presigned storage URL obtained earlier (no token). */
async function openViaStorage(
  client: DrimeClient,
  t: DownloadTarget,
  url: string,
  pos: number,
  end: number,
  signal?: AbortSignal,
): Promise<Opened> {
  const res = await storageRequest(
    client,
    'GET',
    url,
    { accept: '*/*', ...rangeHeader(t, pos, end) },
    undefined,
    signal,
  );
  return opened(res, t, pos, url);
}

/**
 * The bytes `range.start..range.end` (default: all) of a file as a stream with back-pressure. The
 * first request is made before this resolves, so a missing or changed entry rejects here (a clean
 * S3 error before any header is sent); later failures resume from the last byte delivered, and
 * the stream errors with a DrimeError when they persist. Destroying it aborts the transfer.
 */
export async function openDownload(
  client: DrimeClient,
  t: DownloadTarget,
  range?: { start: number; end: number },
  signal?: AbortSignal,
): Promise<Readable> {
  const start = range?.start ?? 0;
  const end = range?.end ?? t.size - 1;
  if (start > end) return Readable.from([]);
  let first: Opened | undefined;
  for (let failures = 0; !first;) {
    try {
      first = await openViaApi(client, t, start, end, signal);
    } catch (err) {
      if (!(err instanceof DrimeError) || !err.retryable || ++failures >= client.policy.attempts) throw err;
      await client.sleep(retryDelay(failures - 1, client.policy, err.retryAfterMs, client.random), signal);
    }
  }
  const pinned = { url: first.storageUrl, etag: first.etag };
  let pending: Opened | undefined = first;

  const reopen = async (pos: number): Promise<Opened> => {
    let o: Opened;
    if (pinned.url) {
      try {
        o = await openViaStorage(client, t, pinned.url, pos, end, signal);
      } catch (err) {
        // The presigned URL expired (403) or the object is gone: the version we started is lost.
        if (err instanceof DrimeError && !err.retryable)
          throw new DrimeError('gone', `"${t.name}" changed while being read`);
        throw err;
      }
    } else o = await openViaApi(client, t, pos, end, signal);
    if (pinned.etag && o.etag && o.etag !== pinned.etag) {
      drain(o.res.body);
      throw new DrimeError('gone', `"${t.name}" changed while being read`);
    }
    return o;
  };

  async function* bytes(): AsyncGenerator<Buffer> {
    let pos = start;
    let failures = 0;
    while (pos <= end) {
      let o: Opened | undefined;
      try {
        o = pending ?? (await reopen(pos));
        pending = undefined;
        let skip = o.skip;
        for await (const chunk of o.res.body) {
          let c = chunk as Buffer;
          if (skip > 0) {
            if (c.length <= skip) {
              skip -= c.length;
              continue;
            }
            c = c.subarray(skip);
            skip = 0;
          }
          if (c.length > end - pos + 1) c = c.subarray(0, end - pos + 1);
          pos += c.length;
          failures = 0;
          yield c;
          if (pos > end) break;
        }
        if (pos <= end) throw new DrimeError('network', `download of "${t.name}" ended early at byte ${pos}`);
      } catch (caught) {
        // A connection cut mid-body surfaces as a plain 'aborted'/ECONNRESET error on the response.
        const err =
          caught instanceof DrimeError || (caught as Error)?.name === 'AbortError' || signal?.aborted
            ? caught
            : new DrimeError(
                'network',
                `download of "${t.name}": ${(caught as Error)?.message ?? String(caught)}`,
              );
        if (!(err instanceof DrimeError) || !err.retryable || ++failures >= client.policy.attempts) throw err;
        client.log(`drime: resuming download of "${t.name}" at byte ${pos} (${err.message})`);
        await client.sleep(retryDelay(failures - 1, client.policy, err.retryAfterMs, client.random), signal);
      } finally {
        o?.res.body.destroy();
      }
    }
  }
  const out = Readable.from(bytes(), { objectMode: false });
  // Destroyed before the first read: release the connection opened above.
  out.once('close', () => pending?.res.body.destroy());
  return out;
}
