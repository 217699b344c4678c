/**
 * CopyObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
 */
import type { ChecksumAlgorithm } from '../body.js';
import { parseChecksumAlgorithm, UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE } from '../checksums.js';
import { S3Error } from '../errors.js';
import { validateBucketName } from '../endpoint.js';
import {
  checkCopySourceConditions,
  header,
  readMetadata,
  readObjectHeaders,
  writePrecondition,
} from '../headers.js';
import type { CopyOptions } from '../../storage/backend.js';
import { copyObjectResultXml } from '../xml/responses.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { assertOwnerOnlyAclHeaders } from './acl.js';
import { assertSupportedWriteHeaders } from './object-put.js';
import { versionSelector } from './object-get.js';
import { lockForNewVersion, writtenVersionHeader } from './object-lock.js';
import { copyTags } from './tagging.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/**
 * Parses `x-amz-copy-source`: `[/]bucket/key[?versionId=v]`, URL-encoded. The query is split off
 * before decoding so an encoded `%3F` stays part of the key.
 */
export function parseCopySource(raw: string): CopySource {
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding', {
      ArgumentName: 'x-amz-copy-source',
    });
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      {
        ArgumentName: 'x-amz-copy-source',
        ArgumentValue: raw,
      },
    );
  }
  const source: CopySource = { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
  // S3 names the part of the copy source that is wrong (versitygw's CopyObject tests against AWS).
  try {
    validateBucketName(source.bucket);
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source bucket name', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: raw,
    });
  }
  if (source.key.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new S3Error('InvalidArgument', 'Invalid copy source object key', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: raw,
    });
  }
  if (q >= 0) {
    const versionId = new URLSearchParams(raw.slice(q + 1)).get('versionId');
    if (versionId !== null) source.versionId = versionId;
  }
  return source;
}

/**
 * `x-amz-checksum-algorithm` of CopyObject: the algorithm S3 computes the copy's checksum with,
 * in place of the source's (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html);
 * "unrecognized or unsupported values will respond with the HTTP status code 400", checked before
 * the self-copy rule and the source lookup (versitygw's CopyObject_invalid_checksum_algorithm).
 */
function copyChecksumAlgorithm(ctx: HandlerContext): ChecksumAlgorithm | undefined {
  const raw = header(ctx.headers, 'x-amz-checksum-algorithm');
  if (raw === undefined) return undefined;
  const algorithm = parseChecksumAlgorithm(raw);
  if (algorithm === undefined) throw new S3Error('InvalidRequest', UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE);
  return algorithm;
}

export async function copyObject(ctx: HandlerContext, bucket: string, key: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  assertSupportedWriteHeaders(ctx);
  assertOwnerOnlyAclHeaders(ctx);
  const source = parseCopySource(header(ctx.headers, 'x-amz-copy-source') ?? '');
  assertBucketAllowed(ctx.settings, source.bucket);
  const sourceVersion = versionSelector(
    ctx,
    new Map(source.versionId === undefined ? [] : [['versionId', source.versionId]]),
  );
  const directive = (header(ctx.headers, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.', {
      ArgumentName: 'x-amz-metadata-directive',
      ArgumentValue: directive,
    });
  }
  // The tagging directive is validated before the self-copy rule, as S3 does.
  const tags = copyTags(ctx);
  const checksumAlgorithm = copyChecksumAlgorithm(ctx);
  if (
    directive === 'COPY' &&
    source.bucket === bucket &&
    source.key === key &&
    source.versionId === undefined
  ) {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  let copiedVersion: string | undefined;
  const opts: CopyOptions = {
    sourcePrecondition: (info) => {
      copiedVersion = info.versionId;
      checkCopySourceConditions(ctx.headers, info);
    },
    signal: ctx.signal,
  };
  const lock = await lockForNewVersion(ctx, bucket, false);
  if (lock) opts.lock = lock;
  if (directive === 'REPLACE') {
    opts.replace = { headers: readObjectHeaders(ctx.headers), metadata: readMetadata(ctx.headers) };
  }
  if (tags) opts.tags = tags;
  if (checksumAlgorithm) opts.checksumAlgorithm = checksumAlgorithm;
  const precondition = writePrecondition(ctx.headers);
  if (precondition) opts.precondition = precondition;
  const info = await ctx.backend.copyObject(
    { bucket: source.bucket, key: source.key, ...sourceVersion },
    { bucket, key },
    opts,
  );
  const checksums: Record<string, string> = {};
  for (const [alg, v] of Object.entries(info.checksums)) if (v !== undefined) checksums[alg] = v;
  const result = xmlResult(copyObjectResultXml(info.etag, info.lastModified, checksums, info.checksumType));
  Object.assign(result.headers, writtenVersionHeader(info.versionId));
  // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: the version of the source copied.
  if (copiedVersion !== undefined) result.headers['x-amz-copy-source-version-id'] = copiedVersion;
  return result;
}
