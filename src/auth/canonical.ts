/**
 * The request as the signers see it: raw path, raw query parameters, raw header values, and the
 * S3 flavour of SigV4 URI encoding.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * One query parameter as sent: raw (still percent-encoded) and decoded forms. `key`/`value` keep a
 * raw `+` as `+` (SigV2 signs them so; the presign parameters never hold one); the SigV4 canonical
 * query reads it as a space (canonicalQuery).
 */
export interface QueryParam {
  rawKey: string;
  /** null when the parameter had no `=` at all (`?acl`). */
  rawValue: string | null;
  key: string;
  value: string;
}

/** The parts of a request that signatures cover. */
export interface RequestView {
  method: string;
  /** The raw path exactly as received (never decoded). */
  path: string;
  /** The raw query (without `?`), '' when none. */
  rawQuery: string;
  params: QueryParam[];
  /** Lower-case header name -> values in the order received (from rawHeaders). */
  rawHeaderValues: Map<string, string[]>;
  headers: IncomingHttpHeaders;
}

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Bytes of a raw URL component. Node hands the request-target over as latin1 (one char per byte). */
function rawBytes(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  return Buffer.from(s, /[^\x00-\xff]/.test(s) ? 'utf8' : 'latin1');
}

/**
 * Percent-decodes `s` into bytes. `+` stays `+` (in a path it is a literal plus; callers decoding a
 * query for SigV4 map it to a space first); a `%` not followed by two hex digits is kept literally.
 */
export function percentDecodeBytes(s: string): Buffer {
  if (!s.includes('%')) return rawBytes(s);
  const src = rawBytes(s);
  const out = Buffer.allocUnsafe(src.length);
  let j = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const h = hexValue(src[i + 1]!);
      const l = hexValue(src[i + 2]!);
      if (h >= 0 && l >= 0) {
        out[j++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    out[j++] = c;
  }
  return out.subarray(0, j);
}

/** Percent-decodes `s` to a UTF-8 string (`+` kept literally). */
export function percentDecode(s: string): string {
  return percentDecodeBytes(s).toString('utf8');
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x5f || // _
    c === 0x7e // ~
  );
}

/** SigV4 URI encoding: every byte except `A-Za-z0-9-._~` becomes `%XX` (upper-case hex). */
export function uriEncodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const c of bytes) {
    out += isUnreserved(c) ? String.fromCharCode(c) : '%' + HEX[c >> 4]! + HEX[c & 15]!;
  }
  return out;
}

/** SigV4 URI encoding of a string's UTF-8 bytes. */
export function uriEncode(s: string): string {
  return uriEncodeBytes(Buffer.from(s, 'utf8'));
}

/** Decodes a raw URL component once and re-encodes it with the SigV4 rules. */
export function normalizeComponent(raw: string): string {
  // Fast path: already in canonical form.
  if (/^[A-Za-z0-9\-._~]*$/.test(raw)) return raw;
  return uriEncodeBytes(percentDecodeBytes(raw));
}

/**
 * The SigV4 canonical URI for S3: the raw path, each `/`-separated segment decoded once and
 * re-encoded (S3 does not collapse `//`, `.` or `..`, and a `%2F` inside a segment stays `%2F`).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  return rawPath.split('/').map(normalizeComponent).join('/');
}

/**
 * A raw query key or value in SigV4 canonical form, a raw `+` read as a space (`%20`), as the
 * router reads it (src/s3/endpoint.ts parseQuery): the signature then covers the value the request
 * acts on. A literal plus arrives as `%2B` and stays `%2B`.
 *
 * This is what S3-compatible servers and AWS do: MinIO canonicalises `url.ParseQuery` values
 * (`+` decoded to a space) re-encoded with `+` replaced by `%20` (cmd/signature-v4.go
 * getCanonicalRequest); Ceph RGW decodes the query with `+` as a space before re-encoding
 * (rgw_auth_s3.cc aws4_uri_recode, https://github.com/ceph/ceph/pull/16116); AWS S3 accepts a URL
 * sent with `+` for a space that was signed with `%20` (https://github.com/mhart/aws4fetch/issues/83)
 * and reads a raw `+` in a query value as a space (a continuation token sent with raw `+` is
 * "incorrect": https://github.com/taylorfinnell/awscr-s3/pull/61). The SigV4 clients s3local is
 * tested with never send a raw `+`: botocore, @smithy/signature-v4, aws-sdk-go v1/v2, minio-go,
 * minio-js and s3cmd put `%20` and `%2B` on the wire, as they sign.
 */
export function normalizeQueryComponent(raw: string): string {
  return normalizeComponent(raw.includes('+') ? raw.replace(/\+/g, '%20') : raw);
}

/**
 * The SigV4 canonical query string: every parameter (minus `exclude`), key and value decoded once
 * (a raw `+` as a space, see normalizeQueryComponent) and re-encoded, sorted by key then value,
 * `k=` for an empty or missing value.
 */
