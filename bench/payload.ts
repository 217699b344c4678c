/**
 * Benchmark payloads: any size, generated from one repeating 1 MiB random buffer (nothing of the
 * payload's size is ever allocated), and their digests, computed once per size before any timing
 * starts so the client spends no CPU on them while it is measured.
 */
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** Size of the repeating random block; a multiple of every chunk size the client uses. */
export const BLOCK_SIZE = 1024 * 1024;

let block: Buffer | undefined;

/** The shared random block (created on first use). */
export function randomBlock(): Buffer {
  block ??= randomBytes(BLOCK_SIZE);
  return block;
}

/**
 * The payload of `size` bytes as slices of at most `sliceSize` bytes (default: the whole block).
 * `sliceSize` must divide {@link BLOCK_SIZE}; slices are views of the block, never copies.
 */
export function* payloadSlices(size: number, sliceSize = BLOCK_SIZE): Generator<Buffer> {
  if (BLOCK_SIZE % sliceSize !== 0) throw new Error(`slice size ${sliceSize} must divide ${BLOCK_SIZE}`);
  const buf = randomBlock();
  let offset = 0;
  while (offset < size) {
    const at = offset % BLOCK_SIZE;
    const n = Math.min(sliceSize, size - offset);
    yield buf.subarray(at, at + n);
    offset += n;
  }
}

const digestCache = new Map<string, string>();

function cached(name: string, size: number, compute: () => string): string {
  const id = `${name}:${size}`;
  let value = digestCache.get(id);
  if (value === undefined) {
    value = compute();
    digestCache.set(id, value);
  }
  return value;
}

/** Hex SHA-256 of the payload of `size` bytes (cached). */
export function payloadSha256Hex(size: number): string {
  return cached('sha256', size, () => {
    const h = createHash('sha256');
    for (const s of payloadSlices(size)) h.update(s);
    return h.digest('hex');
  });
}

/** Base64 CRC32 of the payload, as x-amz-checksum-crc32 carries it (cached). */
export function payloadCrc32Base64(size: number): string {
  return cached('crc32', size, () => {
    let crc = 0;
    for (const s of payloadSlices(size)) crc = crc32(s, crc);
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc >>> 0);
    return out.toString('base64');
  });
}

/** Base64 CRC64NVME of the payload, as x-amz-checksum-crc64nvme carries it (cached). */
export async function payloadCrc64NvmeBase64(size: number): Promise<string> {
  const id = `crc64nvme:${size}`;
  const hit = digestCache.get(id);
  if (hit !== undefined) return hit;
  const c = new Crc64Nvme();
  for (const s of payloadSlices(size)) c.update(s);
  const value = Buffer.from(await c.digest()).toString('base64');
  digestCache.set(id, value);
  return value;
}

const sliceSha256 = new Map<string, string>();

/**
 * Hex SHA-256 of one payload slice, cached by its position in the block and length: with chunk
 * sizes dividing the block, a payload of any size has at most a handful of distinct chunks, so a
 * signed aws-chunked upload costs the client an HMAC per chunk and no hashing of the data.
 */
export function sliceSha256Hex(slice: Buffer): string {
  const buf = randomBlock();
  const at = slice.byteOffset - buf.byteOffset;
  if (slice.buffer !== buf.buffer || at < 0 || at + slice.length > BLOCK_SIZE) {
    return createHash('sha256').update(slice).digest('hex');
  }
  const id = `${at}:${slice.length}`;
  let value = sliceSha256.get(id);
  if (value === undefined) {
    value = createHash('sha256').update(slice).digest('hex');
    sliceSha256.set(id, value);
  }
  return value;
}
