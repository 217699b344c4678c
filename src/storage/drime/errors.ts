/**
 * Drime errors, and their translation to S3 errors at the backend's edge (DESIGN §3: a remote
 * backend throws only codes from the StorageBackend closed set).
 */
import { S3Error, isS3Error, type S3ErrorCode } from '../../s3/errors.js';

/**
 * - `http`: a JSON error status from the API or the storage host;
 * - `html`: an HTML page where JSON was expected (wrong URL, login page, proxy page);
 * - `network`: connection refused/reset, timeout, truncated body;
 * - `protocol`: a response that does not have the documented shape;
 * - `auth`: the token is missing, invalid or runs as a guest (drime-api.md §1.2);
 * - `gone`: the entry vanished or changed while being read.
 */
export type DrimeErrorKind = 'http' | 'html' | 'network' | 'protocol' | 'auth' | 'gone';

export class DrimeError extends Error {
  constructor(
    readonly kind: DrimeErrorKind,
    message: string,
    readonly status?: number,
    /** From Retry-After, for 429/503. */
    readonly retryAfterMs?: number,
    /** Network errors only: the request never reached the server (safe to resend anything). */
    readonly notSent = false,
  ) {
    super(message);
    this.name = 'DrimeError';
  }

  /** Transient: 429, 5xx, network errors and stray HTML pages. */
  get retryable(): boolean {
    if (this.kind === 'network' || this.kind === 'html') return true;
    return this.kind === 'http' && this.status !== undefined && (this.status === 429 || this.status >= 500);
  }

  /**
   * Certain that the server did not act on the request (429 is answered by the throttle before
   * any controller runs; a refused connection carried nothing).
   */
  get notProcessed(): boolean {
    return (this.kind === 'http' && this.status === 429) || (this.kind === 'network' && this.notSent);
  }
}

/** drime-api.md §8: `message`, else the first value of `errors` (a string or an array), else the raw body. */
export function extractMessage(body: unknown, raw: string): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; errors?: unknown };
    if (typeof b.message === 'string' && b.message !== '') return b.message;
    if (b.errors && typeof b.errors === 'object') {
      const first: unknown = Object.values(b.errors as Record<string, unknown>)[0];
      if (typeof first === 'string') return first;
      if (Array.isArray(first) && typeof first[0] === 'string') return first[0];
    }
  }
  return raw.slice(0, 200);
}

/** True for a Drime 422 that reports a duplicate folder name (BeDrive's `errors.name`). */
export function isDuplicateFolderError(err: unknown): boolean {
  return (
    err instanceof DrimeError && err.kind === 'http' && err.status === 422 && /same name/i.test(err.message)
  );
}

/**
 * Maps any error to an S3Error. `notFound` is what a Drime 404 means in the caller's context
 * (NoSuchKey for an object read, NoSuchBucket for a bucket).
 */
export function toS3Error(err: unknown, notFound: S3ErrorCode = 'InternalError'): S3Error {
  if (isS3Error(err)) return err;
  if (err instanceof Error && err.name === 'AbortError')
    return new S3Error('InternalError', 'request aborted');
  if (!(err instanceof DrimeError)) {
    return new S3Error('InternalError', `Drime backend: ${err instanceof Error ? err.message : String(err)}`);
  }
  switch (err.kind) {
    case 'gone':
      return new S3Error(notFound === 'InternalError' ? 'NoSuchKey' : notFound);
    case 'auth':
      return new S3Error('InternalError', `Drime refused the API token: ${err.message}`);
    case 'html':
      return new S3Error('InternalError', err.message);
    case 'network':
    case 'protocol':
      return new S3Error('InternalError', `Drime: ${err.message}`);
    case 'http':
      break;
  }
  const msg = err.message;
  if (err.status === 404)
    return new S3Error(notFound, notFound === 'InternalError' ? `Drime: ${msg}` : undefined);
  if (err.status === 422 || err.status === 403) {
    if (/exhausted your allowed space|quota/i.test(msg))
      return new S3Error('InsufficientStorage', `Drime: ${msg}`);
    if (/may not be greater|too large/i.test(msg)) return new S3Error('InvalidArgument', `Drime: ${msg}`);
  }
  return new S3Error('InternalError', `Drime answered ${err.status ?? '?'}: ${msg}`);
}
