/**
 * ACLs of a single-owner server: GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl.
 *
 * s3local has one owner (the principal of its access key) and keeps every bucket and object
 * private to it, so the ACL of each is the owner's FULL_CONTROL — what S3 gives a bucket or an
 * object created without an ACL. Reading an ACL answers exactly that; writing one succeeds when it
 * asks for nothing else (the `private` canned ACL, or a document granting only the owner full
 * control) and answers 501 NotImplemented when it would grant anyone else anything: s3local never
 * pretends to apply an ACL it does not enforce. This is what MinIO does (cmd/acl-handlers.go),
 * with the request checked whole, as S3 checks it, instead of MinIO's first grant only.
 */
import { S3Error } from '../errors.js';
import type { Query } from '../endpoint.js';
import { header } from '../headers.js';
import { parseAccessControlPolicy, ownerOnlyAclXml, type AclGrantee } from '../xml/acl.js';
import { OWNER } from '../xml/responses.js';
import { assertBucketAllowed } from './bucket-mode.js';
import { versionSelector } from './object-get.js';
import { readSmallBody } from './read-body.js';
import { xmlResult, type HandlerContext, type S3Result } from './types.js';

/** The canned ACLs S3 defines (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl). */
const CANNED_ACLS = new Set([
  'private',
  'public-read',
  'public-read-write',
  'aws-exec-read',
  'authenticated-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
]);

/**
 * Canned ACLs that grant no one but the owner: `private`, and the two that add the bucket owner,
 * who on this server is the object's owner too (S3 ignores them on a bucket, which leaves it
 * private).
 */
const OWNER_ONLY_CANNED_ACLS = new Set(['private', 'bucket-owner-read', 'bucket-owner-full-control']);

/** The explicit-grant headers of PutBucketAcl / PutObjectAcl. */
const GRANT_HEADERS = [
  'x-amz-grant-full-control',
  'x-amz-grant-read',
  'x-amz-grant-read-acp',
  'x-amz-grant-write',
  'x-amz-grant-write-acp',
];

function notPrivate(asked: string): S3Error {
  return new S3Error(
    'NotImplemented',
    `s3local keeps every bucket and object private to its one owner: ${asked} would grant access to someone else, which s3local does not support.`,
  );
}

function describeGrantee(g: AclGrantee): string {
  switch (g.type) {
    case 'CanonicalUser':
      return `canonical user ${g.id}`;
    case 'AmazonCustomerByEmail':
      return `email ${g.emailAddress}`;
    case 'Group':
      return `group ${g.uri}`;
  }
}

/**
 * Checks the ACL request headers (`x-amz-acl`, `x-amz-grant-*`) of Put*Acl and of the requests that
 * create a bucket or an object (CreateBucket, PutObject, CopyObject, CreateMultipartUpload), and
 * returns whether there were any. Accepted: the owner-only canned ACLs. Errors as S3 answers them:
 * a canned ACL beside grant headers: InvalidRequest (S3: "Specifying both Canned ACLs and Header
 * Grants is not allowed"); ACL headers beside an ACL document (`withBody`): UnexpectedContent;
 * an unknown canned ACL: InvalidArgument; a canned ACL or grants for anyone else: 501.
 */
