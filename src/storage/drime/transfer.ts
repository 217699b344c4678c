/**
 * Byte transfers over the Drime client: the simple form upload (`POST /uploads`), the presigned
 * single PUT, entry registration (`POST /s3/entries`) and streamed downloads that follow
 * redirects without the Bearer token, pass `Range` through, skip bytes when the host ignores it
 * and resume after a broken connection. Multipart uploads are in multipart.ts.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { DrimeClient } from './client.js';
import { DrimeError } from './errors.js';
import { drain, readAll, sendRequest, type HttpResponse } from './http.js';
import { parseRetryAfter, retryDelay } from './retry.js';
import { decodeEntry, newestFirst, type DrimeEntry } from './types.js';

/** A spooled local file to upload. */
export interface UploadSource {
  path: string;
  size: number;
}

/** Where and under which name an upload lands. */
export interface UploadTarget {
  name: string;
  parentId: number | null;
  mime: string;
  /** Sent as `clientExtension` on the storage paths: 1..10 safe characters (drime-api.md §9.5). */
  extension: string;
  /** How to look into and clean up the folder (default: the client's raw listing and delete). */
  folder?: TargetFolder;
}

/**
 * The target folder as the steps that recover from a lost answer see it: they list it to find what
 * the lost request made, and delete what they made by mistake (an incomplete upload).
 */
export interface TargetFolder {
  /** Live children. The backend's lists without holes (children-cache.ts). */
  list(signal?: AbortSignal): Promise<DrimeEntry[]>;
  /** Deletes entries of ours there for good; best effort (a failure leaves clutter, not data loss). */
  discard(entries: DrimeEntry[]): Promise<void>;
}

/** `target.folder`, or the client's plain listing and delete when the caller gave none. */
function folderOf(client: DrimeClient, target: UploadTarget): TargetFolder {
  return (
    target.folder ?? {
      list: (signal) => client.listChildren(target.parentId, signal),
      discard: (entries) =>
        client
          .deleteEntries(
            entries.map((e) => e.id),
            true,
          )
          .catch(() => undefined),
    }
  );
}

/** Reads a byte range of a file as a fresh stream (for retries). */
export function fileRange(path: string, start: number, length: number): () => Readable {
  return () =>
    length === 0 ? Readable.from([]) : createReadStream(path, { start, end: start + length - 1 });
}

/** Throws unless `e` is a complete upload of `size` bytes by a real user (drime-api.md §1.2, §9.2). */
function checkUploaded(e: DrimeEntry, size: number): void {
  if (e.userCount === 0 || e.ownerId === null) {
    throw new DrimeError(
      'protocol',
      `upload of "${e.name}" came back without an owner (incomplete or guest upload)`,
    );
  }
  if (e.fileSize !== size) {
    throw new DrimeError(
      'protocol',
      `upload of "${e.name}" came back with ${e.fileSize} bytes instead of ${size}`,
    );
  }
}

/** Whether a name can travel in a form-data filename without ambiguity. */
export function formSafeName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/["\\\r\n\u0000-\u001f\u007f]/.test(name);
}

/**
 * Runs a non-idempotent upload step: on an ambiguous failure it looks for the result with
 * `recheck` (a listing) before trying again; an incomplete/guest answer is deleted, the token
 * re-checked and the step retried (pydrime does the same, 3 attempts).
 */
