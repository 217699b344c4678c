/**
 * The key <-> path mapping of the local backend (documented in docs/on-disk-format.md). Pure
 * functions: no file system access.
 *
 * A key is split on '/'; every segment but the last is a directory, the last is the file name.
 * Segments are stored as-is except:
 *   - the empty segment (from `a//b` or a trailing '/') is `.s3local-empty`;
 *   - a segment starting with `.s3local` is prefixed with `.s3local-esc`;
 * so every name starting with `.s3local` inside a bucket belongs to s3local. An object whose
 * natural path is a directory (key `a` while key `a/b` exists; S3 allows both) lives at
 * `<path>/.s3local-self`; while such an object is being moved there it briefly lives at
 * `<dir>/.s3local-moving/<name>`. {@link pathToKey} decodes all three forms back to the key.
 *
 * Keys that cannot round-trip or could escape the bucket directory are refused: NUL, a leading
 * '/', '.' or '..' segments, unpaired UTF-16 surrogates (not representable in UTF-8), and on
 * Windows, where it separates paths, a backslash.
 */
import { sep } from 'node:path';
import { S3Error } from '../../s3/errors.js';

/** True where `\\` separates paths (Windows): keys holding one are refused there. */
export const BACKSLASH_SEPARATES = sep === '\\';

/** S3's key length limit, in UTF-8 bytes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html). */
export const MAX_KEY_BYTES = 1024;
/** The per-name limit of common file systems (ext4, XFS, btrfs, APFS, NTFS): 255 bytes. */
export const MAX_SEGMENT_BYTES = 255;
/**
 * Limit on the encoded relative path, leaving room under Linux's PATH_MAX (4096) for the data
 * directory, the bucket name and the `/.s3local-self` suffix.
 */
export const MAX_RELATIVE_PATH_BYTES = 3072;

/** Names starting with this are reserved for s3local inside a bucket directory. */
export const RESERVED_PREFIX = '.s3local';
/** File or directory name standing for an empty key segment. */
export const EMPTY_SEGMENT = '.s3local-empty';
/** Prefix added to key segments that start with {@link RESERVED_PREFIX}. */
export const ESCAPE_PREFIX = '.s3local-esc';
/** File name of an object whose natural path is a directory. */
export const SELF_NAME = '.s3local-self';
/** Directory holding an object while it moves from `<name>` to `<name>/.s3local-self`. */
export const MOVING_DIR = '.s3local-moving';

// Unpaired surrogates cannot be encoded in UTF-8, so such a key could not round-trip.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The key as it may appear in an XML error element: control characters shown as \uXXXX. */
function printable(key: string): string {
  // eslint-disable-next-line no-control-regex
  return key.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function invalidKey(key: string, problem: string): S3Error {
  return new S3Error('InvalidArgument', `Invalid object key: ${problem}.`, {
    ArgumentName: 'key',
    ArgumentValue: printable(key),
  });
}

/**
 * Throws InvalidArgument or KeyTooLongError when `key` cannot be stored by the local backend;
 * see the module comment. `key` is non-empty (the S3 layer never passes an empty key).
 */
export function validateKey(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new S3Error(
      'KeyTooLongError',
      `Your key is too long: ${bytes} bytes, the limit is ${MAX_KEY_BYTES}.`,
      {
        Size: String(bytes),
        MaxSizeAllowed: String(MAX_KEY_BYTES),
      },
    );
  }
  if (key === '') throw invalidKey(key, 'the key is empty');
  if (key.includes('\0')) throw invalidKey(key, 'it contains a NUL character');
  // A backslash is an ordinary character in S3 keys and in POSIX file names; only where it
  // separates paths (Windows) could it escape the bucket, so only there is it refused.
  if (BACKSLASH_SEPARATES && key.includes('\\')) {
    throw invalidKey(key, 'it contains a backslash, which this server cannot store on Windows');
  }
  if (key.startsWith('/')) throw invalidKey(key, "it starts with '/'");
  if (LONE_SURROGATE.test(key)) throw invalidKey(key, 'it is not valid UTF-8 (unpaired surrogate)');
  for (const segment of key.split('/')) {
    if (segment === '.' || segment === '..') {
      throw invalidKey(key, `it contains a '${segment}' path segment`);
    }
  }
}

