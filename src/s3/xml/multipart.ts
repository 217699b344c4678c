/**
 * Multipart request and response documents, shapes from the S3 API reference:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
 */
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, type Checksums } from '../body.js';
import { isValidChecksumValue } from '../checksums.js';
import { S3Error } from '../errors.js';
import { isoDate, quoteETag } from '../headers.js';
import type { CompletedPartRequest, PartsPage, UploadInfo, UploadsPage } from '../../storage/multipart.js';
import { OWNER } from './responses.js';
import { parseXmlBody, xmlDocument, type XmlTree } from './xml.js';

/** `<ChecksumCRC32>` ... elements, in the order S3 writes them. */
function checksumElements(checksums: Checksums): XmlTree {
  const out: XmlTree = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = checksums[alg];
    if (v !== undefined) out['Checksum' + alg] = v;
  }
  return out;
}

/** InitiateMultipartUploadResult. */
export function initiateResultXml(bucket: string, key: string, uploadId: string): string {
  return xmlDocument('InitiateMultipartUploadResult', { Bucket: bucket, Key: key, UploadId: uploadId });
}

/** CompleteMultipartUploadResult. */
export function completeResultXml(r: {
  location: string;
  bucket: string;
  key: string;
  etag: string;
  checksums: Checksums;
  checksumType?: string | undefined;
}): string {
  return xmlDocument('CompleteMultipartUploadResult', {
    Location: r.location,
    Bucket: r.bucket,
    Key: r.key,
    ETag: quoteETag(r.etag),
    ...checksumElements(r.checksums),
    ChecksumType: Object.keys(r.checksums).length > 0 ? r.checksumType : undefined,
  });
}

/** CopyPartResult (UploadPartCopy). */
export function copyPartResultXml(etag: string, lastModified: Date, checksums: Checksums): string {
  return xmlDocument('CopyPartResult', {
    ETag: quoteETag(etag),
    LastModified: isoDate(lastModified),
    ...checksumElements(checksums),
  });
}

/** ListPartsResult. */
export function listPartsXml(page: PartsPage, partNumberMarker: number, maxParts: number): string {
  const u = page.upload;
  return xmlDocument('ListPartsResult', {
    Bucket: u.bucket,
    Key: u.key,
    UploadId: u.uploadId,
    PartNumberMarker: partNumberMarker,
    NextPartNumberMarker: page.nextPartNumberMarker,
    MaxParts: maxParts,
    IsTruncated: page.isTruncated,
    Part: page.parts.length
      ? page.parts.map((p) => ({
          PartNumber: p.partNumber,
          LastModified: isoDate(p.lastModified),
          ETag: quoteETag(p.etag),
          Size: p.size,
          ...checksumElements(p.checksums),
        }))
      : undefined,
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: 'STANDARD',
    ChecksumAlgorithm: u.checksumAlgorithm,
    ChecksumType: u.checksumType,
  });
}

/** ListMultipartUploadsResult; `enc` encodes keys and prefixes for `encoding-type=url`. */
export function listUploadsXml(
  bucket: string,
  page: UploadsPage,
  request: {
    prefix: string;
    delimiter: string;
    keyMarker: string;
    uploadIdMarker: string;
    maxUploads: number;
    encodingType?: string | undefined;
  },
  enc: (s: string) => string,
): string {
  return xmlDocument('ListMultipartUploadsResult', {
    Bucket: bucket,
    KeyMarker: enc(request.keyMarker),
    UploadIdMarker: request.uploadIdMarker,
    NextKeyMarker: page.nextKeyMarker !== undefined ? enc(page.nextKeyMarker) : undefined,
    NextUploadIdMarker: page.nextUploadIdMarker,
    Prefix: enc(request.prefix),
    Delimiter: request.delimiter !== '' ? enc(request.delimiter) : undefined,
    MaxUploads: request.maxUploads,
    IsTruncated: page.isTruncated,
    EncodingType: request.encodingType,
    Upload: page.uploads.length ? page.uploads.map((u) => uploadElement(u, enc)) : undefined,
    CommonPrefixes: page.commonPrefixes.length
      ? page.commonPrefixes.map((p) => ({ Prefix: enc(p) }))
      : undefined,
  });
}

function uploadElement(u: UploadInfo, enc: (s: string) => string): XmlTree {
  return {
    Key: enc(u.key),
    UploadId: u.uploadId,
    Initiator: OWNER,
    Owner: OWNER,
    StorageClass: 'STANDARD',
    Initiated: isoDate(u.initiated),
    ChecksumAlgorithm: u.checksumAlgorithm,
    ChecksumType: u.checksumType,
  };
}

/**
 * The `<ChecksumXXX>` elements of one `<Part>` of a Complete request. More than one, or one that
 * is not base64 of the algorithm's digest length, is InvalidArgument "Invalid Base64 or multiple
 * checksums present in request" with ArgumentName `Checksum` and ArgumentValue `ALG:value;` for
 * each element — as AWS answers it (OpenStack Swift's s3api test_mpu_complete_invalid_part_checksum,
 * checked against AWS; versitygw's CompleteMultipartUpload tests).
 */
function partChecksums(part: Record<string, unknown>): Checksums {
  const found: [ChecksumAlgorithm, string][] = [];
  let valid = true;
  for (const alg of CHECKSUM_ALGORITHMS) {
    const raw = part['Checksum' + alg];
    if (raw === undefined) continue;
    const value = typeof raw === 'string' ? raw.trim() : '';
    if (typeof raw !== 'string' || !isValidChecksumValue(alg, value)) valid = false;
    found.push([alg, value]);
  }
  if (found.length > 1 || !valid) {
    throw new S3Error('InvalidArgument', 'Invalid Base64 or multiple checksums present in request', {
      ArgumentName: 'Checksum',
      ArgumentValue: found.map(([alg, v]) => `${alg}:${v};`).join(''),
    });
  }
  return Object.fromEntries(found);
}

/**
 * Parses a CompleteMultipartUpload body into its parts, in document order (order and range are
 * validated later, by planCompletion). A Part without an integer PartNumber or without an ETag is
 * MalformedXML; its checksum elements are validated by {@link partChecksums}.
 */
export function parseCompleteRequest(body: Buffer): CompletedPartRequest[] {
  const doc = parseXmlBody(body, 'CompleteMultipartUpload');
  const raw = doc['Part'];
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new S3Error('MalformedXML');
  return raw.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw new S3Error('MalformedXML');
    const part = entry as Record<string, unknown>;
    const number = part['PartNumber'];
    const etag = part['ETag'];
    if (typeof number !== 'string' || !/^\s*-?\d{1,9}\s*$/.test(number) || typeof etag !== 'string') {
      throw new S3Error('MalformedXML');
    }
    return { partNumber: Number(number), etag, checksums: partChecksums(part) };
  });
}
