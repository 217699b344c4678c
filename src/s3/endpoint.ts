/**
 * parseEndpoint: (method, raw URL, Host) -> the S3 operation and its parameters. Pure.
 *
 * Routing follows the S3 REST API: the operation is chosen by method, by whether a key is
 * present, and by "sub-resource" query parameters (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html).
 * A known sub-resource s3local does not implement answers 501 NotImplemented: it never falls through
 * to a listing or an overwrite (pys3local's §10.1.8 defect).
 */
import { S3Error } from './errors.js';

/** Query parameters as received: first value per name (S3 never repeats its own parameters). */
export type Query = ReadonlyMap<string, string>;

interface Target {
  bucket: string;
  key: string;
  query: Query;
}

/** One variant per S3 operation s3local routes. */
export type Endpoint =
  | { kind: 'ListBuckets'; query: Query }
  | ({
      kind:
        | 'CreateBucket'
        | 'HeadBucket'
        | 'DeleteBucket'
        | 'GetBucketLocation'
        | 'GetBucketVersioning'
        | 'PutBucketVersioning'
        | 'GetObjectLockConfiguration'
        | 'PutObjectLockConfiguration'
        | 'GetBucketAcl'
        | 'PutBucketAcl';
    } & Target)
  | ({
      kind: 'ListObjects' | 'ListObjectsV2' | 'ListObjectVersions' | 'DeleteObjects' | 'ListMultipartUploads';
    } & Target)
  | ({
      kind:
        | 'GetObjectRetention'
        | 'PutObjectRetention'
        | 'GetObjectLegalHold'
        | 'PutObjectLegalHold'
        | 'GetObjectAcl'
        | 'PutObjectAcl'
        | 'GetObjectTagging'
        | 'PutObjectTagging'
        | 'DeleteObjectTagging';
    } & Target)
  | ({ kind: 'GetObject' | 'HeadObject' | 'PutObject' | 'CopyObject' | 'DeleteObject' } & Target)
  | ({
      kind:
        | 'CreateMultipartUpload'
        | 'UploadPart'
        | 'UploadPartCopy'
        | 'CompleteMultipartUpload'
        | 'AbortMultipartUpload'
        | 'ListParts';
    } & Target)
  | { kind: 'NotImplemented'; operation: string; bucket?: string; key?: string; query: Query };

export type EndpointKind = Endpoint['kind'];

/**
 * Every sub-resource name the S3 API defines. Requests carrying one that s3local does not route
 * explicitly are answered 501; other unknown parameters (e.g. the SDK's `x-id`) are ignored.
 */
const SUBRESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metadataTable',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
  'renameObject',
]);

export interface EndpointOptions {
  /** Base domains for virtual-host style (`bucket.DOMAIN`); compared without the port. */
  domains: readonly string[];
}

/**
 * Splits the raw query string into a first-value map, decoding once. A `+` in the query is a space
 * (form encoding), as S3, MinIO and Ceph read it: Go's url.Values.Encode sends `prefix=a+b%2B` for
 * "a b+" (rclone with v2_auth lists `with spaces/` as `prefix=with+spaces%2F`), and AWS accepts a
 * `+` for a space in query values. A literal plus arrives as `%2B`. In the path, `+` stays `+`.
 */
export function parseQuery(rawQuery: string): Map<string, string> {
  const query = new Map<string, string>();
  if (!rawQuery) return query;
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decodeComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    if (!query.has(name)) query.set(name, value);
  }
  return query;
}

function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");
  }
}

