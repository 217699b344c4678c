/**
 * Multipart uploads in interop tests: CompleteMultipartUpload in one call, and the digests S3
 * reports for multipart objects, computed here from the bytes: the multipart ETag
 * (`md5(concat(part md5s))-N`) and the COMPOSITE CRC32 (`crc32(concat(part crc32s))-N`).
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  type CompleteMultipartUploadCommandInput,
  type CompleteMultipartUploadCommandOutput,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

/**
 * CompleteMultipartUpload of `upload` with `Parts` as given (numbers, ETags, checksums), plus any
 * further input (`IfMatch`, `IfNoneMatch` ...).
 */
export function completeUpload(
  s3: S3Client,
  upload: { Bucket: string; Key: string; UploadId: string | undefined },
  Parts: CompletedPart[],
  extra: Partial<CompleteMultipartUploadCommandInput> = {},
): Promise<CompleteMultipartUploadCommandOutput> {
  return s3.send(new CompleteMultipartUploadCommand({ ...upload, ...extra, MultipartUpload: { Parts } }));
}

/** The binary MD5 of `b`. */
export function md5Bytes(b: Buffer): Buffer {
  return createHash('md5').update(b).digest();
}

/** The big-endian 4-byte CRC32 of `b`. */
export function crc32Bytes(b: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlib.crc32(b) >>> 0);
  return out;
}

/** The ETag (quoted) of `data` uploaded in parts of `partSize`: `"md5(concat(part md5s))-N"`. */
export function multipartETag(data: Buffer, partSize: number): string {
  const md5s: Buffer[] = [];
  for (let i = 0; i < data.length; i += partSize) md5s.push(md5Bytes(data.subarray(i, i + partSize)));
  return `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${md5s.length}"`;
}

/** The COMPOSITE CRC32 of `data` in parts of `partSize`: base64 CRC32 of the part CRC32s, `-N`. */
export function compositeCrc32(data: Buffer, partSize: number): string {
  const sums: Buffer[] = [];
  for (let i = 0; i < data.length; i += partSize) sums.push(crc32Bytes(data.subarray(i, i + partSize)));
  return `${crc32Bytes(Buffer.concat(sums)).toString('base64')}-${sums.length}`;
}
