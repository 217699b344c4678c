/**
 * Object tagging on the local backend (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html):
 * PutObjectTagging and DeleteObjectTagging (an empty set). GetObjectTagging reads the tags through
 * `headObject` (ObjectInfo.tags).
 *
 * Tags are stored with the version as its metadata is: the current version's in `objects.tags`, a
 * version record's in its `tags` field (the record on disk is the truth for versions, so a change
 * to a versioned key rewrites the record, then the rows, as object lock changes do). An object of
 * a key without versions only has its row updated: buckets never versioned get no records.
 *
 * Object lock does not protect tags: it keeps a version from being deleted or overwritten
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html), and a tag change does
 * neither — it is a sub-resource of the version, like its ACL. MinIO behaves the same
 * (minio/minio#9794 keeps tags and lock independent).
 */
import { currentVersionOf, encodeTags, type ObjectIndex } from '../../index/object-index.js';
import type { VersionIndex } from '../../index/version-index.js';
import type { ObjectTag, TaggingStore, VersionSelector } from '../backend.js';
import type { KeyedMutex } from './keyed-mutex.js';
import type { VersionRecord } from './version-records.js';
import type { LocalVersioning } from './versioning.js';

/** What tagging needs of the local backend. */
export interface TaggingContext {
  index: ObjectIndex;
  versions: VersionIndex;
  versioning: LocalVersioning;
  locks: KeyedMutex;
  lockName(bucket: string, key: string): string;
  /** NoSuchBucket when absent. */
  requireBucket(bucket: string): void;
}

/** The TaggingStore of one local store. */
export class LocalTagging implements TaggingStore {
  readonly #ctx: TaggingContext;

  constructor(ctx: TaggingContext) {
    this.#ctx = ctx;
  }

  async putObjectTagging(
    bucket: string,
    key: string,
    version: VersionSelector,
    tags: ObjectTag[],
  ): Promise<{ versionId?: string }> {
    const ctx = this.#ctx;
    ctx.requireBucket(bucket);
    const encoded = encodeTags(tags);
    // A key that never had a versioned write: its row is the only copy of its metadata.
    const plain = await ctx.locks.run(ctx.lockName(bucket, key), () => {
      const row = ctx.index.getObject(bucket, key);
      if (row === undefined || currentVersionOf(row) !== undefined || ctx.versions.hasKey(bucket, key)) {
        return undefined;
      }
      if (version.versionId !== undefined && version.versionId !== 'null') return undefined;
      ctx.index.setTags(bucket, key, encoded);
      const versionId = ctx.versioning.infoOfRow(row).versionId;
      return versionId === undefined ? {} : { versionId };
    });
    if (plain !== undefined) return plain;
    // Anything else (a version, a delete marker, a missing key) is looked up as reads do, and the
    // version's record rewritten; errors are HeadObject's (NoSuchKey, NoSuchVersion, ...).
    const versionId = await ctx.versioning.updateVersion(bucket, key, version, () => (rec) => {
      const updated: VersionRecord = { ...rec };
      delete updated.tags;
      if (encoded !== null) updated.tags = encoded;
      return updated;
    });
    return { versionId };
  }
}
