/**
 * Helpers for the versioning and object-lock interop tests: SDK error capture (status, code and
 * the response headers AWS puts on versioning errors), bucket setup, and ListObjectVersions read
 * from the raw XML — the SDK splits `<Version>` and `<DeleteMarker>` into two arrays, which loses
 * the interleaving the tests must check.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  type CreateBucketCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { rawRequest } from './sign.js';

/** The whole body of a GetObject output, as text. */
export async function bodyText(out: { Body?: unknown }): Promise<string> {
  const b = out.Body as { transformToString(): Promise<string> } | undefined;
  return b ? b.transformToString() : '';
}

/** What a rejected SDK call carried: error name (the S3 code), HTTP status and response headers. */
export interface CaughtError {
  name: string;
  message: string;
  status: number | undefined;
  /** Lower-case response headers (from the SDK's hidden `$response`). */
  headers: Record<string, string>;
}

/** Asserts that `p` rejects and returns what the error carried. */
export async function caught(p: Promise<unknown>): Promise<CaughtError> {
  try {
    await p;
  } catch (err) {
    const e = err as {
      name?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
      $response?: { statusCode?: number; headers?: Record<string, string> };
    };
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.$response?.headers ?? {})) headers[k.toLowerCase()] = v;
    return {
      name: e.name ?? '',
      message: e.message ?? '',
      status: e.$metadata?.httpStatusCode ?? e.$response?.statusCode,
      headers,
    };
  }
  assert.fail('expected the request to fail, it succeeded');
}

/** Asserts that `p` fails with S3 error `name` and HTTP `status`; returns the error. */
export async function expectError(p: Promise<unknown>, name: string, status: number): Promise<CaughtError> {
  const e = await caught(p);
  assert.equal(e.name, name, `error code (message: ${e.message})`);
  assert.equal(e.status, status, `HTTP status of ${name}`);
  return e;
}

/** HEAD errors have no body: only the status (and headers) can be checked. */
export async function expectStatus(p: Promise<unknown>, status: number): Promise<CaughtError> {
  const e = await caught(p);
  assert.equal(e.status, status, `HTTP status (error ${e.name}: ${e.message})`);
  return e;
}

/** base64 MD5, the Content-MD5 header value. */
export function contentMd5(body: Buffer | string): string {
  return createHash('md5').update(body).digest('base64');
}

/** A bucket name not used before in this process. */
export function uniqueBucket(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase();
}

/** Creates a fresh bucket; `versioning` turns versioning on (Enabled) right after. */
export async function newBucket(
  s3: S3Client,
  prefix: string,
  opts: { versioning?: 'Enabled' | 'Suspended'; create?: Partial<CreateBucketCommandInput> } = {},
): Promise<string> {
  const Bucket = uniqueBucket(prefix);
  await s3.send(new CreateBucketCommand({ Bucket, ...opts.create }));
  if (opts.versioning) await setVersioning(s3, Bucket, opts.versioning);
  return Bucket;
}

/** PutBucketVersioning with `Status`. */
export async function setVersioning(
  s3: S3Client,
  Bucket: string,
  Status: 'Enabled' | 'Suspended',
): Promise<void> {
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }));
}

/** One `<Version>` or `<DeleteMarker>` of a ListObjectVersions response, in document order. */
export interface VersionEntry {
  kind: 'Version' | 'DeleteMarker';
  key: string;
  versionId: string;
  isLatest: boolean;
  lastModified: Date;
  /** Versions only. */
  etag?: string;
  size?: number;
}

/** One parsed ListObjectVersions page. */
export interface VersionPage {
  entries: VersionEntry[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker: string | undefined;
  nextVersionIdMarker: string | undefined;
}

function decodeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function field(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decodeXml(m[1]);
}

/** Parses a ListVersionsResult document, keeping Version/DeleteMarker order. */
export function parseVersionPage(xml: string): VersionPage {
  const entries: VersionEntry[] = [];
  for (const m of xml.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)) {
    const kind = m[1] as 'Version' | 'DeleteMarker';
    const body = m[2] ?? '';
    const size = field(body, 'Size');
    const etag = field(body, 'ETag');
    entries.push({
      kind,
      key: field(body, 'Key') ?? '',
      versionId: field(body, 'VersionId') ?? '',
      isLatest: field(body, 'IsLatest') === 'true',
      lastModified: new Date(field(body, 'LastModified') ?? ''),
      ...(etag === undefined ? {} : { etag }),
      ...(size === undefined ? {} : { size: Number(size) }),
    });
  }
  const commonPrefixes = [...xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)].map(
    (m) => field(m[1] ?? '', 'Prefix') ?? '',
  );
  // Top-level fields only: cut the entries out first so a <Key> inside them cannot match.
  const top = xml.replace(/<(Version|DeleteMarker|CommonPrefixes)>[\s\S]*?<\/\1>/g, '');
  return {
    entries,
    commonPrefixes,
    isTruncated: field(top, 'IsTruncated') === 'true',
    nextKeyMarker: field(top, 'NextKeyMarker'),
    nextVersionIdMarker: field(top, 'NextVersionIdMarker'),
  };
}

