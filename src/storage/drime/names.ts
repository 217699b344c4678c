/**
 * S3 keys <-> Drime names.
 *
 * A key `a/b/c.txt` is the file `c.txt` in folder `b` in folder `a` under the bucket's folder. A
 * key ending in `/` is a file with the EMPTY name inside its folder, so `dir/` (a folder marker,
 * with or without bytes) and `dir/x` coexist, and `a//b` is `b` inside a folder with the empty name.
 *
 * A segment Drime cannot hold as-is is stored under an ALIAS, `<escaped>~<16 hex of SHA-256>`:
 * - the empty name, `.`, `..`, control characters, leading/trailing whitespace (Laravel's
 *   TrimStrings would change it);
 * - a name that Drime's case- and accent-insensitive collation (drime-api.md §9.4) would confuse
 *   with a different existing sibling of the same kind (`Photos` next to `photos`, `Ā` next to
 *   `a`): the later one is aliased, so distinct S3 keys never share a Drime name;
 * - a name that would itself read as an alias.
 * An alias decodes only when its hash matches, so ordinary names never decode by accident.
 */
import { createHash } from 'node:crypto';
import { S3Error } from '../../s3/errors.js';

/** S3's key limit (UTF-8 bytes). */
export const MAX_KEY_BYTES = 1024;
/** Drime's `name` column is varchar(255) (drime-api.md §2.2). */
export const MAX_NAME_CHARS = 255;

export interface KeyPath {
  /** Folder names (decoded) from the bucket folder down. */
  dirs: string[];
  /** The file name (decoded); empty for a key ending in `/`. */
  name: string;
}

/** Splits a key; KeyTooLongError beyond 1,024 bytes. */
export function parseKey(key: string): KeyPath {
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    throw new S3Error(
      'KeyTooLongError',
      `Your key is too long: ${bytes} bytes, the limit is ${MAX_KEY_BYTES}.`,
    );
  }
  const segs = key.split('/');
  const name = segs.pop() ?? '';
  return { dirs: segs, name };
}

const ALIAS = /^(.*)~([0-9a-f]{16})$/s;

function hash16(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 16);
}

function percent(ch: string): string {
  return [...Buffer.from(ch, 'utf8')]
    .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

// eslint-disable-next-line no-control-regex
const ESCAPED_IN_ALIAS = /[%\u0000-\u001f\u007f]/g;

/** The alias of `name`: control characters, `%`, edge whitespace and `.`/`..` percent-encoded. */
export function aliasOf(name: string): string {
  let body =
    name === '.' || name === '..' ? name.replace(/\./g, '%2E') : name.replace(ESCAPED_IN_ALIAS, percent);
  body = body
    .replace(/^\s+/u, (m) => [...m].map(percent).join(''))
    .replace(/\s+$/u, (m) => [...m].map(percent).join(''));
  return `${body}~${hash16(name)}`;
}

/** The S3 segment a stored Drime name stands for. */
export function decodeName(stored: string): string {
  if (!stored.includes('~')) return stored;
  const m = ALIAS.exec(stored);
  if (!m) return stored;
  let name: string;
  try {
    name = decodeURIComponent(m[1]!);
  } catch {
    return stored;
  }
  return hash16(name) === m[2] ? name : stored;
}

/** Whether `name` cannot be stored as itself whatever its siblings are. */
function alwaysAliased(name: string): boolean {
  return (
    name === '' ||
    name === '.' ||
    name === '..' ||
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f]/.test(name) ||
    name.trim() !== name ||
    decodeName(name) !== name
  );
}

/**
 * Drime compares names with a MySQL `_ci` collation: case-, accent- and width-insensitive, and
 * (utf8mb4_unicode_ci) every character above U+FFFF weighs like U+FFFD. Conservative on purpose:
 * treating two names as the same only costs an alias.
 */
const collator = new Intl.Collator('und', { sensitivity: 'base' });
function collationForm(s: string): string {
  return s.replace(/[\u{10000}-\u{10ffff}\ufffd]/gu, '\ufffd');
}
const ASCII = /^[\x20-\x7e]*$/;
export function sameNameOnDrime(a: string, b: string): boolean {
  if (a === b) return true;
  // Printable ASCII against printable ASCII: only case can make them equal (fast path).
  if (ASCII.test(a) && ASCII.test(b)) return a.length === b.length && a.toLowerCase() === b.toLowerCase();
  return collator.compare(collationForm(a), collationForm(b)) === 0;
}

/** A coarse folding of names that Drime may confuse, for in-process locking. */
export function foldName(name: string): string {
  return collationForm(name).normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The Drime name to store `name` under, given the stored names of existing siblings of the same
 * kind. An entry that already stands for `name` keeps its stored form.
 */
export function storedNameFor(name: string, siblings: readonly string[]): string {
  const mine = siblings.find((s) => decodeName(s) === name);
  if (mine !== undefined) return mine;
  if (alwaysAliased(name) || siblings.some((s) => sameNameOnDrime(s, name))) return aliasOf(name);
  return name;
}

/** Throws KeyTooLongError when a stored name exceeds Drime's 255 characters. */
export function checkStoredLength(stored: string, key: string): void {
  if ([...stored].length > MAX_NAME_CHARS) {
    throw new S3Error(
      'KeyTooLongError',
      `The key "${key.slice(0, 100)}..." has a "/"-separated part longer than Drime allows (${MAX_NAME_CHARS} characters once encoded).`,
    );
  }
}

/** A Drime-safe `clientExtension` for a name (1..10 ASCII alphanumerics, else `bin`; §9.5). */
export function safeExtension(name: string): { ext: string; fromName: boolean } {
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  return /^[A-Za-z0-9]{1,10}$/.test(ext)
    ? { ext: ext.toLowerCase(), fromName: true }
    : { ext: 'bin', fromName: false };
}

/** A MIME type fit for Drime's varchar(100) `mime` column, else application/octet-stream. */
export function drimeMime(contentType: string | undefined): string {
  const base = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][\w.+-]*\/[\w.+-]+$/.test(base) && base.length <= 100 ? base : 'application/octet-stream';
}
