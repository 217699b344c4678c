/**
 * rclone's `obscure` / `reveal`, byte-compatible with `rclone obscure` and `rclone reveal`
 * (rclone fs/config/obscure): AES-256-CTR under rclone's fixed public key, a random 16-byte IV that
 * is also the initial counter block, and base64url without padding of IV ‖ ciphertext.
 *
 * This is obfuscation, NOT encryption: the key is public (it is in rclone's source and in ours), so
 * anyone holding an obscured value can reveal it. It only keeps a secret from being read over a
 * shoulder or grepped in clear text.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** rclone's obscure key (fs/config/obscure/obscure.go `cryptKey`). */
const RCLONE_KEY = Buffer.from('9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638', 'hex');
const IV_LENGTH = 16;
/** Go's base64.RawURLEncoding alphabet; no padding, no whitespace. */
const BASE64URL_RAW = /^[A-Za-z0-9_-]*$/;

/** Thrown by {@link reveal} when a value is not an obscured value. */
export class RevealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RevealError';
  }
}

function ctr(iv: Buffer, data: Buffer, decrypt: boolean): Buffer {
  // Node's aes-256-ctr increments the whole 16-byte block as one big-endian counter, exactly like
  // Go's cipher.NewCTR used by rclone.
  const c = decrypt
    ? createDecipheriv('aes-256-ctr', RCLONE_KEY, iv)
    : createCipheriv('aes-256-ctr', RCLONE_KEY, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * Obscures `plain` with a given 16-byte IV. Exposed for known-answer tests; use {@link obscure}.
 */
export function obscureWithIv(plain: string, iv: Uint8Array): string {
  if (iv.length !== IV_LENGTH) throw new RangeError(`IV must be ${IV_LENGTH} bytes`);
  const ivBuf = Buffer.from(iv);
  return Buffer.concat([ivBuf, ctr(ivBuf, Buffer.from(plain, 'utf8'), false)]).toString('base64url');
}

/**
 * Obscures `plain` the way `rclone obscure` does (random IV, so every call gives a different
 * value). The empty string obscures to a 22-character value that reveals to `''`, as in rclone.
 */
export function obscure(plain: string): string {
  return obscureWithIv(plain, randomBytes(IV_LENGTH));
}

/**
 * Reveals a value made by {@link obscure} or `rclone obscure`.
 *
 * @throws RevealError when the value is not unpadded base64url, decodes to fewer than 16 bytes, or
 *   reveals to bytes that are not valid UTF-8 — each a sign that the value was never obscured.
 */
export function reveal(value: string): string {
  // Buffer.from(…, 'base64url') silently skips invalid characters, so check the alphabet first;
  // a length of 4n+1 characters cannot come from any byte string.
  if (!BASE64URL_RAW.test(value) || value.length % 4 === 1) {
    throw new RevealError('base64 decode failed when revealing password - is it obscured?');
  }
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.length < IV_LENGTH) {
    throw new RevealError('input too short when revealing password - is it obscured?');
  }
  const plain = ctr(bytes.subarray(0, IV_LENGTH), bytes.subarray(IV_LENGTH), true);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(plain);
  } catch {
    throw new RevealError('revealed value is not valid UTF-8 - is it obscured?');
  }
}
