/**
 * User metadata values between the wire and the store. AWS
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html, "User-defined object
 * metadata"): "When using non US-ASCII characters in your metadata values, the provided Unicode
 * string is examined for non US-ASCII characters. Values of such headers are character decoded as
 * per RFC 2047 before storing and encoded as per RFC 2047 to make them mail-safe before returning."
 *
 * So a value is stored as proper Unicode text (its UTF-8 bytes decoded, RFC 2047 encoded-words
 * decoded) and goes out as `=?UTF-8?B?<base64>?=` when it is not plain printable ASCII.
 */

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a header value as Node hands it over (latin1: one char per byte). The bytes are read
 * as UTF-8, which botocore and the SDKs send; bytes that are not UTF-8 are read as ISO-8859-1, as
 * aws-sdk-js sends a latin1-range character when Node writes the headers as latin1 (see
 * HeaderReading in src/auth/canonical.ts). A value holding a char above U+00FF is already text.
 */
export function headerText(raw: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(raw) || /[^\x00-\xff]/.test(raw)) return raw;
  try {
    return UTF8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    return raw;
  }
}

/** An RFC 2047 encoded-word: `=?charset[*lang]?B|Q?encoded-text?=` (RFC 2047 §2, RFC 2231 §5). */
const ENCODED_WORD = /=\?([^?*\s]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

/** The bytes of an encoded-word's text, undefined when malformed (the word then stays literal). */
function wordBytes(encoding: string, text: string): Buffer | undefined {
  if (encoding === 'B' || encoding === 'b') {
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
    return Buffer.from(text, 'base64');
  }
  // Q: `_` is a space, `=XX` a byte, any other printable ASCII itself (RFC 2047 §4.2).
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out.push(0x20);
    else if (c === 0x3d) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (c > 0x20 && c < 0x7f) out.push(c);
    else return undefined;
  }
  return Buffer.from(out);
}

/** Decodes bytes in a MIME charset; undefined for an unknown charset or invalid bytes. */
function decodeCharset(charset: string, bytes: Buffer): string | undefined {
  try {
    return new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

interface Word {
  raw: string;
  charset: string;
  bytes: Buffer;
}

/**
 * Decodes the RFC 2047 encoded-words in a value. Whitespace between two adjacent encoded-words is
 * dropped (RFC 2047 §6.2); adjacent words in one charset are decoded together, so a multi-byte
 * character split across two words (as some encoders do) survives. A malformed word, or one in a
 * charset this runtime does not know, is kept literally.
 */
export function decodeRfc2047(value: string): string {
  if (!value.includes('=?')) return value;
  const parts: Array<string | Word> = [];
  let last = 0;
  for (const m of value.matchAll(ENCODED_WORD)) {
    const bytes = wordBytes(m[2]!, m[3]!);
    if (bytes === undefined) continue;
    const between = value.slice(last, m.index);
    const prev = parts[parts.length - 1];
    const adjacent = typeof prev === 'object' && /^[ \t\r\n]*$/.test(between);
    if (!adjacent && between !== '') parts.push(between);
    parts.push({ raw: m[0], charset: m[1]!.toLowerCase(), bytes });
    last = m.index + m[0].length;
  }
  if (parts.length === 0) return value;
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    // Gather the run of adjacent words in the same charset.
    const run: Word[] = [part];
    while (i + 1 < parts.length) {
      const next = parts[i + 1]!;
      if (typeof next === 'string' || next.charset !== part.charset) break;
      run.push(next);
      i++;
    }
    const decoded = decodeCharset(part.charset, Buffer.concat(run.map((w) => w.bytes)));
    out += decoded ?? run.map((w) => w.raw).join('');
  }
  return out + value.slice(last);
}

/**
 * A metadata value as sent (a latin1 byte string from Node) to the Unicode text stored: the bytes
 * decoded (headerText), then any RFC 2047 encoded-words decoded.
 */
export function decodeMetadataValue(raw: string): string {
  return decodeRfc2047(headerText(raw));
}

/**
 * A stored metadata value as a response header: unchanged when it is printable ASCII (or tab),
 * otherwise one RFC 2047 encoded-word `=?UTF-8?B?<base64 of its UTF-8 bytes>?=`, as S3 returns
 * non-ASCII metadata (UsingMetadata.html; boto and the SDKs hand that string back unchanged).
 */
export function encodeMetadataValue(value: string): string {
  if (/^[\t\x20-\x7e]*$/.test(value)) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