/** The bucket named by a virtual-host style Host header, if the host is `<bucket>.<domain>`. */
export function virtualHostBucket(host: string | undefined, opts: EndpointOptions): string | undefined {
  if (!host) return undefined;
  const hostname = stripPort(host).toLowerCase();
  for (const domain of opts.domains) {
    const d = domain.toLowerCase();
    if (hostname.length > d.length + 1 && hostname.endsWith('.' + d)) return hostname.slice(0, -d.length - 1);
  }
  return undefined;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * Routes one request. `rawUrl` is the request-target as received (path and query, still encoded).
 * Bucket and key are percent-decoded exactly once, byte-exact: `/b/dir/` has key `dir/`,
 * `/b/a%2541` has key `a%41` (pys3local decoded twice, §10.1.2).
 */
export function parseEndpoint(
  method: string,
  rawUrl: string,
  headers: { host?: string | undefined; 'x-amz-copy-source'?: string | string[] | undefined },
  opts: EndpointOptions,
): Endpoint {
  const host = headers.host;
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = parseQuery(q < 0 ? '' : rawUrl.slice(q + 1));
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidURI', "Couldn't parse the specified URI.");

  let bucket: string;
  let key: string;
  const vhost = virtualHostBucket(host, opts);
  if (vhost !== undefined) {
    bucket = vhost;
    key = decodeComponent(rawPath.slice(1));
  } else {
    const slash = rawPath.indexOf('/', 1);
    bucket = decodeComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
    key = slash < 0 ? '' : decodeComponent(rawPath.slice(slash + 1));
  }

  if (bucket === '') {
    if (method === 'GET') return { kind: 'ListBuckets', query };
    return { kind: 'NotImplemented', operation: `${method} /`, query };
  }
  validateBucketName(bucket);
  const target: Target = { bucket, key, query };
  return key === ''
    ? routeBucket(method, target)
    : routeObject(method, target, headers['x-amz-copy-source'] !== undefined);
}

function subresourceOf(query: Query): string | undefined {
  for (const name of query.keys()) if (SUBRESOURCES.has(name)) return name;
  return undefined;
}

function notImplemented(operation: string, t: Target): Endpoint {
  return { kind: 'NotImplemented', operation, bucket: t.bucket, key: t.key, query: t.query };
}

function routeBucket(method: string, t: Target): Endpoint {
  const sub = subresourceOf(t.query);
  switch (method) {
    case 'GET':
      if (sub === undefined)
        return { kind: t.query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects', ...t };
      if (sub === 'location') return { kind: 'GetBucketLocation', ...t };
      if (sub === 'versioning') return { kind: 'GetBucketVersioning', ...t };
      if (sub === 'versions') return { kind: 'ListObjectVersions', ...t };
      if (sub === 'object-lock') return { kind: 'GetObjectLockConfiguration', ...t };
      if (sub === 'uploads') return { kind: 'ListMultipartUploads', ...t };
      if (sub === 'acl') return { kind: 'GetBucketAcl', ...t };
      return notImplemented(`GET ?${sub}`, t);
    case 'HEAD':
      return { kind: 'HeadBucket', ...t };
    case 'PUT':
      if (sub === undefined) return { kind: 'CreateBucket', ...t };
      if (sub === 'versioning') return { kind: 'PutBucketVersioning', ...t };
      if (sub === 'object-lock') return { kind: 'PutObjectLockConfiguration', ...t };
      if (sub === 'acl') return { kind: 'PutBucketAcl', ...t };
      return notImplemented(`PUT ?${sub}`, t);
    case 'DELETE':
      return sub === undefined ? { kind: 'DeleteBucket', ...t } : notImplemented(`DELETE ?${sub}`, t);
    case 'POST':
      if (sub === 'delete') return { kind: 'DeleteObjects', ...t };
      return notImplemented(sub === undefined ? 'POST (browser form upload)' : `POST ?${sub}`, t);
    default:
      throw methodNotAllowed(method);
  }
}

function routeObject(method: string, t: Target, hasCopySource: boolean): Endpoint {
  const sub = subresourceOf(t.query);
  const isPart = t.query.has('uploadId') && t.query.has('partNumber');
  switch (method) {
    case 'GET':
      if (sub === undefined) return { kind: 'GetObject', ...t };
      if (sub === 'uploadId') return { kind: 'ListParts', ...t };
      if (sub === 'retention') return { kind: 'GetObjectRetention', ...t };
      if (sub === 'legal-hold') return { kind: 'GetObjectLegalHold', ...t };
      if (sub === 'acl') return { kind: 'GetObjectAcl', ...t };
      if (sub === 'tagging') return { kind: 'GetObjectTagging', ...t };
      return notImplemented(`GET object ?${sub}`, t);
    case 'HEAD':
      return sub === undefined ? { kind: 'HeadObject', ...t } : notImplemented(`HEAD object ?${sub}`, t);
    case 'PUT':
      if (isPart && sub === 'uploadId')
        return { kind: hasCopySource ? 'UploadPartCopy' : 'UploadPart', ...t };
      if (sub === 'retention') return { kind: 'PutObjectRetention', ...t };
      if (sub === 'legal-hold') return { kind: 'PutObjectLegalHold', ...t };
      if (sub === 'acl') return { kind: 'PutObjectAcl', ...t };
      if (sub === 'tagging') return { kind: 'PutObjectTagging', ...t };
      if (sub !== undefined) return notImplemented(`PUT object ?${sub}`, t);
      return { kind: hasCopySource ? 'CopyObject' : 'PutObject', ...t };
    case 'DELETE':
      if (sub === 'uploadId') return { kind: 'AbortMultipartUpload', ...t };
      if (sub === 'tagging') return { kind: 'DeleteObjectTagging', ...t };
      return sub === undefined ? { kind: 'DeleteObject', ...t } : notImplemented(`DELETE object ?${sub}`, t);
    case 'POST':
      if (sub === 'uploads') return { kind: 'CreateMultipartUpload', ...t };
      if (sub === 'uploadId') return { kind: 'CompleteMultipartUpload', ...t };
      return notImplemented(sub === undefined ? 'POST object' : `POST object ?${sub}`, t);
    default:
      throw methodNotAllowed(method);
  }
}

function methodNotAllowed(method: string): S3Error {
  return new S3Error('MethodNotAllowed', undefined, { Method: method, ResourceType: 'OBJECT' });
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * Bucket naming rules for general purpose buckets:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 * (dots allowed; pys3local refused them). Names starting with `_` are therefore free for
 * s3local's own endpoints.
 */
export function validateBucketName(name: string): void {
  const ok =
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !IPV4.test(name) &&
    !name.startsWith('xn--') &&
    !name.startsWith('sthree-') &&
    !name.startsWith('amzn-s3-demo-') &&
    !name.endsWith('-s3alias') &&
    !name.endsWith('--ol-s3') &&
    !name.endsWith('.mrap') &&
    !name.endsWith('--x-s3') &&
    !name.endsWith('--table-s3');
  if (!ok) throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
}
