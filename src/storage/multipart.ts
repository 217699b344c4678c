/**
 * Multipart uploads: the backend contract (`StorageBackend.multipart`) and the rules every backend
 * shares — part numbers, part order, ETags, the 5 MiB minimum, the multipart ETag and the
 * COMPOSITE / FULL_OBJECT checksums. Backends store and assemble; they never re-implement these.
 *
 * References:
 * - https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html (limits)
 * - https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html (errors)
 * - https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity-upload.html
 *   (checksum types: CRC64NVME only FULL_OBJECT, CRC32/CRC32C either, COMPOSITE by default; the
 *   hashes — SHA1, SHA256 and the later SHA512, MD5, XXHASH64, XXHASH3, XXHASH128 — only
 *   COMPOSITE: a FULL_OBJECT checksum is combined from the part checksums without the bytes,
 *   which only a CRC allows)
 */
import { createHash } from 'node:crypto';
import type { ChecksumAlgorithm, Checksums, ObjectBody } from '../s3/body.js';
import {
  checksumMismatchMessage,
  computeChecksum,
  parseChecksumAlgorithm,
  UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE,
} from '../s3/checksums.js';
import { S3Error } from '../s3/errors.js';
import type {
  ObjectHeaders,
  ObjectInfo,
  ObjectLockState,
  ObjectTag,
  PartLayout,
  StorageBackend,
  WritePrecondition,
} from './backend.js';
import { combineCrcs, isCombinable } from './multipart-crc.js';

/** Every part but the last must be at least 5 MiB. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Part numbers are 1..10,000. */
export const MAX_PARTS = 10_000;
/** A part is at most 5 GiB. */
export const MAX_PART_SIZE = 5 * 1024 ** 3;
/** Default `--multipart-expiry`: abandoned uploads are removed after 7 days. */
export const DEFAULT_MULTIPART_EXPIRY_MS = 7 * 24 * 3600 * 1000;

export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

/** An open multipart upload. */
export interface UploadInfo {
  /** Opaque and unguessable; sorts by initiation time. */
  uploadId: string;
  bucket: string;
  key: string;
  initiated: Date;
  /** Headers and metadata given on Create; they become the object's. */
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  /** `x-amz-checksum-algorithm` of Create, with the resolved type. */
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  /** The object lock headers of Create (the bucket's default retention is added at Complete). */
  lock?: ObjectLockState;
  /** The tags of Create (`x-amz-tagging`); the completed object gets them. */
  tags?: ObjectTag[];
}

/** A stored part. */
export interface PartInfo {
  partNumber: number;
  size: number;
  /** Unquoted hex MD5 of the part's bytes. */
  etag: string;
  /** The part's checksums: the upload's algorithm (always) and any the request sent. */
  checksums: Checksums;
  lastModified: Date;
}

export interface CreateUploadOptions {
  headers: ObjectHeaders;
  metadata: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  lock?: ObjectLockState;
  /** Only given to a backend with tagging (see PutOptions.tags). */
  tags?: ObjectTag[];
}

export interface UploadPartOptions {
  /** The declared part size, when known. */
  size?: number;
  /**
   * The flexible checksum the request carries (header, trailer or SDK algorithm), checked against
   * the upload's algorithm before any byte is read.
   */
  checksumAlgorithm?: ChecksumAlgorithm;
  signal?: AbortSignal;
}

export interface ListPartsOptions {
  /** Exclusive: parts with a greater number are listed. */
  partNumberMarker: number;
  /** 0..1000. */
  maxParts: number;
}

export interface PartsPage {
  upload: UploadInfo;
  parts: PartInfo[];
  isTruncated: boolean;
  /** The last part number listed, when truncated. */
  nextPartNumberMarker?: number;
}

export interface ListUploadsOptions {
  prefix: string;
  /** Empty: no delimiter. */
  delimiter: string;
  /** Uploads of keys after this one (and, with `uploadIdMarker`, later uploads of this key). */
  keyMarker: string;
  uploadIdMarker: string;
  /** 0..1000; uploads and common prefixes together. */
  maxUploads: number;
}

