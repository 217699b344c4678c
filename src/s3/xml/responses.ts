/**
 * Response documents of the bucket/object operations (shapes from the S3 API reference).
 */
import { isoDate, quoteETag } from '../headers.js';
import { S3Error } from '../errors.js';
import type { BucketInfo } from '../../storage/backend.js';
import { xmlDocument, type XmlTree } from './xml.js';

/** The single owner of everything on this server. */
export const OWNER = { ID: 's3local', DisplayName: 's3local' };

/** ListAllMyBucketsResult (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html). */
/**
 * ListAllMyBucketsResult: the buckets (each with its region), the owner, the token of the next
 * page when there is one, and the `prefix` asked for.
 */
export function listBucketsXml(
  buckets: BucketInfo[],
  page: { region: string; next?: string | undefined; prefix?: string | undefined },
): string {
  return xmlDocument('ListAllMyBucketsResult', {
    Buckets: {
      Bucket: buckets.map((b) => ({
        Name: b.name,
        CreationDate: isoDate(b.creationDate),
        BucketRegion: page.region,
      })),
    },
    Owner: OWNER,
    ContinuationToken: page.next,
    Prefix: page.prefix,
  });
}

/** GetBucketLocation: us-east-1 is the empty LocationConstraint, as AWS answers. */
export function locationXml(region: string): string {
  return xmlDocument('LocationConstraint', { '#text': region === 'us-east-1' ? '' : region });
}

export function copyObjectResultXml(
  etag: string,
  lastModified: Date,
  checksums: Record<string, string>,
  checksumType?: 'FULL_OBJECT' | 'COMPOSITE',
): string {
  const body: XmlTree = { LastModified: isoDate(lastModified), ETag: quoteETag(etag) };
  // CopyObjectResult names the checksum type beside the checksum it describes.
  if (checksumType !== undefined && Object.keys(checksums).length > 0) body['ChecksumType'] = checksumType;
  for (const [alg, v] of Object.entries(checksums)) body['Checksum' + alg] = v;
  return xmlDocument('CopyObjectResult', body);
}

export interface DeleteOutcome {
  key: string;
  versionId?: string | undefined;
  /** A delete marker was created (no version id asked) or the version removed was one. */
  deleteMarker?: boolean;
  deleteMarkerVersionId?: string | undefined;
  error?: S3Error;
}

/** DeleteResult (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html); Quiet omits successes. */
export function deleteResultXml(outcomes: DeleteOutcome[], quiet: boolean): string {
  const deleted: XmlTree[] = [];
  const errors: XmlTree[] = [];
  for (const o of outcomes) {
    if (o.error) {
      errors.push({ Key: o.key, VersionId: o.versionId, Code: o.error.code, Message: o.error.message });
    } else if (!quiet) {
      deleted.push({
        Key: o.key,
        VersionId: o.versionId,
        DeleteMarker: o.deleteMarker ? true : undefined,
        DeleteMarkerVersionId: o.deleteMarker ? o.deleteMarkerVersionId : undefined,
      });
    }
  }
  return xmlDocument('DeleteResult', {
    Deleted: deleted.length ? deleted : undefined,
    Error: errors.length ? errors : undefined,
  });
}

/** The `<Error>` document. HEAD responses carry no body at all. */
export function errorXml(err: S3Error, resource: string, requestId: string, hostId: string): string {
  return xmlDocument(
    'Error',
    {
      Code: err.code,
      Message: err.message,
      ...err.extra,
      Resource: resource,
      RequestId: requestId,
      HostId: hostId,
    },
    null,
  );
}
