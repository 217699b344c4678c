/**
 * ListObjectVersions over the local index
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html): current versions
 * (`objects`) merged with noncurrent ones and delete markers (`object_versions`), by key in UTF-8
 * byte order and newest first within a key, paginated with key and version-id markers at a cost
 * proportional to the page.
 */
import { currentVersionOf, type ObjectIndex, type ObjectRow } from '../../index/object-index.js';
import type { VersionIndex } from '../../index/version-index.js';
import type { ObjectInfo, VersionEntry, VersionListOptions, VersionPage } from '../backend.js';
import { collectListPage, commonPrefixOf, compareUtf8, type SeekBound } from '../listing.js';
import type { VersionRecord } from './version-records.js';
import { assertVersionIdFormat, recordToInfo } from './version-format.js';

/** What the listing reads. */
export interface VersionListingSource {
  index: ObjectIndex;
  versions: VersionIndex;
  /** The current version's info (version id `null` when it has none). */
  infoOfRow(row: ObjectRow): ObjectInfo;
}

/** One page of versions and delete markers (see the module comment). */
export function listVersions(
  src: VersionListingSource,
  bucket: string,
  opts: VersionListOptions,
): VersionPage {
  const page: VersionPage = { versions: [], commonPrefixes: [], isTruncated: false };
  let budget = opts.maxKeys;
  // The rest of the key-marker's versions after version-id-marker, unless they roll up.
  if (
    opts.versionIdMarker !== undefined &&
    opts.keyMarker.startsWith(opts.prefix) &&
    commonPrefixOf(opts.keyMarker, opts.prefix, opts.delimiter) === undefined
  ) {
    assertVersionIdFormat(opts.versionIdMarker);
    for (const entry of versionsAfter(src, bucket, opts.keyMarker, opts.versionIdMarker)) {
      if (budget === 0) {
        page.isTruncated = true;
        break;
      }
      page.versions.push(entry);
      budget--;
    }
  }
  if (!page.isTruncated) {
    const rest = collectListPage(
      { prefix: opts.prefix, delimiter: opts.delimiter, after: opts.keyMarker, maxKeys: budget },
      (from, before, limit) => scanVersions(src, bucket, from, before, limit),
    );
    page.versions.push(...rest.objects);
    page.commonPrefixes = rest.commonPrefixes;
    page.isTruncated = rest.isTruncated;
    if (rest.isTruncated && rest.nextAfter !== undefined && rest.commonPrefixes.at(-1) === rest.nextAfter) {
      page.nextKeyMarker = rest.nextAfter;
      return page;
    }
  }
  const last = page.versions.at(-1);
  if (page.isTruncated && last !== undefined) {
    page.nextKeyMarker = last.key;
    page.nextVersionIdMarker = last.versionId;
  }
  return page;
}

function entryOf(rec: VersionRecord, isLatest: boolean): VersionEntry {
  return { ...recordToInfo(rec), versionId: rec.versionId, isLatest, deleteMarker: rec.deleteMarker };
}

/** The versions of `key` older than the version `versionId` (current or not). */
function versionsAfter(
  src: VersionListingSource,
  bucket: string,
  key: string,
  versionId: string,
): VersionEntry[] {
  const row = src.index.getObject(bucket, key);
  let seq: number;
  if (row !== undefined && (currentVersionOf(row)?.id ?? 'null') === versionId) {
    seq = currentVersionOf(row)?.seq ?? Number.MAX_SAFE_INTEGER;
  } else {
    const rec = src.versions.byId(bucket, key, versionId);
    if (rec !== undefined) seq = rec.seq;
    // A version deleted since the last page: its id still tells where it was (version-format.ts).
    else if (versionId !== 'null') seq = parseInt(versionId.slice(0, 11), 36);
    else return []; // the null version is gone: nothing to resume within the key
  }
  return src.versions.olderThan(bucket, key, seq).map((r) => entryOf(r, false));
}

/** Every version from `from`, in (key, newest first) order: the two index scans merged. */
function* scanVersions(
  src: VersionListingSource,
  bucket: string,
  from: SeekBound,
  before: string | undefined,
  limit: number,
): Generator<VersionEntry> {
  const currents = src.index.seekObjects(bucket, from, before, limit)[Symbol.iterator]();
  const others = src.versions.seek(bucket, from, before, limit);
  try {
    let c = currents.next();
    let o = others.next();
    let lastKey: string | undefined;
    while (!c.done || !o.done) {
      let entry: VersionEntry;
      if (!c.done && (o.done || compareUtf8(c.value.key, o.value.key) <= 0)) {
        const info = src.infoOfRow(c.value);
        entry = { ...info, versionId: info.versionId ?? 'null', isLatest: true, deleteMarker: false };
        c = currents.next();
      } else {
        const rec = (o as IteratorYieldResult<VersionRecord>).value;
        entry = entryOf(rec, rec.key !== lastKey);
        o = others.next();
      }
      lastKey = entry.key;
      yield entry;
    }
  } finally {
    // A consumer that stops early must release both statements (better-sqlite3 refuses to reuse
    // a statement whose iteration is still open).
    currents.return?.();
    others.return(undefined);
  }
}
