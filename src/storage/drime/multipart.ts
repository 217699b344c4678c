/**
 * Drime's R2-style multipart upload (drime-api.md §5.3): create, sign part URLs lazily in small
 * batches, PUT fixed-size parts from the spooled file (bounded concurrency, retried, re-signed when
 * a URL expired), complete, then register with `POST /s3/entries`. Any failure aborts the upload.
 */
import type { DrimeClient } from './client.js';
import { DrimeError } from './errors.js';
import { drain } from './http.js';
import { mapLimit } from './retry.js';
import {
  fileRange,
  registerEntry,
  storageObjectFields,
  storageRequest,
  type UploadSource,
  type UploadTarget,
} from './transfer.js';
import type { DrimeEntry } from './types.js';

const MiB = 1024 * 1024;
/** R2: non-final parts are at least 5 MiB and at most 5 GiB; at most 10,000 parts. */
export const R2_MIN_PART = 5 * MiB;
export const R2_MAX_PART = 5 * 1024 * MiB;
export const R2_MAX_PARTS = 10_000;
const SIGN_BATCH = 8;
/** Re-sign before the server's 30-minute URL lifetime runs out. */
const URL_REUSE_MS = 20 * 60 * 1000;

/**
 * The fixed part size for `size` bytes: `preferred` rounded up to whole MiB within R2's limits,
 * grown when needed to stay within 10,000 parts. R2 requires every non-final part to have exactly
 * this size (and the last no larger), so S3 client part sizes are never passed through.
 */
export function partSizeFor(size: number, preferred: number): number {
  let p = Math.max(R2_MIN_PART, Math.ceil(preferred / MiB) * MiB);
  const needed = Math.ceil(size / R2_MAX_PARTS / MiB) * MiB;
  p = Math.max(p, needed);
  if (p > R2_MAX_PART)
    throw new DrimeError('protocol', `object too large for Drime multipart: ${size} bytes`);
  return p;
}

interface SignedUrl {
  url: string;
  at: number;
}

/** Uploads the file's bytes to storage; resolves with the new storage object's file name. */
export async function uploadMultipartBytes(
  client: DrimeClient,
  src: UploadSource,
  target: UploadTarget,
  partSize: number,
  signal?: AbortSignal,
): Promise<string> {
  const sig = signal ? { signal } : {};
  const created = await client.call('POST', '/s3/multipart/create', {
    json: storageObjectFields(src, target),
    // An orphaned session from an ambiguous retry costs nothing (R2 drops it after 7 days).
    idempotent: true,
    ...sig,
  });
  const key = typeof created.key === 'string' ? created.key : '';
  const uploadId = typeof created.uploadId === 'string' ? created.uploadId : '';
  const fileName = key.split('/').pop() ?? '';
  if (!key || !uploadId || !fileName)
    throw new DrimeError('protocol', '/s3/multipart/create returned no key/uploadId');

  const count = Math.max(1, Math.ceil(src.size / partSize));
  const urls = new Map<number, SignedUrl>();
  const signing = new Map<number, Promise<void>>();

  const sign = async (first: number): Promise<void> => {
    const batch = Math.floor((first - 1) / SIGN_BATCH);
    let p = signing.get(batch);
    if (!p) {
      const numbers: number[] = [];
      for (let n = batch * SIGN_BATCH + 1; n <= Math.min(count, (batch + 1) * SIGN_BATCH); n++)
        numbers.push(n);
      p = client
        .call('POST', '/s3/multipart/batch-sign-part-urls', {
          json: { key, uploadId, partNumbers: numbers },
          idempotent: true,
          ...sig,
        })
        .then((body) => {
          const list = Array.isArray(body.urls) ? (body.urls as Array<Record<string, unknown>>) : [];
          const at = Date.now();
          for (const u of list)
            if (typeof u.url === 'string') urls.set(Number(u.partNumber), { url: u.url, at });
        })
        .finally(() => signing.delete(batch));
      signing.set(batch, p);
    }
    await p;
  };

  const urlFor = async (n: number, fresh: boolean): Promise<string> => {
    const cur = urls.get(n);
    if (fresh || !cur || Date.now() - cur.at > URL_REUSE_MS) {
      urls.delete(n);
      await sign(n);
    }
    const u = urls.get(n);
    if (!u) throw new DrimeError('protocol', `no signed URL for part ${n}`);
    return u.url;
  };

  const putPart = async (n: number): Promise<{ PartNumber: number; ETag: string }> => {
    const start = (n - 1) * partSize;
    const length = Math.min(partSize, src.size - start);
    let fresh = false;
    const etag = await client.retrying(
      `PUT part ${n}`,
      async () => {
        const url = await urlFor(n, fresh);
        fresh = false;
        try {
          const res = await storageRequest(
            client,
            'PUT',
            url,
            { 'content-type': 'application/octet-stream', 'content-length': String(length) },
            fileRange(src.path, start, length),
            signal,
          );
          drain(res.body);
          const tag = res.headers.etag;
          if (typeof tag !== 'string' || tag === '') throw new DrimeError('protocol', `part ${n}: no ETag`);
          return tag;
        } catch (err) {
          // An expired or rejected signature: sign again and let the retry loop resend.
          if (err instanceof DrimeError && err.status === 403) {
            fresh = true;
            throw new DrimeError('http', err.message, 503);
          }
          throw err;
        }
      },
      { idempotent: true, ...sig },
    );
    // Sent back exactly as R2 returned it (quoted), as the docs ask (§5.3 step 4).
    return { PartNumber: n, ETag: etag };
  };

  try {
    const numbers = Array.from({ length: count }, (_, i) => i + 1);
    const parts = await mapLimit(numbers, client.transferConcurrency, putPart);
    let ambiguous = false;
    await client.retrying(
      'POST /s3/multipart/complete',
      async () => {
        try {
          await client.call('POST', '/s3/multipart/complete', {
            json: { key, uploadId, parts },
            idempotent: false,
            ...sig,
          });
        } catch (err) {
          // A 404 after an ambiguous attempt: that attempt completed (registration verifies it).
          if (ambiguous && err instanceof DrimeError && err.status === 404) return;
          if (err instanceof DrimeError && err.retryable) ambiguous = true;
          throw err;
        }
      },
      { idempotent: true, ...sig },
    );
  } catch (err) {
    await client
      .call('POST', '/s3/multipart/abort', { json: { key, uploadId }, idempotent: true })
      .catch(() => undefined);
    throw err;
  }
  return fileName;
}

/** The whole large-object path: multipart bytes, then `POST /s3/entries`. */
export async function uploadMultipart(
  client: DrimeClient,
  src: UploadSource,
  target: UploadTarget,
  preferredPartSize: number,
  signal?: AbortSignal,
): Promise<DrimeEntry> {
  const fileName = await uploadMultipartBytes(
    client,
    src,
    target,
    partSizeFor(src.size, preferredPartSize),
    signal,
  );
  return registerEntry(client, fileName, src, target, signal);
}

/** `POST /s3/multipart/get-uploaded-parts`: the parts R2 holds (for resume/diagnostics). */
export async function uploadedParts(
  client: DrimeClient,
  key: string,
  uploadId: string,
): Promise<Array<{ partNumber: number; etag: string; size: number }>> {
  const body = await client.call('POST', '/s3/multipart/get-uploaded-parts', {
    json: { key, uploadId },
    idempotent: true,
  });
  const list = Array.isArray(body.parts) ? (body.parts as Array<Record<string, unknown>>) : [];
  return list.map((p) => ({ partNumber: Number(p.PartNumber), etag: String(p.ETag), size: Number(p.Size) }));
}