export interface UploadsPage {
  /** By key (UTF-8 byte order), then by initiation time. */
  uploads: UploadInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/** One `<Part>` of a CompleteMultipartUpload request. */
export interface CompletedPartRequest {
  partNumber: number;
  /** As sent (quoted or not). */
  etag: string;
  /** `<ChecksumCRC32>` ... elements of the part. */
  checksums: Checksums;
}

export interface CompleteRequest {
  parts: CompletedPartRequest[];
  /** An `x-amz-checksum-<alg>` header on Complete: the object's checksum, verified. */
  objectChecksum?: { algorithm: ChecksumAlgorithm; value: string };
  /** An `x-amz-checksum-type` header on Complete: must match the upload's. */
  checksumType?: ChecksumType;
  /** `x-amz-mp-object-size`: must equal the assembled size. */
  objectSize?: number;
}

export interface CompleteOptions {
  /** Runs against the current object atomically with the commit (If-None-Match / If-Match). */
  precondition?: WritePrecondition;
  /**
   * Called once the request has been validated (parts, ETags, sizes, checksums, and the
   * precondition against the object as it is now), before the bytes are assembled. Errors
   * thrown after it are "late": the S3 layer has answered 200 already (keep-alive response).
   */
  onValidated?: () => void;
  /**
   * The lock the completed version gets, given the one Create recorded (the S3 layer adds the
   * bucket's default retention, counted from Complete); without it, the one Create recorded.
   */
  lockAtComplete?: (created: ObjectLockState | undefined) => Promise<ObjectLockState | undefined>;
}

/**
 * The multipart part of a backend. Upload state survives restarts; parts are streamed to staging
 * storage, never buffered; every method validates bucket, key and upload id (NoSuchBucket,
 * NoSuchUpload — also when the upload id belongs to another key).
 */
export interface MultipartStore {
  createUpload(bucket: string, key: string, opts: CreateUploadOptions): Promise<UploadInfo>;
  getUpload(bucket: string, key: string, uploadId: string): Promise<UploadInfo>;
  /**
   * Stores part `partNumber` (replacing a previous one atomically). Refusals that need no body
   * (NoSuchUpload, a checksum algorithm other than the upload's) happen before reading it.
   */
  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: ObjectBody,
    opts: UploadPartOptions,
  ): Promise<PartInfo>;
  listParts(bucket: string, key: string, uploadId: string, opts: ListPartsOptions): Promise<PartsPage>;
  listUploads(bucket: string, opts: ListUploadsOptions): Promise<UploadsPage>;
  /**
   * Validates with {@link planCompletion}, assembles, commits atomically, removes the upload. A
   * repeat of a Complete that succeeded (an upload id no longer open but completed, with the same
   * bucket, key and parts: a retry whose first answer was lost) SHOULD resolve with the object that
   * Complete committed, as S3 answers it 200 again, without writing anything; any other Complete of
   * an upload id that is not open rejects with NoSuchUpload.
   */
  completeUpload(
    bucket: string,
    key: string,
    uploadId: string,
    request: CompleteRequest,
    opts: CompleteOptions,
  ): Promise<ObjectInfo>;
  /** Removes the upload and its parts. */
  abortUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  /** Aborts uploads initiated more than `olderThanMs` ago; resolves with how many. */
  expireUploads(olderThanMs: number): Promise<number>;
  /**
   * True when the bucket has an open upload. Open uploads do not keep a bucket from being deleted:
   * DeleteBucket aborts them (see StorageBackend.deleteBucket).
   */
  hasUploads(bucket: string): Promise<boolean>;
}

/**
 * Aborts every upload of `backend` older than `olderThanMs` (for `s3local cache cleanup`);
 * 0 for a backend without multipart support.
 */
export async function expireUploads(backend: StorageBackend, olderThanMs: number): Promise<number> {
  return backend.multipart ? backend.multipart.expireUploads(olderThanMs) : 0;
}

// ---- Create --------------------------------------------------------------------------------

/**
 * Resolves `x-amz-checksum-algorithm` and `x-amz-checksum-type` of CreateMultipartUpload. The
 * messages are AWS's.
 */
