/**
 * S3 flexible checksums (`x-amz-checksum-*`): streaming hashers and request-header parsing.
 *
 * Every value travels as base64 of the big-endian digest
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 * CRC32 uses node:zlib (native since Node 20.15), CRC32C @node-rs/crc32 (native), MD5, SHA-1,
 * SHA-256 and SHA-512 node:crypto, the xxHash family xxhash-checksums.ts. CRC64NVME is computed
 * here in JS (slicing-by-8) because @aws-sdk/crc64-nvme only offers an async digest; the test
 * suite checks both agree.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import * as zlib from 'node:zlib';
import { crc32 as rsCrc32, crc32c } from '@node-rs/crc32';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from './body.js';
import { S3Error } from './errors.js';
import { createXxhashChecksum } from './xxhash-checksums.js';

/** An incremental checksum over a byte stream. */
export interface StreamingChecksum {
  readonly algorithm: ChecksumAlgorithm;
  update(data: Uint8Array): void;
  /** Base64 of the big-endian digest. Call once, after the last update. */
  digest(): string;
}

/** The request/response header that carries each algorithm's value. */
export const CHECKSUM_HEADERS: Readonly<Record<ChecksumAlgorithm, string>> = {
  CRC32: 'x-amz-checksum-crc32',
  CRC32C: 'x-amz-checksum-crc32c',
  CRC64NVME: 'x-amz-checksum-crc64nvme',
  SHA1: 'x-amz-checksum-sha1',
  SHA256: 'x-amz-checksum-sha256',
  SHA512: 'x-amz-checksum-sha512',
  MD5: 'x-amz-checksum-md5',
  XXHASH64: 'x-amz-checksum-xxhash64',
  XXHASH3: 'x-amz-checksum-xxhash3',
  XXHASH128: 'x-amz-checksum-xxhash128',
};

/** Digest length in bytes of each algorithm. */
export const CHECKSUM_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
  SHA512: 64,
  MD5: 16,
  XXHASH64: 8,
  XXHASH3: 8,
  XXHASH128: 16,
};

const HEADER_TO_ALGORITHM = new Map<string, ChecksumAlgorithm>(
  CHECKSUM_ALGORITHMS.map((alg) => [CHECKSUM_HEADERS[alg], alg]),
);

/** The algorithm whose checksum header is `name` (case-insensitive), if any. */
export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  return HEADER_TO_ALGORITHM.get(name.toLowerCase());
}

/** Parses an algorithm name as sent in `x-amz-sdk-checksum-algorithm` (case-insensitive). */
export function parseChecksumAlgorithm(value: string): ChecksumAlgorithm | undefined {
  const upper = value.trim().toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper)
    ? (upper as ChecksumAlgorithm)
    : undefined;
}

/** True when `value` is canonical base64 of a digest of the algorithm's length. */
export function isValidChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === CHECKSUM_BYTES[algorithm] && bytes.toString('base64') === value;
}

/**
 * True when `value` is a valid object checksum for CompleteMultipartUpload's
 * `x-amz-checksum-<alg>` header: a digest (FULL_OBJECT), or a digest followed by `-N`, the part
 * count of a COMPOSITE checksum (1..10000, no sign, no leading zero). Anything else (`xxxx==-3`
 * with a short digest, `-smth`, `-12a`, `--3`, `-10-20`) S3 answers InvalidRequest "Value for
 * x-amz-checksum-<alg> header is invalid." (versitygw's CompleteMultipartUpload_invalid_final_*
 * tests, written against AWS).
 */
export function isValidObjectChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  const m = /^([^-]*)(?:-([1-9]\d{0,4}))?$/.exec(value);
  if (!m) return false;
  if (m[2] !== undefined && Number(m[2]) > 10_000) return false;
  return isValidChecksumValue(algorithm, m[1]!);
}

/** The list S3's "unsupported checksum algorithm" message gives. */
export const UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE = `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${CHECKSUM_ALGORITHMS.join(', ')}]`;

function bigEndian32(value: number): string {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out.toString('base64');
}

// node:zlib crc32 exists from Node 20.15 / 22.2; the engines field allows >= 20.18, but keep a
// fallback so an unusual build without it still works.
const zlibCrc32: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? zlib.crc32 : undefined;

