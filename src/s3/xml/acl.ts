/**
 * The AccessControlPolicy document of GetBucketAcl / GetObjectAcl (response) and PutBucketAcl /
 * PutObjectAcl (request): https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketAcl.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error } from '../errors.js';
import { OWNER } from './responses.js';
import { xmlDocument } from './xml.js';

/** The namespace of the `xsi:type` attribute that says what kind of grantee a `<Grantee>` is. */
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** The permissions an ACL grant may give (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions). */
export const ACL_PERMISSIONS = ['FULL_CONTROL', 'WRITE', 'WRITE_ACP', 'READ', 'READ_ACP'] as const;
export type AclPermission = (typeof ACL_PERMISSIONS)[number];

/** The predefined groups a `Group` grantee may name (acl-overview.html#specifying-grantee-predefined-groups). */
export const ACL_GROUPS = [
  'http://acs.amazonaws.com/groups/global/AllUsers',
  'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
  'http://acs.amazonaws.com/groups/s3/LogDelivery',
] as const;

/** One grantee, by the `xsi:type` it was given. */
export type AclGrantee =
  | { type: 'CanonicalUser'; id: string }
  | { type: 'AmazonCustomerByEmail'; emailAddress: string }
  | { type: 'Group'; uri: string };

export interface AclGrant {
  grantee: AclGrantee;
  permission: AclPermission;
}

/** A parsed PutBucketAcl / PutObjectAcl body. */
export interface AccessControlPolicy {
  ownerId: string;
  grants: AclGrant[];
}

/**
 * The one ACL every bucket and object of s3local has: its single owner with FULL_CONTROL, the
 * ACL S3 gives a new bucket or object when none is asked for (the `private` canned ACL).
 */
export function ownerOnlyAclXml(): string {
  return xmlDocument('AccessControlPolicy', {
    Owner: OWNER,
    AccessControlList: {
      Grant: {
        Grantee: { '@_xmlns:xsi': XSI_NS, '@_xsi:type': 'CanonicalUser', ...OWNER },
        Permission: 'FULL_CONTROL',
      },
    },
  });
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // `xsi:type` becomes `@_type`; the namespace declarations themselves are dropped.
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Grant',
});

function malformed(): S3Error {
  return new S3Error('MalformedACLError');
}

/** A child element that must appear once, as an element (not text, not repeated). */
function element(node: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = node[name];
  if (v === '') return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed();
  return v as Record<string, unknown>;
}

/** A child holding text once; undefined when absent. */
function textOf(node: Record<string, unknown>, name: string): string | undefined {
  const v = node[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw malformed();
  return v;
}

function required(node: Record<string, unknown>, name: string): string {
  const v = textOf(node, name);
  if (v === undefined || v === '') throw malformed();
  return v;
}

function parseGrantee(node: Record<string, unknown>): AclGrantee {
  switch (node['@_type']) {
    case 'CanonicalUser':
      return { type: 'CanonicalUser', id: required(node, 'ID') };
    case 'AmazonCustomerByEmail':
      return { type: 'AmazonCustomerByEmail', emailAddress: required(node, 'EmailAddress') };
    case 'Group': {
      const uri = required(node, 'URI');
      if (!(ACL_GROUPS as readonly string[]).includes(uri)) {
        throw new S3Error('InvalidArgument', 'Invalid group uri', {
          ArgumentName: 'uri',
          ArgumentValue: uri,
        });
      }
      return { type: 'Group', uri };
    }
    default:
      // No xsi:type, or one S3 does not define: the document does not validate against the schema.
      throw malformed();
  }
}

/**
 * Parses an AccessControlPolicy request body. Anything that is not well-formed XML, has another
 * root, lacks the Owner's ID, a grant's Grantee (with its `xsi:type` and the element that type
 * requires) or Permission, or names a permission S3 does not define is MalformedACLError, as
 * S3 answers; a Group grantee naming an unknown group is InvalidArgument.
 */
export function parseAccessControlPolicy(body: Buffer): AccessControlPolicy {
  const text = body.toString('utf8');
  if (text.trim() === '' || XMLValidator.validate(text) !== true) throw malformed();
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch {
    throw malformed();
  }
  if (!('AccessControlPolicy' in doc)) throw malformed();
  const policy = element(doc, 'AccessControlPolicy');
  const ownerId = required(element(policy, 'Owner'), 'ID');
  const grants: AclGrant[] = [];
  if (policy['AccessControlList'] !== undefined) {
    const list = element(policy, 'AccessControlList');
    const raw = list['Grant'] ?? [];
    if (!Array.isArray(raw)) throw malformed();
    for (const g of raw as unknown[]) {
      if (typeof g !== 'object' || g === null) throw malformed();
      const grant = g as Record<string, unknown>;
      if (grant['Grantee'] === undefined) throw malformed();
      const grantee = parseGrantee(element(grant, 'Grantee'));
      const permission = required(grant, 'Permission');
      if (!(ACL_PERMISSIONS as readonly string[]).includes(permission)) throw malformed();
      grants.push({ grantee, permission: permission as AclPermission });
    }
  }
  return { ownerId, grants };
}