async function uploadStep(
  client: DrimeClient,
  folder: TargetFolder,
  what: string,
  size: number,
  attempt: () => Promise<DrimeEntry>,
  recheck: () => Promise<DrimeEntry | undefined>,
  signal?: AbortSignal,
): Promise<DrimeEntry> {
  let incomplete = 0;
  for (let n = 0; ; n++) {
    let entry: DrimeEntry | undefined;
    try {
      entry = await client.retrying(what, attempt, { idempotent: false, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (!(err instanceof DrimeError) || !err.retryable || n + 1 >= client.policy.attempts) throw err;
      entry = await recheck();
      if (!entry) {
        await client.sleep(retryDelay(n, client.policy, err.retryAfterMs, client.random), signal);
        continue;
      }
    }
    try {
      checkUploaded(entry, size);
    } catch (err) {
      // Look at the entry itself before judging: the answer may just have been incomplete.
      const fresh = await client.getEntry(entry.id).catch(() => undefined);
      if (fresh && fresh.deletedAt === null && fresh.fileName === entry.fileName) {
        try {
          checkUploaded(fresh, size);
          entry = {
            ...fresh,
            ...(entry.parentTrashed !== undefined ? { parentTrashed: entry.parentTrashed } : {}),
          };
        } catch {
          // still incomplete: fall through to delete and retry
        }
      }
      if (entry.userCount === 0 || entry.ownerId === null || entry.fileSize !== size) {
        await folder.discard([entry]);
        await client.loggedUser(signal);
        if (++incomplete >= 3) throw err;
        continue;
      }
    }
    if (entry.parentTrashed) {
      await folder.discard([entry]);
      throw new DrimeError('gone', `the target folder of "${entry.name}" is in the trash`);
    }
    return entry;
  }
}

/**
 * `POST /uploads`: multipart/form-data streamed from the file. The entry's name is the part's
 * filename (drime-api.md §5.1), so `target.name` must be `formSafeName`. `knownIds` are the ids of
 * same-named siblings before the upload, to recognise our entry after an ambiguous failure.
 */
export async function uploadForm(
  client: DrimeClient,
  src: UploadSource,
  target: UploadTarget,
  knownIds: ReadonlySet<number>,
  signal?: AbortSignal,
): Promise<DrimeEntry> {
  if (!formSafeName(target.name)) throw new DrimeError('protocol', 'name not safe for a form upload');
  const boundary = `----s3local${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
  const fields: Array<[string, string]> = [['workspaceId', String(client.workspaceId)]];
  if (target.parentId !== null) fields.push(['parentId', String(target.parentId)]);
  let headText = '';
  for (const [k, v] of fields) {
    headText += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  }
  headText +=
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${target.name}"\r\n` +
    `Content-Type: ${target.mime}\r\n\r\n`;
  const head = Buffer.from(headText, 'utf8');
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const file = fileRange(src.path, 0, src.size);
  const open = (): Readable =>
    Readable.from(
      (async function* () {
        yield head;
        for await (const chunk of file()) yield chunk as Buffer;
        yield tail;
      })(),
    );
  const attempt = async (): Promise<DrimeEntry> => {
    const body = await client.call('POST', '/uploads', {
      stream: {
        open,
        length: head.length + src.size + tail.length,
        contentType: `multipart/form-data; boundary=${boundary}`,
      },
      idempotent: false,
      timeoutMs: client.transferTimeoutMs,
      ...(signal ? { signal } : {}),
    });
    return decodeEntry(body.fileEntry);
  };
  const folder = folderOf(client, target);
  const recheck = async (): Promise<DrimeEntry | undefined> => {
    const siblings = await folder.list(signal);
    return siblings
      .filter(
        (e) =>
          e.name === target.name && e.type !== 'folder' && e.fileSize === src.size && !knownIds.has(e.id),
      )
      .sort(newestFirst)[0];
  };
  return uploadStep(client, folder, 'POST /uploads', src.size, attempt, recheck, signal);
}

/** A request to a presigned storage URL: never carries the Drime token. Errors become DrimeErrors. */
export async function storageRequest(
  client: DrimeClient,
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: () => Readable,
  signal?: AbortSignal,
): Promise<HttpResponse> {
  const res = await sendRequest({
    method,
    url: new URL(url),
    headers,
    ...(body ? { body } : {}),
    timeoutMs: client.transferTimeoutMs,
    ...(signal ? { signal } : {}),
  });
  if (res.status >= 400) {
    const text = (await readAll(res.body, 1024 * 1024).catch(() => Buffer.alloc(0))).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '';
    const msg = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
    throw new DrimeError(
      'http',
      `storage ${method}: ${res.status} ${code} ${msg}`.trim(),
      res.status,
      parseRetryAfter(res.headers['retry-after']),
    );
  }
  // Storage never answers with a web page; a proxy or captive portal might.
  if (
    /text\/html/i.test(String(res.headers['content-type'] ?? '')) &&
    !/attachment/i.test(String(res.headers['content-disposition'] ?? ''))
  ) {
    drain(res.body);
    throw new DrimeError(
      'html',
      `storage ${method} answered with an HTML page (status ${res.status})`,
      res.status,
    );
  }
  if (method === 'PUT' && !res.headers.etag) {
    drain(res.body);
    throw new DrimeError('network', `storage PUT answered ${res.status} without an ETag`);
  }
  return res;
}

/** `POST /s3/entries`: registers a stored object (re-checked by its unique file_name when ambiguous). */
export async function registerEntry(
  client: DrimeClient,
  fileName: string,
  src: UploadSource,
  target: UploadTarget,
  signal?: AbortSignal,
): Promise<DrimeEntry> {
  const attempt = async (): Promise<DrimeEntry> => {
    const body = await client.call('POST', '/s3/entries', {
      json: {
        filename: fileName,
        size: src.size,
        clientName: target.name,
        clientExtension: target.extension,
        // BeDrive derives `type` from it with a string function: never send null (§5.4).
        clientMime: target.mime || 'application/octet-stream',
        parentId: target.parentId,
      },
      idempotent: false,
      ...(signal ? { signal } : {}),
    });
    return decodeEntry(body.fileEntry);
  };
  const folder = folderOf(client, target);
  const recheck = async (): Promise<DrimeEntry | undefined> =>
    (await folder.list(signal)).find((e) => e.fileName === fileName);
  return uploadStep(client, folder, 'POST /s3/entries', src.size, attempt, recheck, signal);
}

/**
 * The description of a new storage object that `/s3/simple/presign` and `/s3/multipart/create`
 * both take (drime-api.md §5).
 */
export function storageObjectFields(src: UploadSource, target: UploadTarget): Record<string, unknown> {
  return {
    filename: target.name,
    mime: target.mime,
    size: src.size,
    extension: target.extension,
    relativePath: '',
    parentId: target.parentId,
  };
}

/** The presigned single PUT (`/s3/simple/presign`, PUT, `/s3/entries`) for small objects (§5.2). */
export async function uploadPresigned(
  client: DrimeClient,
  src: UploadSource,
  target: UploadTarget,
  signal?: AbortSignal,
): Promise<DrimeEntry> {
  const sig = signal ? { signal } : {};
  const presign = await client.call('POST', '/s3/simple/presign', {
    json: storageObjectFields(src, target),
    idempotent: true,
    ...sig,
  });
  const url = typeof presign.url === 'string' ? presign.url : '';
  const key = typeof presign.key === 'string' ? presign.key : '';
  const fileName = key.split('/').pop() ?? '';
  if (!url || !fileName) throw new DrimeError('protocol', '/s3/simple/presign returned no url/key');
  const acl = typeof presign.acl === 'string' ? presign.acl : 'private';
  await client.retrying(
    'storage PUT',
    async () => {
      const res = await storageRequest(
        client,
        'PUT',
        url,
        { 'content-type': target.mime, 'x-amz-acl': acl, 'content-length': String(src.size) },
        fileRange(src.path, 0, src.size),
        signal,
      );
      drain(res.body);
    },
    { idempotent: true, ...sig },
  );
  return registerEntry(client, fileName, src, target, signal);
}