/** CRC32 and CRC32C: a 32-bit running value advanced by `step`, digested big-endian. */
class Crc32FamilyChecksum implements StreamingChecksum {
  private value = 0;
  constructor(
    readonly algorithm: 'CRC32' | 'CRC32C',
    private readonly step: (data: Uint8Array, value: number) => number,
  ) {}
  update(data: Uint8Array): void {
    this.value = this.step(data, this.value);
  }
  digest(): string {
    return bigEndian32(this.value);
  }
}

const crc32Step = (data: Uint8Array, value: number): number =>
  zlibCrc32 ? zlibCrc32(data, value) : rsCrc32(data, value);

class HashChecksum implements StreamingChecksum {
  private readonly hash: Hash;
  constructor(
    readonly algorithm: 'MD5' | 'SHA1' | 'SHA256' | 'SHA512',
    nodeName: string,
  ) {
    this.hash = createHash(nodeName);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): string {
    return this.hash.digest('base64');
  }
}

// CRC64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones. A 64-bit value
// is kept as two uint32 halves; tables are slicing-by-8, built lazily on first use.
const CRC64_POLY_HI = 0x9a6c9329;
const CRC64_POLY_LO = 0xac4bc9b5;
/** The eight slicing tables of one 32-bit half. */
type Slices = [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];
let crc64Hi: Slices | undefined;
let crc64Lo: Slices | undefined;

function crc64Tables(): [Slices, Slices] {
  if (crc64Hi && crc64Lo) return [crc64Hi, crc64Lo];
  const hi: Uint32Array[] = [];
  const lo: Uint32Array[] = [];
  const h0 = new Uint32Array(256);
  const l0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let h = 0;
    let l = i;
    for (let bit = 0; bit < 8; bit++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (carry) {
        h = (h ^ CRC64_POLY_HI) >>> 0;
        l = (l ^ CRC64_POLY_LO) >>> 0;
      }
    }
    h0[i] = h;
    l0[i] = l;
  }
  hi.push(h0);
  lo.push(l0);
  for (let k = 1; k < 8; k++) {
    const ph = hi[k - 1]!;
    const pl = lo[k - 1]!;
    const th = new Uint32Array(256);
    const tl = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      const h = ph[i]!;
      const l = pl[i]!;
      const idx = l & 0xff;
      tl[i] = (((l >>> 8) | (h << 24)) ^ l0[idx]!) >>> 0;
      th[i] = ((h >>> 8) ^ h0[idx]!) >>> 0;
    }
    hi.push(th);
    lo.push(tl);
  }
  crc64Hi = hi as Slices;
  crc64Lo = lo as Slices;
  return [crc64Hi, crc64Lo];
}

class Crc64NvmeChecksum implements StreamingChecksum {
  readonly algorithm = 'CRC64NVME' as const;
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(data: Uint8Array): void {
    const [H, L] = crc64Tables();
    const [H0, H1, H2, H3, H4, H5, H6, H7] = H;
    const [L0, L1, L2, L3, L4, L5, L6, L7] = L;
    let hi = this.hi;
    let lo = this.lo;
    let i = 0;
    const n = data.length;
    const end8 = n - (n % 8);
    while (i < end8) {
      const b0 = (lo ^ data[i]!) & 0xff;
      const b1 = ((lo >>> 8) ^ data[i + 1]!) & 0xff;
      const b2 = ((lo >>> 16) ^ data[i + 2]!) & 0xff;
      const b3 = ((lo >>> 24) ^ data[i + 3]!) & 0xff;
      const b4 = (hi ^ data[i + 4]!) & 0xff;
      const b5 = ((hi >>> 8) ^ data[i + 5]!) & 0xff;
      const b6 = ((hi >>> 16) ^ data[i + 6]!) & 0xff;
      const b7 = ((hi >>> 24) ^ data[i + 7]!) & 0xff;
      lo = L7[b0]! ^ L6[b1]! ^ L5[b2]! ^ L4[b3]! ^ L3[b4]! ^ L2[b5]! ^ L1[b6]! ^ L0[b7]!;
      hi = H7[b0]! ^ H6[b1]! ^ H5[b2]! ^ H4[b3]! ^ H3[b4]! ^ H2[b5]! ^ H1[b6]! ^ H0[b7]!;
      i += 8;
    }
    while (i < n) {
      const idx = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ L0[idx]!;
      hi = (hi >>> 8) ^ H0[idx]!;
      i++;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
  }
  digest(): string {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE(~this.hi >>> 0, 0);
    out.writeUInt32BE(~this.lo >>> 0, 4);
    return out.toString('base64');
  }
}

/** A fresh streaming hasher for `algorithm`. */
export function createChecksum(algorithm: ChecksumAlgorithm): StreamingChecksum {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32FamilyChecksum('CRC32', crc32Step);
    case 'CRC32C':
      return new Crc32FamilyChecksum('CRC32C', crc32c);
    case 'CRC64NVME':
      return new Crc64NvmeChecksum();
    case 'SHA1':
      return new HashChecksum('SHA1', 'sha1');
    case 'SHA256':
      return new HashChecksum('SHA256', 'sha256');
    case 'SHA512':
      return new HashChecksum('SHA512', 'sha512');
    case 'MD5':
      return new HashChecksum('MD5', 'md5');
    case 'XXHASH64':
    case 'XXHASH3':
    case 'XXHASH128':
      return createXxhashChecksum(algorithm);
  }
}