export function resolveChecksumSettings(
  algorithmHeader: string | undefined,
  typeHeader: string | undefined,
): { checksumAlgorithm?: ChecksumAlgorithm; checksumType?: ChecksumType } {
  let type: ChecksumType | undefined;
  if (typeHeader !== undefined) {
    const t = typeHeader.trim().toUpperCase();
    if (t !== 'FULL_OBJECT' && t !== 'COMPOSITE')
      throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
    type = t;
  }
  if (algorithmHeader === undefined) {
    if (type !== undefined) {
      throw new S3Error(
        'InvalidRequest',
        'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
      );
    }
    return {};
  }
  const algorithm = parseChecksumAlgorithm(algorithmHeader);
  if (algorithm === undefined) throw new S3Error('InvalidRequest', UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE);
  const resolved = type ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
  if (resolved === 'FULL_OBJECT' && !isCombinable(algorithm)) {
    throw new S3Error(
      'InvalidRequest',
      `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  if (resolved === 'COMPOSITE' && algorithm === 'CRC64NVME') {
    throw new S3Error(
      'InvalidRequest',
      'The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.',
    );
  }
  return { checksumAlgorithm: algorithm, checksumType: resolved };
}

/**
 * UploadPart: a part's checksum must use the upload's algorithm (S3 answers this InvalidRequest
 * with exactly this wording). An upload created without an algorithm accepts any part checksum
 * (verified and echoed; it takes no part in the object's checksum).
 */
export function assertPartChecksumAlgorithm(
  upload: UploadInfo,
  requested: ChecksumAlgorithm | undefined,
): void {
  const expected = upload.checksumAlgorithm;
  if (expected === undefined || requested === undefined || requested === expected) return;
  throw new S3Error(
    'InvalidRequest',
    `Checksum Type mismatch occurred, expected checksum Type: ${expected.toLowerCase()}, actual checksum Type: ${requested.toLowerCase()}`,
  );
}

/** NoSuchUpload, with the upload id as AWS reports it. */
export function noSuchUpload(uploadId: string): S3Error {
  return new S3Error(
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { UploadId: uploadId },
  );
}

// ---- Complete ------------------------------------------------------------------------------

/** What a validated CompleteMultipartUpload will store. */
export interface CompletionPlan {
  /** The stored parts chosen by the request, in order. */
  parts: PartInfo[];
  size: number;
  /** `md5(concat(part md5s))-N`. */
  etag: string;
  /** The object's checksum (COMPOSITE `base64-N` or FULL_OBJECT), when the upload has an algorithm. */
  checksums: Checksums;
  checksumType?: ChecksumType;
  layout: PartLayout;
}

/** Unquotes an ETag as clients send it in the Complete body (`"abc"`, `abc`, `&quot;abc&quot;`). */
export function unquoteETag(etag: string): string {
  let v = etag.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  return v;
}

/**
 * Whether the object checksum a Complete claims (`x-amz-checksum-<alg>`) is `ours`, the one
 * computed over `partCount` parts: a COMPOSITE value may be sent with or without its `-N`.
 */
export function objectChecksumMatches(
  type: ChecksumType | undefined,
  ours: string,
  claimed: string,
  partCount: number,
): boolean {
  const theirs = claimed.trim();
  return type === 'COMPOSITE' ? theirs === ours || `${theirs}-${partCount}` === ours : theirs === ours;
}

function invalidPart(uploadId: string, part: CompletedPartRequest): S3Error {
  return new S3Error(
    'InvalidPart',
    "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    { UploadId: uploadId, PartNumber: String(part.partNumber), ETag: part.etag },
  );
}

/** The multipart ETag: MD5 of the concatenated binary part MD5s, then `-N`. */
export function multipartETag(partEtags: readonly string[]): string {
  const md5 = createHash('md5');
  for (const etag of partEtags) md5.update(Buffer.from(etag, 'hex'));
  return `${md5.digest('hex')}-${partEtags.length}`;
}

/**
 * A COMPOSITE checksum: the algorithm applied to the concatenated binary part checksums, base64,
 * then `-N` (the checksum of checksums).
 */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partChecksums: readonly string[]): string {
  const joined = Buffer.concat(partChecksums.map((c) => Buffer.from(c, 'base64')));
  return `${computeChecksum(algorithm, joined)}-${partChecksums.length}`;
}

/** A FULL_OBJECT checksum of the concatenated parts, combined from the part CRCs. */
export function fullObjectChecksum(
  algorithm: ChecksumAlgorithm,
  parts: ReadonlyArray<{ checksum: string; size: number }>,
): string {
  if (!isCombinable(algorithm)) {
    throw new S3Error(
      'InvalidRequest',
      `The FULL_OBJECT checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  return combineCrcs(algorithm, parts);
}

/** Validates the shape of the request's part list: non-empty, numbers 1..10000, ascending. */
export function validatePartList(parts: readonly CompletedPartRequest[]): void {
  if (parts.length === 0) {
    throw new S3Error('MalformedXML', 'You must specify at least one part');
  }
  let previous = 0;
  for (const part of parts) {
    const n = part.partNumber;
    if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
        ArgumentValue: String(n),
      });
    }
    if (n <= previous) {
      throw new S3Error(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. Parts must be ordered by part number.',
      );
    }
    previous = n;
  }
}

