/**
 * The verified request body handed from `auth/` to handlers and backends.
 */
import type { Readable } from 'node:stream';

/**
 * The flexible-checksum algorithms of S3 (`x-amz-checksum-*`), in the order S3 writes their
 * `<ChecksumXXX>` elements (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Checksum.html).
 * MD5, SHA512 and the three xxHash variants came after the first five.
 */
export const CHECKSUM_ALGORITHMS = [
  'CRC32',
  'CRC32C',
  'CRC64NVME',
  'SHA1',
  'SHA256',
  'SHA512',
  'MD5',
  'XXHASH64',
  'XXHASH3',
  'XXHASH128',
] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Checksums by algorithm, each value base64 of the big-endian digest, as S3 transports them. */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

/** What was computed over the decoded body bytes while they streamed. */
export interface BodyDigests {
  /** Decoded byte count. */
  size: number;
  /** Lowercase hex MD5 of the decoded bytes (the ETag of a single PUT). */
  md5: string;
  /**
   * Checksums that were requested (header, trailer or `x-amz-sdk-checksum-algorithm`) and verified;
   * only those, so a stored object reports exactly what its writer asked for.
   */
  checksums: Checksums;
}

/**
 * A decoded request body. `stream` yields the object bytes (aws-chunked framing removed). Every
 * verification (payload SHA-256, chunk signatures, decoded length, Content-MD5, x-amz-checksum-*)
 * happens as the bytes pass: on a mismatch `stream` is destroyed with an S3Error *before* it ends,
 * so a consumer that commits only after a clean end never stores unverified data.
 */
export interface ObjectBody {
  stream: Readable;
  /** The digests; valid only after `stream` has ended cleanly (throws before that). */
  digests(): BodyDigests;
}