/** One-shot convenience: the base64 checksum of `data`. */
export function computeChecksum(algorithm: ChecksumAlgorithm, data: Uint8Array | string): string {
  const c = createChecksum(algorithm);
  c.update(typeof data === 'string' ? Buffer.from(data) : data);
  return c.digest();
}

/**
 * What a request asks for in the way of a flexible checksum:
 * - `header`: the value is in `x-amz-checksum-<alg>`; verify the body against it;
 * - `trailer`: `x-amz-trailer: x-amz-checksum-<alg>`; the value arrives in the aws-chunked trailer;
 * - `compute`: only `x-amz-sdk-checksum-algorithm`; compute and store it.
 */
export interface ChecksumRequest {
  algorithm: ChecksumAlgorithm;
  source: 'header' | 'trailer' | 'compute';
  /** The header value (source `header` only), validated as base64 of the right length. */
  value?: string;
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * The names listed in `x-amz-trailer`, lower-cased. Only checksum trailers are supported, as on
 * AWS; anything else is InvalidRequest.
 */
export function parseTrailerHeader(headers: IncomingHttpHeaders): string[] {
  const raw = single(headers, 'x-amz-trailer');
  if (raw === undefined) return [];
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const name of names) {
    if (!HEADER_TO_ALGORITHM.has(name)) {
      throw new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
    }
  }
  return names;
}

/**
 * Reads `x-amz-checksum-<alg>`, `x-amz-trailer` and `x-amz-sdk-checksum-algorithm`, validating
 * them as S3 does (InvalidRequest for a malformed value, for more than one checksum, or for an
 * SDK algorithm that contradicts the checksum sent). Other `x-amz-checksum-*` headers
 * (`-type`, `-algorithm`, `-mode`) are not checksums and are ignored here.
 */
export function parseChecksumHeaders(headers: IncomingHttpHeaders): ChecksumRequest | null {
  const found: ChecksumRequest[] = [];
  for (const alg of CHECKSUM_ALGORITHMS) {
    const value = single(headers, CHECKSUM_HEADERS[alg]);
    if (value === undefined) continue;
    const trimmed = value.trim();
    if (!isValidChecksumValue(alg, trimmed)) {
      throw new S3Error('InvalidRequest', `Value for ${CHECKSUM_HEADERS[alg]} header is invalid.`);
    }
    found.push({ algorithm: alg, source: 'header', value: trimmed });
  }
  for (const name of parseTrailerHeader(headers)) {
    found.push({ algorithm: HEADER_TO_ALGORITHM.get(name)!, source: 'trailer' });
  }
  if (found.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header');

  const sdkRaw = single(headers, 'x-amz-sdk-checksum-algorithm');
  let sdk: ChecksumAlgorithm | undefined;
  if (sdkRaw !== undefined) {
    sdk = parseChecksumAlgorithm(sdkRaw);
    if (sdk === undefined) {
      throw new S3Error('InvalidRequest', UNSUPPORTED_CHECKSUM_ALGORITHM_MESSAGE);
    }
  }
  const chosen = found[0];
  if (chosen) {
    if (sdk !== undefined && sdk !== chosen.algorithm) {
      throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
    return chosen;
  }
  return sdk === undefined ? null : { algorithm: sdk, source: 'compute' };
}

/** AWS's message for a checksum that did not match, e.g. "The CRC32 you specified did not match the calculated checksum." */
export function checksumMismatchMessage(algorithm: ChecksumAlgorithm): string {
  return `The ${algorithm} you specified did not match the calculated checksum.`;
}