/**
 * A part of a Complete request that carries a checksum of an algorithm other than the upload's.
 * S3 keeps each part's checksum of the upload's algorithm only, so there is nothing such a value
 * can match: BadDigest, with this wording (versitygw's Complete tests, written against AWS; the
 * value is compared with the part's stored checksum of that algorithm, which only an upload
 * created without an algorithm can hold).
 */
function foreignPartChecksum(part: PartInfo, given: Checksums, own: ChecksumAlgorithm): S3Error | undefined {
  for (const [alg, value] of Object.entries(given) as [ChecksumAlgorithm, string][]) {
    if (alg === own || part.checksums[alg] === value) continue;
    return new S3Error(
      'BadDigest',
      `The ${alg.toLowerCase()} you specified for part ${part.partNumber} did not match what we received.`,
    );
  }
  return undefined;
}

/**
 * Validates a CompleteMultipartUpload against the stored parts and computes what it stores.
 * Errors, in this order: the part list (MalformedXML, InvalidArgument, InvalidPartOrder), the
 * checksum type header (InvalidRequest), unknown parts or ETags (InvalidPart), part checksums of
 * another algorithm than the upload's (BadDigest), missing or wrong part checksums of the
 * upload's algorithm (InvalidRequest / InvalidPart), parts under 5 MiB but the last
 * (EntityTooSmall), `x-amz-mp-object-size` (InvalidRequest), the object checksum header
 * (InvalidRequest for another algorithm, BadDigest for a wrong value). Malformed checksum values
 * were refused earlier, when the request was parsed.
 *
 * An upload created without a checksum algorithm takes no part in checksums: the part checksums
 * of its Complete and an `x-amz-checksum-<alg>` header are not compared with anything, as S3
 * ignores that header (versitygw CompleteMultipartUpload_should_ignore_the_final_checksum; AWS
 * then reports its default full-object CRC64NVME, which s3local does not compute).
 */
