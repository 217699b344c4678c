/**
 * Small crypto helpers for the signers: hashes, HMACs, constant-time comparison and the SigV4
 * signing-key derivation (cached per secret, date, region and service).
 */
import { createHash, createHmac, timingSafeEqual, type BinaryLike } from 'node:crypto';

/** Hex SHA-256 of the empty string. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: BinaryLike): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: BinaryLike, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Compares two strings without leaking where they differ (crypto.timingSafeEqual). A length
 * difference returns false at once: lengths of signatures are public.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

/**
 * Bytes (a string: its UTF-8 bytes) as space-separated lower-case hex pairs, the way AWS echoes
 * StringToSignBytes.
 */
export function spacedHex(s: string | Uint8Array): string {
  const hex = (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s)).toString('hex');
  let out = '';
  for (let i = 0; i < hex.length; i += 2) out += (i === 0 ? '' : ' ') + hex.slice(i, i + 2);
  return out;
}

const KEY_CACHE_LIMIT = 64;
const keyCache = new Map<string, Buffer>();

/**
 * The SigV4 signing key: HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
 * Cached (a handful of entries) because every request of a day shares it.
 */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}\n${region}\n${service}\n${secret}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const kDate = hmacSha256('AWS4' + secret, date);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, service);
  const key = hmacSha256(kService, 'aws4_request');
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
  keyCache.set(cacheKey, key);
  return key;
}