/** The on-disk name of one key segment. */
export function encodeSegment(segment: string): string {
  if (segment === '') return EMPTY_SEGMENT;
  if (segment.startsWith(RESERVED_PREFIX)) return ESCAPE_PREFIX + segment;
  return segment;
}

/**
 * The key segment an on-disk name stands for, or undefined when the name is not one
 * {@link encodeSegment} produces (another reserved `.s3local*` name, `.`, `..`, empty).
 */
export function decodeSegment(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return undefined;
  if (name === EMPTY_SEGMENT) return '';
  if (name.startsWith(ESCAPE_PREFIX)) {
    const rest = name.slice(ESCAPE_PREFIX.length);
    return rest.startsWith(RESERVED_PREFIX) ? rest : undefined;
  }
  if (name.startsWith(RESERVED_PREFIX)) return undefined;
  return name;
}

/**
 * The natural relative path (segments joined with '/') of `key` inside its bucket directory.
 * Validates the key first (see {@link validateKey}); throws KeyTooLongError when an encoded
 * segment exceeds 255 bytes or the whole path exceeds {@link MAX_RELATIVE_PATH_BYTES}.
 */
export function keyToPath(key: string): string {
  validateKey(key);
  const names = key.split('/').map(encodeSegment);
  for (const name of names) {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > MAX_SEGMENT_BYTES) {
      throw new S3Error(
        'KeyTooLongError',
        `Your key is too long for this server: a path segment (the text between two '/') is stored as a ` +
          `file or directory name of ${bytes} bytes, and file systems limit names to ${MAX_SEGMENT_BYTES} bytes.`,
        { Size: String(Buffer.byteLength(key, 'utf8')), MaxSizeAllowed: String(MAX_KEY_BYTES) },
      );
    }
  }
  const path = names.join('/');
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > MAX_RELATIVE_PATH_BYTES) {
    throw new S3Error(
      'KeyTooLongError',
      `Your key is too long for this server: it is stored as a path of ${bytes} bytes, ` +
        `the limit is ${MAX_RELATIVE_PATH_BYTES}.`,
      { Size: String(Buffer.byteLength(key, 'utf8')), MaxSizeAllowed: String(MAX_KEY_BYTES) },
    );
  }
  return path;
}

/** Where the object of natural path `path` lives when `path` is a directory. */
export function selfPath(path: string): string {
  return `${path}/${SELF_NAME}`;
}

/** Where the object of natural path `path` lives while it is being moved to {@link selfPath}. */
export function movingPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0
    ? `${MOVING_DIR}/${path}`
    : `${path.slice(0, slash)}/${MOVING_DIR}/${path.slice(slash + 1)}`;
}

/** Every place the object of `key` may be found, most likely first: natural, self, moving. */
export function candidatePaths(key: string): string[] {
  const natural = keyToPath(key);
  return [natural, selfPath(natural), movingPath(natural)];
}

/**
 * The inverse of the mapping: the key whose object may be stored at `relPath` (a path relative to
 * the bucket directory, '/'-separated), accepting the natural, `.s3local-self` and
 * `.s3local-moving` forms. Returns undefined when `relPath` is not a path s3local would store an
 * object at (e.g. a stray `.s3local-foo` name, a non-canonical escape, or an invalid key).
 */
export function pathToKey(relPath: string): string | undefined {
  const names = relPath.split('/');
  if (names.length > 1 && names[names.length - 1] === SELF_NAME) {
    names.pop();
  } else if (names.length > 1 && names[names.length - 2] === MOVING_DIR) {
    names.splice(names.length - 2, 1);
  }
  const segments: string[] = [];
  for (const name of names) {
    const segment = decodeSegment(name);
    if (segment === undefined) return undefined;
    segments.push(segment);
  }
  const key = segments.join('/');
  try {
    if (keyToPath(key) !== names.join('/')) return undefined;
  } catch {
    return undefined;
  }
  return key;
}
