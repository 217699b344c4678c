/**
 * The access log: one entry per request, written when the response is done (or the connection
 * dropped). Never holds a header, a query string or a signature: only what identifies the request
 * (id, client address, operation, bucket, key, access key id) and what happened to it.
 */

/** One request, as logged. JSON lines carry exactly these fields. */
export interface AccessEntry {
  /** When the request arrived (ISO 8601). */
  time: string;
  /** x-amz-request-id, also in the response headers and error bodies. */
  id: string;
  /** The client's address (the proxy's, behind a reverse proxy). */
  remote: string;
  method: string;
  /** The S3 operation (PutObject, ListObjectsV2 ...), `Health`/`Metrics`, or `unrouted`. */
  operation: string;
  bucket?: string;
  key?: string;
  /** The access key id that signed the request (not a secret), when authenticated. */
  user?: string;
  status: number;
  /** The S3 error code, for error responses. */
  error?: string;
  /** Bytes received on the connection for this request (request line, headers and body). */
  bytesIn: number;
  /** Bytes sent on the connection for this request (status line, headers and body). */
  bytesOut: number;
  /** Milliseconds from the request's arrival to the end of its response. */
  ms: number;
  /** True when the connection closed before the response was complete. */
  aborted?: boolean;
}

/** `1.5KiB`, `12MiB`, `0B`: sizes for reading, not parsing (JSON lines keep exact numbers). */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${units[i]}`;
}

/** A bucket or key printed safely: quoted (JSON) when it has spaces, quotes or control characters. */
function safe(s: string): string {
  return /^[\x21-\x7e\u00a0-\uffff]+$/.test(s) && !s.includes('"') ? s : JSON.stringify(s);
}

/**
 * The text form of an entry, for a terminal:
 * `200 PutObject default/photos/a.jpg in=1.2MiB out=412B 35ms 127.0.0.1 id=6A0F...`.
 */
export function formatAccessText(e: AccessEntry): string {
  const target = e.bucket === undefined ? '-' : safe(e.key ? `${e.bucket}/${e.key}` : e.bucket);
  let line = `${e.status} ${e.operation}`;
  if (e.error !== undefined) line += ` ${e.error}`;
  line += ` ${target} in=${humanBytes(e.bytesIn)} out=${humanBytes(e.bytesOut)} ${e.ms}ms ${e.remote}`;
  if (e.user !== undefined) line += ` user=${safe(e.user)}`;
  if (e.aborted) line += ' aborted';
  return `${line} id=${e.id}`;
}