export function planCompletion(
  upload: UploadInfo,
  stored: Iterable<PartInfo>,
  request: CompleteRequest,
): CompletionPlan {
  validatePartList(request.parts);
  const algorithm = upload.checksumAlgorithm;
  const type = upload.checksumType;
  if (request.checksumType !== undefined && request.checksumType !== type) {
    // InvalidRequest, as versitygw's CompleteMultipartUpload_checksum_type_mismatch (run against
    // AWS) expects, although the SDK docs of ChecksumType speak of BadDigest.
    throw new S3Error(
      'InvalidRequest',
      `The upload was created using the ${type ?? 'null'} checksum mode. The complete request must use the same checksum mode.`,
    );
  }
  const byNumber = new Map<number, PartInfo>();
  for (const p of stored) byNumber.set(p.partNumber, p);

  const parts: PartInfo[] = [];
  for (const req of request.parts) {
    const part = byNumber.get(req.partNumber);
    if (part === undefined || unquoteETag(req.etag) !== part.etag) {
      throw invalidPart(upload.uploadId, req);
    }
    if (algorithm !== undefined) {
      const foreign = foreignPartChecksum(part, req.checksums, algorithm);
      if (foreign) throw foreign;
      const given = req.checksums[algorithm];
      if (given === undefined && type === 'COMPOSITE') {
        throw new S3Error(
          'InvalidRequest',
          `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${req.partNumber} in the request.`,
        );
      }
      const have = part.checksums[algorithm];
      if (have === undefined || (given !== undefined && given.trim() !== have)) {
        throw invalidPart(upload.uploadId, req);
      }
    }
    parts.push(part);
  }
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]!;
    if (part.size < MIN_PART_SIZE) {
      throw new S3Error('EntityTooSmall', undefined, {
        ProposedSize: String(part.size),
        MinSizeAllowed: String(MIN_PART_SIZE),
        PartNumber: String(part.partNumber),
        ETag: `"${part.etag}"`,
      });
    }
  }
  const size = parts.reduce((n, p) => n + p.size, 0);
  if (request.objectSize !== undefined && request.objectSize !== size) {
    throw new S3Error(
      'InvalidRequest',
      `The provided 'x-amz-mp-object-size' header value ${request.objectSize} does not match what was computed: ${size}`,
    );
  }

  const checksums: Checksums = {};
  const layout: PartLayout = { sizes: parts.map((p) => p.size) };
  if (algorithm !== undefined) {
    const values = parts.map((p) => p.checksums[algorithm]!);
    if (type === 'FULL_OBJECT') {
      checksums[algorithm] = fullObjectChecksum(
        algorithm,
        parts.map((p, i) => ({ checksum: values[i]!, size: p.size })),
      );
    } else {
      checksums[algorithm] = compositeChecksum(algorithm, values);
      layout.checksums = values.map((v) => ({ [algorithm]: v }));
    }
  }
  const claimed = request.objectChecksum;
  if (claimed !== undefined && algorithm !== undefined) {
    if (claimed.algorithm !== algorithm) {
      throw new S3Error(
        'InvalidRequest',
        `Checksum Type mismatch occurred, expected checksum Type: ${algorithm.toLowerCase()}, actual checksum Type: ${claimed.algorithm.toLowerCase()}`,
      );
    }
    if (!objectChecksumMatches(type, checksums[algorithm]!, claimed.value, parts.length)) {
      throw new S3Error('BadDigest', checksumMismatchMessage(algorithm));
    }
  }

  const plan: CompletionPlan = {
    parts,
    size,
    etag: multipartETag(parts.map((p) => p.etag)),
    checksums,
    layout,
  };
  if (algorithm !== undefined && type !== undefined) plan.checksumType = type;
  return plan;
}

// ---- Reads ---------------------------------------------------------------------------------

/**
 * The checksum GET/HEAD `?partNumber=N` report with checksum mode on: for a single-part object,
 * the object's; for a COMPOSITE multipart object, part N's; for a FULL_OBJECT multipart object of
 * one part, the object's (it is the part's); otherwise none (S3 has no value for the part).
 */
export function partChecksums(
  info: ObjectInfo,
  partNumber: number,
): Pick<ObjectInfo, 'checksums' | 'checksumType'> | undefined {
  const layout = info.parts;
  if (layout === undefined || layout.sizes.length === 0) {
    if (partNumber !== 1) return undefined;
    return info.checksumType
      ? { checksums: info.checksums, checksumType: info.checksumType }
      : { checksums: info.checksums };
  }
  if (info.checksumType === 'COMPOSITE') {
    const checksums = layout.checksums?.[partNumber - 1];
    return checksums ? { checksums, checksumType: 'COMPOSITE' } : undefined;
  }
  if (info.checksumType === 'FULL_OBJECT' && layout.sizes.length === 1 && partNumber === 1) {
    return { checksums: info.checksums, checksumType: 'FULL_OBJECT' };
  }
  return undefined;
}
