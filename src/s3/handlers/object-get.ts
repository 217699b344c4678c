/**
 * GetObject and HeadObject: conditionals, a single Range, `partNumber`, `response-*` overrides and
 * checksum mode (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
 */
import { S3Error } from '../errors.js';
import {
  RESPONSE_OVERRIDES,
  checkReadConditions,
  checksumHeaders,
  header,
  objectResponseHeaders,
  parseRange,
} from '../headers.js';
import type { Query } from '../endpoint.js';
import type { ByteRange, ObjectInfo, VersionSelector } from '../../storage/backend.js';
import { partChecksums } from '../../storage/multipart.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { lockHeaders, versionHeader } from './object-lock.js';
import type { HandlerContext, S3Result } from './types.js';

/** Parses `partNumber` (1..10000) when present. */
export function parsePartNumber(query: Query): number | undefined {
  const raw = query.get('partNumber');
  if (raw === undefined) return undefined;
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 10000)) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: raw,
    });
  }
  return n;
}

/**
 * The `versionId` query parameter as a VersionSelector. A backend without versioning holds only
 * the `null` version: any other id is NoSuchVersion there.
 */
export function versionSelector(ctx: HandlerContext, query: Query): VersionSelector {
  const v = query.get('versionId');
  if (v === undefined) return {};
  if (v === '') {
    throw new S3Error('InvalidArgument', 'Version id cannot be the empty string', {
      ArgumentName: 'versionId',
      ArgumentValue: v,
    });
  }
  if (ctx.backend.versioning === undefined) {
    if (v !== 'null') throw new S3Error('NoSuchVersion', undefined, { VersionId: v });
    return {};
  }
  return { versionId: v };
}

/** The byte range of part `n` of an object (a single-part object has exactly one part). */
function partRange(info: ObjectInfo, n: number): ByteRange {
  const sizes = info.parts?.sizes ?? [info.size];
  if (n > sizes.length)
    throw new S3Error('InvalidPartNumber', 'The requested partnumber is not satisfiable', {
      PartNumberRequested: String(n),
      ActualPartCount: String(sizes.length),
    });
  let start = 0;
  for (let i = 0; i < n - 1; i++) start += sizes[i] ?? 0;
  return { start, end: start + (sizes[n - 1] ?? 0) - 1 };
}

/**
 * A `response-*` parameter S3 cannot override is refused, not ignored (versitygw issue #2075
 * quotes S3's answer).
 */
function assertOverridable(query: Query): void {
  for (const name of query.keys()) {
    if (name.startsWith('response-') && !OVERRIDABLE.has(name)) {
      throw new S3Error(
        'InvalidArgument',
        `${name} is not in the set of overridable response headers. Please refer to the S3 API documentation: Complete list of overridable response headers.`,
        { ArgumentName: name, ArgumentValue: query.get(name) ?? '' },
      );
    }
  }
}

const OVERRIDABLE = new Set(RESPONSE_OVERRIDES.map(([param]) => param));

interface ReadPlan {
  info: ObjectInfo;
  version: VersionSelector;
  range: ByteRange | undefined;
  headers: Record<string, string>;
  status: number;
}

async function planRead(ctx: HandlerContext, bucket: string, key: string, query: Query): Promise<ReadPlan> {
  assertBucketAllowed(ctx.settings, bucket);
  const version = versionSelector(ctx, query);
  assertOverridable(query);
  const partNumber = parsePartNumber(query);
  const rangeHeader = header(ctx.headers, 'range');
  if (partNumber !== undefined && rangeHeader !== undefined) {
    throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  }
  const info = await ctx.backend.headObject(bucket, key, version);
  checkReadConditions(ctx.headers, info);
  let range = partNumber !== undefined ? partRange(info, partNumber) : parseRange(rangeHeader, info.size);
  if (range && range.end < range.start) range = undefined; // an empty single part: nothing to slice
  const whole = range === undefined;
  const checksumMode = header(ctx.headers, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';
  const headers = {
    ...objectResponseHeaders(info, checksumMode && whole),
    ...versionHeader(info.versionId),
    ...lockHeaders(info.lock),
  };
  if (checksumMode && partNumber !== undefined) {
    // The part's own checksum where S3 has one (storage/multipart.ts partChecksums).
    const part = partChecksums(info, partNumber);
    if (part) Object.assign(headers, checksumHeaders(part));
  }
  for (const [param, name] of RESPONSE_OVERRIDES) {
    const v = query.get(param);
    if (v !== undefined) headers[name] = v;
  }
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
    headers['content-length'] = String(range.end - range.start + 1);
  } else {
    headers['content-length'] = String(info.size);
  }
  return { info, range, headers, version, status: range || partNumber !== undefined ? 206 : 200 };
}

export async function headObject(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  const plan = await planRead(ctx, bucket, key, query);
  return { status: plan.status, headers: plan.headers };
}

export async function getObject(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  const plan = await planRead(ctx, bucket, key, query);
  const opts = plan.range ? { range: plan.range, signal: ctx.signal } : { signal: ctx.signal };
  const { info, body } = await ctx.backend.getObject(bucket, key, { ...opts, ...plan.version });
  if (info.etag !== plan.info.etag || info.size !== plan.info.size) {
    // Replaced between HEAD and open: answer for the object actually opened, conditionals rechecked.
    body.destroy();
    return getObject(ctx, bucket, key, query);
  }
  return { status: plan.status, headers: plan.headers, body };
}