export function assertOwnerOnlyAclHeaders(ctx: HandlerContext, withBody = false): boolean {
  const canned = header(ctx.headers, 'x-amz-acl');
  const grants = GRANT_HEADERS.filter((h) => header(ctx.headers, h) !== undefined);
  if (canned !== undefined && grants.length > 0) {
    throw new S3Error('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  }
  if ((canned !== undefined || grants.length > 0) && withBody) {
    throw new S3Error('UnexpectedContent');
  }
  if (canned !== undefined) {
    if (!CANNED_ACLS.has(canned)) {
      throw new S3Error('InvalidArgument', undefined, { ArgumentName: 'x-amz-acl', ArgumentValue: canned });
    }
    if (!OWNER_ONLY_CANNED_ACLS.has(canned)) throw notPrivate(`the canned ACL '${canned}'`);
    return true;
  }
  if (grants.length > 0) {
    throw new S3Error(
      'NotImplemented',
      `s3local keeps every bucket and object private to its one owner: explicit grants (${grants.join(', ')}) are not supported.`,
    );
  }
  return false;
}

/**
 * Reads the ACL a Put*Acl request asks for (header or body, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html)
 * and returns when it is the owner's full control alone. Errors, in S3's terms:
 * - a canned ACL beside grant headers: InvalidRequest (S3: "Specifying both Canned ACLs and
 *   Header Grants is not allowed"); ACL headers beside a body: UnexpectedContent (what S3
 *   answers, e.g. https://github.com/minio/minio-java/pull/253); an unknown canned ACL:
 *   InvalidArgument;
 * - no header and no body: MissingSecurityHeader (MinIO and S3);
 * - a body that is not an AccessControlPolicy: MalformedACLError; one naming another owner:
 *   InvalidArgument, as S3 refuses to change an owner;
 * - anything granting someone other than the owner, or not leaving the owner FULL_CONTROL
 *   (an empty grant list would take the owner's rights away): 501 NotImplemented.
 */
async function assertOwnerOnlyAcl(ctx: HandlerContext): Promise<void> {
  const body = await readSmallBody(ctx.body.stream);
  if (assertOwnerOnlyAclHeaders(ctx, body.length > 0)) return;
  if (body.length === 0) {
    throw new S3Error('MissingSecurityHeader');
  }
  const policy = parseAccessControlPolicy(body);
  if (policy.ownerId !== OWNER.ID) {
    throw new S3Error('InvalidArgument', 'Invalid id', {
      ArgumentName: 'CanonicalUser/ID',
      ArgumentValue: policy.ownerId,
    });
  }
  const other = policy.grants.find((g) => g.grantee.type !== 'CanonicalUser' || g.grantee.id !== OWNER.ID);
  if (other !== undefined)
    throw notPrivate(`a grant of ${other.permission} to ${describeGrantee(other.grantee)}`);
  if (!policy.grants.some((g) => g.permission === 'FULL_CONTROL')) {
    throw new S3Error(
      'NotImplemented',
      'An ACL that does not give the owner FULL_CONTROL is not supported: s3local keeps every bucket and object under the full control of its one owner.',
    );
  }
}

/** GetBucketAcl (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html). */
export async function getBucketAcl(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.headBucket(bucket);
  return xmlResult(ownerOnlyAclXml());
}

/** PutBucketAcl: 200 when the ACL asked for is the bucket's own; see {@link assertOwnerOnlyAcl}. */
export async function putBucketAcl(ctx: HandlerContext, bucket: string): Promise<S3Result> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.headBucket(bucket);
  await assertOwnerOnlyAcl(ctx);
  return { status: 200, headers: {} };
}

/**
 * The object (version) an object ACL request names must exist. It is looked up as HeadObject
 * looks it up (the same `versionId` parsing, the same backend call), so the errors are
 * HeadObject's: NoSuchKey, NoSuchVersion, and the delete-marker answers with their
 * `x-amz-delete-marker` / `x-amz-version-id` headers.
 */
async function assertObjectExists(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<void> {
  assertBucketAllowed(ctx.settings, bucket);
  await ctx.backend.headObject(bucket, key, versionSelector(ctx, query));
}

/** GetObjectAcl (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAcl.html), with `versionId`. */
export async function getObjectAcl(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  await assertObjectExists(ctx, bucket, key, query);
  return xmlResult(ownerOnlyAclXml());
}

/**
 * PutObjectAcl (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html). A delete
 * marker cannot take an ACL: S3 answers 405 MethodNotAllowed (Method PUT, ResourceType
 * DeleteMarker) with the marker's headers, whether the marker is named by `versionId` or is the
 * current version. The response carries no `x-amz-version-id` (PutObjectAclOutput has only
 * RequestCharged).
 */
export async function putObjectAcl(
  ctx: HandlerContext,
  bucket: string,
  key: string,
  query: Query,
): Promise<S3Result> {
  try {
    await assertObjectExists(ctx, bucket, key, query);
  } catch (err) {
    if (!(err instanceof S3Error)) throw err;
    const marker =
      err.code === 'MethodNotAllowed' ||
      (err.code === 'NoSuchKey' && err.headers['x-amz-delete-marker'] === 'true');
    if (!marker) throw err;
    throw new S3Error(
      'MethodNotAllowed',
      undefined,
      { Method: 'PUT', ResourceType: 'DeleteMarker' },
      { ...err.headers, allow: 'DELETE' },
    );
  }
  await assertOwnerOnlyAcl(ctx);
  return { status: 200, headers: {} };
}
