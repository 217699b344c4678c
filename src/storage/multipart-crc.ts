/**
 * Combining CRCs: the CRC of `A || B` from crc(A), crc(B) and len(B), without the bytes. This is
 * how a FULL_OBJECT multipart checksum (CRC32, CRC32C, CRC64NVME) is derived from the part
 * checksums (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity-upload.html):
 * no pass over the assembled object is needed.
 *
 * The method is zlib's `crc32_combine` (multiplication by x^(8·len) modulo the polynomial, with a
 * table of x^(2^k)), generalised to any reflected CRC whose init and xorout are all ones — true of
 * all three S3 CRCs, for which the init/xorout terms cancel out. Values are BigInt (64-bit wide
 * CRCs); the work per part is a few hundred word operations, cached per part length.
 */
import type { ChecksumAlgorithm } from '../s3/body.js';

/** A reflected CRC: its width in bits and its reversed polynomial. */
interface CrcSpec {
  width: number;
  poly: bigint;
}

const SPECS: Readonly<Record<'CRC32' | 'CRC32C' | 'CRC64NVME', CrcSpec>> = {
  CRC32: { width: 32, poly: 0xedb88320n },
  CRC32C: { width: 32, poly: 0x82f63b78n },
  CRC64NVME: { width: 64, poly: 0x9a6c9329ac4bc9b5n },
};

/** The algorithms whose values can be combined (FULL_OBJECT multipart checksums). */
export type CombinableAlgorithm = keyof typeof SPECS;

/** True for CRC32, CRC32C and CRC64NVME. */
export function isCombinable(algorithm: ChecksumAlgorithm): algorithm is CombinableAlgorithm {
  return Object.hasOwn(SPECS, algorithm);
}

class CrcMath {
  readonly #top: bigint;
  readonly #poly: bigint;
  /** x^(2^k) mod p, k = 0..; grown on demand. */
  readonly #x2n: bigint[] = [];
  /** x^(8·len) mod p by length in bytes. */
  readonly #shift = new Map<number, bigint>();

  constructor(spec: CrcSpec) {
    this.#top = 1n << BigInt(spec.width - 1);
    this.#poly = spec.poly;
    // In the reflected representation the top bit is x^0; x^1 is the bit below it.
    let p = this.#top >> 1n;
    this.#x2n.push(p);
    for (let k = 1; k < 72; k++) {
      p = this.multiply(p, p);
      this.#x2n.push(p);
    }
  }

  /** a·b mod p (zlib's multmodp). */
  multiply(a: bigint, b: bigint): bigint {
    let m = this.#top;
    let product = 0n;
    let x = b;
    for (;;) {
      if (a & m) {
        product ^= x;
        if ((a & (m - 1n)) === 0n) break;
      }
      m >>= 1n;
      x = x & 1n ? (x >> 1n) ^ this.#poly : x >> 1n;
    }
    return product;
  }

  /** x^(8·bytes) mod p (zlib's x2nmodp(len, 3)). */
  shift(bytes: number): bigint {
    let cached = this.#shift.get(bytes);
    if (cached !== undefined) return cached;
    let p = this.#top; // x^0
    let n = BigInt(bytes);
    let k = 3; // 8 = 2^3
    while (n > 0n) {
      if (n & 1n) p = this.multiply(this.#x2n[k]!, p);
      n >>= 1n;
      k++;
    }
    if (this.#shift.size > 1024) this.#shift.clear();
    this.#shift.set(bytes, p);
    cached = p;
    return cached;
  }

  /** crc(A || B) from crc(A), crc(B) and the length of B in bytes. */
  combine(crcA: bigint, crcB: bigint, lengthB: number): bigint {
    return this.multiply(this.shift(lengthB), crcA) ^ crcB;
  }
}

const maths = new Map<CombinableAlgorithm, CrcMath>();

function mathFor(algorithm: CombinableAlgorithm): CrcMath {
  let m = maths.get(algorithm);
  if (!m) {
    m = new CrcMath(SPECS[algorithm]);
    maths.set(algorithm, m);
  }
  return m;
}

function decode(value: string, width: number): bigint {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== width / 8) throw new Error(`not a ${width}-bit CRC value: ${value}`);
  return BigInt('0x' + (bytes.toString('hex') || '0'));
}

function encode(value: bigint, width: number): string {
  return Buffer.from(value.toString(16).padStart(width / 4, '0'), 'hex').toString('base64');
}

/**
 * The CRC of the concatenation of parts, from each part's CRC (base64, big-endian, as S3 sends
 * them) and size in bytes. An empty list gives the CRC of no bytes (0).
 */
export function combineCrcs(
  algorithm: CombinableAlgorithm,
  parts: ReadonlyArray<{ checksum: string; size: number }>,
): string {
  const { width } = SPECS[algorithm];
  const math = mathFor(algorithm);
  let crc = 0n;
  for (const part of parts) crc = math.combine(crc, decode(part.checksum, width), part.size);
  return encode(crc, width);
}
