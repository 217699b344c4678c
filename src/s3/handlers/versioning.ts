/**
 * Bucket versioning: GetBucketVersioning, PutBucketVersioning, ListObjectVersions
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html).
 */
import { S3Error } from '../errors.js';
import type { Query } from '../endpoint.js';
import { header } from '../headers.js';
import type { VersioningStore, VersionPage } from '../../storage/backend.js';
import { listVersionsXml, parseVersioningConfiguration, versioningXml } from '../xml/versioning.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { listEncoder, parseMaxKeys } from './list.js';
import { readSmallBody } from './read-body.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/** The backend's versioning, or 501 NotImplemented (the Drime backend keeps no S3 versions). */
export function versioningOf(ctx: HandlerContext, operation: string): VersioningStore {
  const store = ctx.backend.versioning;
  if (store === undefined) {
    throw new S3Error(
      'NotImplemented',
      `${operation} is not implemented by the ${ctx.backend.kind} backend: it keeps no S3 versions.`,
    );
  }
  return store;
}

/** GetBucketVersioning: no Status until versioning was first enabled. */
export async function getBucketVersioning(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.headBucket(bucket);
  const status = ctx.backend.versioning
    ? (await ctx.backend.versioning.getBucketConfig(bucket)).status
    : undefined;
  return xmlResult(versioningXml(status));
}

/**
 * PutBucketVersioning (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html).
 * MFA delete needs an MFA device s3local does not have: refused with 501, never ignored.
 */
export async function putBucketVersioning(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const store = versioningOf(ctx, 'PutBucketVersioning');
  const request = parseVersioningConfiguration(await readSmallBody(ctx.body.stream));
  if (request.mfaDelete === 'Enabled' || header(ctx.headers, 'x-amz-mfa') !== undefined) {
    throw new S3Error('NotImplemented', 'MFA delete is not supported by s3local.', {
      Header: 'x-amz-mfa',
    });
  }
  if (request.status !== undefined) await store.setBucketVersioning(bucket, request.status);
  else await ctx.backend.headBucket(bucket);
  return { status: 200, headers: {} };
}

/**
 * ListObjectVersions (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html).
 * A backend without versioning lists its objects as the null versions they are.
 */
export async function listObjectVersions(
  ctx: HandlerContext,
  bucket: string,
  query: Query,
): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  const enc = listEncoder(query);
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const keyMarker = query.get('key-marker') ?? '';
  const versionIdMarker = query.get('version-id-marker');
  const maxKeys = parseMaxKeys(query.get('max-keys'));
  if (versionIdMarker !== undefined && versionIdMarker !== '' && keyMarker === '') {
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
      ArgumentName: 'version-id-marker',
      ArgumentValue: versionIdMarker,
    });
  }
  let page: VersionPage;
  if (ctx.backend.versioning) {
    page = await ctx.backend.versioning.listObjectVersions(bucket, {
      prefix,
      delimiter,
      keyMarker,
      maxKeys,
      ...(versionIdMarker ? { versionIdMarker } : {}),
    });
  } else {
    const list = await ctx.backend.listObjects(bucket, { prefix, delimiter, after: keyMarker, maxKeys });
    page = {
      versions: list.objects.map((o) => ({ ...o, versionId: 'null', isLatest: true, deleteMarker: false })),
      commonPrefixes: list.commonPrefixes,
      isTruncated: list.isTruncated,
    };
    const last = page.versions.at(-1);
    if (list.nextAfter !== undefined) page.nextKeyMarker = list.nextAfter;
    if (list.nextAfter !== undefined && last?.key === list.nextAfter) page.nextVersionIdMarker = 'null';
  }
  const echo = {
    bucket,
    prefix,
    delimiter,
    keyMarker,
    versionIdMarker: versionIdMarker ?? '',
    maxKeys,
    ...(query.get('encoding-type') !== undefined ? { encodingType: 'url' } : {}),
  };
  return xmlResult(listVersionsXml(echo, page, enc));
}