export function canonicalQuery(params: readonly QueryParam[], exclude?: string): string {
  const pairs: [string, string][] = [];
  for (const p of params) {
    if (exclude !== undefined && p.key === exclude) continue;
    pairs.push([normalizeQueryComponent(p.rawKey), normalizeQueryComponent(p.rawValue ?? '')]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Splits a raw query into parameters (empty components, as in `a=1&&b`, are skipped). */
export function parseQuery(rawQuery: string): QueryParam[] {
  const out: QueryParam[] = [];
  if (rawQuery === '') return out;
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? null : part.slice(eq + 1);
    out.push({
      rawKey,
      rawValue,
      key: percentDecode(rawKey),
      value: rawValue === null ? '' : percentDecode(rawValue),
    });
  }
  return out;
}

/** Splits a request-target into raw path and raw query (an absolute-form target loses its authority). */
export function splitUrl(url: string): { path: string; rawQuery: string } {
  let target = url;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (scheme) target = target.slice(scheme[0].length);
  const hash = target.indexOf('#');
  if (hash >= 0) target = target.slice(0, hash);
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return { path: path === '' ? '/' : path, rawQuery: q < 0 ? '' : target.slice(q + 1) };
}

/** Groups Node's rawHeaders by lower-case name, values in the order received. */
export function rawHeaderMap(
  rawHeaders: readonly string[],
  headers: IncomingHttpHeaders,
): Map<string, string[]> {
  const map = new Map<string, string[]>();
  if (rawHeaders.length >= 2) {
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toLowerCase();
      const list = map.get(name);
      if (list) list.push(rawHeaders[i + 1]!);
      else map.set(name, [rawHeaders[i + 1]!]);
    }
    return map;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    map.set(name.toLowerCase(), Array.isArray(value) ? [...value] : [value]);
  }
  return map;
}

/** Builds the RequestView of a request. */
export function requestView(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
): RequestView {
  const { path, rawQuery } = splitUrl(url);
  return {
    method,
    path,
    rawQuery,
    params: parseQuery(rawQuery),
    rawHeaderValues: rawHeaderMap(rawHeaders, headers),
    headers,
  };
}

/** First value of a query parameter by exact (case-sensitive) decoded name. */
export function queryValue(view: RequestView, key: string): string | undefined {
  for (const p of view.params) if (p.key === key) return p.value;
  return undefined;
}

/** A header as one string: repeated headers joined with ',' (Node's parsed view as fallback). */
export function headerValue(view: RequestView, name: string): string | undefined {
  const raw = view.rawHeaderValues.get(name);
  if (raw) return raw.join(',');
  const v = view.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * How the bytes of a header value enter a signature. Node hands header values over as latin1 (one
 * char per byte), so a non-ASCII value has two readings, both accepted:
 *
 * - `as-sent`: the bytes on the wire. botocore, and the Node SDKs when Node writes the headers as
 *   UTF-8, sign the UTF-8 bytes they send (`x-amz-meta-a: é` is `c3 a9` on the wire and signed).
 * - `latin1`: each byte read as an ISO-8859-1 character and the character signed as UTF-8. That is
 *   what AWS S3 itself does: Node writes header strings as latin1 unless they share a packet with a
 *   string body, so aws-sdk-js sends `é` as the byte `e9` while signing `c3 a9`, and S3 accepts it
 *   (https://github.com/aws/aws-sdk-js/pull/1316, https://github.com/aws/aws-sdk-js/issues/1297).
 */
export type HeaderReading = 'as-sent' | 'latin1';

/**
 * A header value as a byte string (one char per byte) in the given reading. A value holding a
 * char above U+00FF was built as text (not by Node's parser) and is taken as its UTF-8 bytes.
 */
export function headerBytes(value: string, reading: HeaderReading = 'as-sent'): string {
  // eslint-disable-next-line no-control-regex
  if (reading === 'as-sent' && !/[^\x00-\xff]/.test(value)) return value;
  return Buffer.from(value, 'utf8').toString('latin1');
}

/** The bytes of a byte string (see headerBytes), e.g. to hash a canonical request. */
export function byteStringBytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A byte string shown as text: its bytes decoded as UTF-8, as a client that signed them reads them. */
export function byteStringText(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** True when a value holds a non-ASCII byte, so its two readings (HeaderReading) differ. */
export function isNonAscii(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(value);
}

/**
 * SigV4 "Trimall" of one value: trimmed, whitespace runs folded to one space. Read `as-sent`, only
 * ASCII whitespace is folded, as @smithy/signature-v4 does (`[ \t]+` to one space): a byte such as
 * 0xa0 or 0x85 may be part of a UTF-8 sequence (`à` is `c3 a0`). Read as latin1, the characters
 * are folded as JavaScript's `\s` does (what s3local always did for that reading).
 */
function trimAll(value: string, reading: HeaderReading): string {
  if (reading === 'latin1' || !isNonAscii(value)) return value.trim().replace(/\s+/g, ' ');
  return value.replace(/^[ \t\r\n\f\v]+|[ \t\r\n\f\v]+$/g, '').replace(/[ \t\r\n\f\v]+/g, ' ');
}

/**
 * SigV4 canonical header value as a byte string (see headerBytes): values trimmed, inner
 * whitespace runs folded to one space, repeated headers joined with ',' in the order received.
 */
export function canonicalHeaderValue(
  view: RequestView,
  name: string,
  reading: HeaderReading = 'as-sent',
): string {
  const fold = (x: string): string => headerBytes(trimAll(x, reading), reading);
  const values = view.rawHeaderValues.get(name);
  if (values) return values.map(fold).join(',');
  const v = view.headers[name];
  if (v === undefined) return '';
  return (Array.isArray(v) ? v : [v]).map(fold).join(',');
}