/** Query parameters of a raw ListObjectVersions request. */
export interface VersionQuery {
  prefix?: string;
  delimiter?: string;
  maxKeys?: number;
  keyMarker?: string;
  versionIdMarker?: string;
}

/** One raw (signed) ListObjectVersions request; asserts 200 and parses the page. */
export async function rawListVersions(
  endpoint: string,
  bucket: string,
  q: VersionQuery = {},
): Promise<VersionPage> {
  const params: string[] = ['versions'];
  const add = (k: string, v: string | number | undefined) => {
    if (v !== undefined) params.push(`${k}=${encodeURIComponent(String(v))}`);
  };
  add('delimiter', q.delimiter);
  add('key-marker', q.keyMarker);
  add('max-keys', q.maxKeys);
  add('prefix', q.prefix);
  add('version-id-marker', q.versionIdMarker);
  const res = await rawRequest(endpoint, { method: 'GET', path: `/${bucket}?${params.join('&')}` });
  assert.equal(res.status, 200, `ListObjectVersions: ${res.text}`);
  return parseVersionPage(res.text);
}

/**
 * Every entry under `prefix`, following NextKeyMarker/NextVersionIdMarker with pages of `maxKeys`
 * (deadline: 10,000 pages). Returns the entries in listing order and the common prefixes.
 */
export async function listAllVersions(
  endpoint: string,
  bucket: string,
  q: Omit<VersionQuery, 'keyMarker' | 'versionIdMarker'> = {},
): Promise<{ entries: VersionEntry[]; commonPrefixes: string[]; pages: VersionPage[] }> {
  const pages: VersionPage[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await rawListVersions(endpoint, bucket, {
      ...q,
      ...(keyMarker === undefined ? {} : { keyMarker }),
      ...(versionIdMarker === undefined ? {} : { versionIdMarker }),
    });
    pages.push(page);
    if (!page.isTruncated) {
      return {
        entries: pages.flatMap((p) => p.entries),
        commonPrefixes: pages.flatMap((p) => p.commonPrefixes),
        pages,
      };
    }
    assert.ok(page.nextKeyMarker, 'a truncated page carries NextKeyMarker');
    keyMarker = page.nextKeyMarker;
    versionIdMarker = page.nextVersionIdMarker;
  }
  assert.fail('ListObjectVersions did not finish within 10,000 pages');
}

/** `(kind key versionId)` strings, for readable deepEqual diffs. */
export function describeEntries(entries: VersionEntry[]): string[] {
  return entries.map(
    (e) => `${e.kind === 'Version' ? 'V' : 'DM'} ${e.key} ${e.versionId}${e.isLatest ? ' latest' : ''}`,
  );
}

/** UTF-8 byte order, the order S3 lists keys in. */
export function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * The state of the bucket at time `t` from a full version listing (Kopia's point-in-time view):
 * per key, the newest entry with LastModified <= t; keys whose entry is a delete marker (or that
 * had no entry yet) are absent. Returns key -> version id.
 */
export function pointInTime(entries: VersionEntry[], t: Date): Map<string, string> {
  const out = new Map<string, string>();
  const decided = new Set<string>();
  // Entries of one key come newest first, so the first one at or before t decides the key.
  for (const e of entries) {
    if (decided.has(e.key) || e.lastModified.getTime() > t.getTime()) continue;
    decided.add(e.key);
    if (e.kind === 'Version') out.set(e.key, e.versionId);
  }
  return out;
}

/**
 * Records the headers of every request `client` sends (after checksums and signing), so a test
 * can prove what the SDK did or did not add.
 */
export function recordRequestHeaders(client: S3Client): Array<Record<string, string>> {
  const seen: Array<Record<string, string>> = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers ?? {})) h[k.toLowerCase()] = v;
      seen.push(h);
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'recordRequestHeaders' },
  );
  return seen;
}

/** True when the headers carry an integrity value S3 accepts for object lock writes. */
export function hasIntegrityHeader(h: Record<string, string>): boolean {
  return (
    'content-md5' in h || 'x-amz-trailer' in h || Object.keys(h).some((k) => k.startsWith('x-amz-checksum-'))
  );
}
