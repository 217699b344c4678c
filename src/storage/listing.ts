/**
 * Listing helpers shared by backends: UTF-8 byte order on JS strings, prefix successors for range
 * scans, and the delimiter/pagination walk that turns an ordered key scan into one ListObjects page.
 *
 * S3 lists keys "in UTF-8 binary order"
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html). JavaScript's `<` on
 * strings compares UTF-16 code units, which differs from UTF-8 byte order for characters above
 * U+FFFF versus U+E000..U+FFFF (e.g. '😀' < '\uFFFD' in UTF-16 but not in UTF-8), so never compare
 * keys with `<` — use {@link compareUtf8}.
 */
import type { ListOptions } from './backend.js';

/** The highest Unicode code point. */
const MAX_CODE_POINT = 0x10ffff;

/**
 * Compares two strings in UTF-8 byte order (which equals code point order). Returns a negative
 * number, 0 or a positive number. Lone surrogates sort as their code unit value would as a code
 * point (D800..DFFF), i.e. between U+D7FF and U+E000.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Code units 0xE000..0xFFFF are lower code points than any surrogate pair (>= U+10000), but
      // higher UTF-16 units than the surrogates: move them below, and surrogates above.
      return fixup(x) - fixup(y);
    }
  }
  return a.length - b.length;
}

function fixup(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * The smallest string greater (in UTF-8 byte order) than every string starting with `prefix`, so
 * that `key >= prefix AND key < prefixSuccessor(prefix)` selects exactly the keys under `prefix`.
 * Increments the last code point (skipping the surrogate range); a trailing U+10FFFF is dropped and
 * the previous code point incremented instead. Returns undefined when no such string exists (the
 * prefix is empty or only U+10FFFF characters): the range is then unbounded above.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const cps = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (cps.length > 0) {
    const last = cps.pop()!;
    if (last < MAX_CODE_POINT) {
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      return String.fromCodePoint(...cps, next);
    }
  }
  return undefined;
}

/**
 * The common prefix `key` rolls up into: `key` up to and including the first `delimiter` found at
 * or after `prefix.length`, or undefined when there is none (the key is listed as an object).
 * `key` must start with `prefix`; an empty delimiter never yields a common prefix.
 */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/** Where an ordered scan starts: at `key` (inclusive) or just after it (exclusive). */
export interface SeekBound {
  key: string;
  inclusive: boolean;
}

/**
 * An ordered scan: entries whose keys lie after `from` and strictly below `before` (unbounded when
 * undefined), in UTF-8 byte order. `limit` is a hint (at most that many will be consumed); the
 * consumer may stop early, so generators/iterators SHOULD release resources in `return()`.
 */
export type SeekScan<T extends { key: string }> = (
  from: SeekBound,
  before: string | undefined,
  limit: number,
) => Iterable<T>;

/** One page as produced by {@link collectListPage}: entries instead of ObjectInfo. */
export interface EntryPage<T> {
  objects: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextAfter?: string;
}

/**
 * Builds one listing page from an ordered scan, at a cost proportional to the page (not the
 * bucket): keys are read from max(prefix, after) upward; with a delimiter, the first key that
 * yields a common prefix P emits P once and the scan seeks to `prefixSuccessor(P)`, so the keys
 * under P are never read. `maxKeys` counts objects and common prefixes together; the page is
 * truncated only when something remains after it, and `nextAfter` is then the last key or prefix
 * emitted (undefined when `maxKeys` is 0). An `after` that is itself a common prefix for this
 * prefix/delimiter skips every key under it, so prefixes are never repeated across pages.
 */
export function collectListPage<T extends { key: string }>(
  opts: ListOptions,
  scan: SeekScan<T>,
): EntryPage<T> {
  const { prefix, delimiter, after, maxKeys } = opts;
  const before = prefix === '' ? undefined : prefixSuccessor(prefix);
  const page: EntryPage<T> = { objects: [], commonPrefixes: [], isTruncated: false };

  let from: SeekBound | undefined = { key: prefix, inclusive: true };
  if (compareUtf8(after, prefix) >= 0) {
    from = { key: after, inclusive: false };
    if (after.startsWith(prefix) && commonPrefixOf(after, prefix, delimiter) === after) {
      const next = prefixSuccessor(after);
      from = next === undefined ? undefined : { key: next, inclusive: true };
    }
  }
  if (from !== undefined && before !== undefined && compareUtf8(from.key, before) >= 0) from = undefined;

  if (maxKeys <= 0) {
    if (from !== undefined) {
      for (const _ of scan(from, before, 1)) {
        page.isTruncated = true;
        break;
      }
    }
    return page;
  }

  let count = 0;
  let last: string | undefined;
  scanning: while (from !== undefined) {
    let seekTo: SeekBound | undefined;
    for (const entry of scan(from, before, maxKeys - count + 1)) {
      if (count === maxKeys) {
        page.isTruncated = true;
        break scanning;
      }
      const cp = commonPrefixOf(entry.key, prefix, delimiter);
      if (cp === undefined) {
        page.objects.push(entry);
        count++;
        last = entry.key;
        continue;
      }
      page.commonPrefixes.push(cp);
      count++;
      last = cp;
      const next = prefixSuccessor(cp);
      if (next === undefined || (before !== undefined && compareUtf8(next, before) >= 0)) break scanning;
      seekTo = { key: next, inclusive: true };
      break;
    }
    from = seekTo;
  }
  if (page.isTruncated && last !== undefined) page.nextAfter = last;
  return page;
}
