/**
 * CopyObject on the local backend (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html):
 * the source's bytes copied server-side — a hard-link snapshot taken under the source key's lock,
 * then a copy-on-write copy — and committed to the destination like a PUT.
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, link } from 'node:fs/promises';
import type { ChecksumAlgorithm, Checksums } from '../../s3/body.js';
import { S3Error } from '../../s3/errors.js';
import { encodeTags, type ObjectRow } from '../../index/object-index.js';
import type { CopyOptions, ObjectInfo, VersionSelector } from '../backend.js';
import {
  errnoOf,
  FILE_MODE,
  hashFile,
  mapStorageError,
  syncFile,
  unlinkQuiet,
  type WrittenFile,
} from './fs-ops.js';
import { keyToPath } from './key-path.js';
import { findVersion, locate, MISSING, type FoundVersion, type ReadContext } from './object-read.js';
import { dataPath } from './version-records.js';

/** The object's fields other than its place and bucket/key: what a commit writes besides the file. */
export type RowContent = Omit<ObjectRow, 'bucket' | 'key' | 'path' | 'mtimeNs' | 'size'>;

/** What CopyObject needs of the local backend: the read side, temp files and the PUT commit. */
export interface CopyContext extends ReadContext {
  /** A fresh temp file path in `.s3local/tmp/`. */
  tempPath(): string;
  /**
   * Places the fsynced temp file `tmp` as `key` and commits its row, as a PUT does (precondition,
   * object lock and versioning included).
   */
  commit(
    bucket: string,
    key: string,
    natural: string,
    tmp: string,
    written: WrittenFile,
    content: RowContent,
    opts: CopyOptions,
  ): Promise<ObjectInfo>;
}

/** A copy source, resolved under its key's lock. */
interface Source {
  content: Omit<RowContent, 'lastModified'>;
  info: ObjectInfo;
  /** Its bytes: the plain file, or a noncurrent version's `<seq>.data`. */
  abs: string;
  /** The error when the file is missing. */
  gone: () => S3Error;
}

/**
 * Copies the bytes server-side, then commits like a PUT. The copy keeps the source's ETag and
 * checksums (same bytes) — or, with `checksumAlgorithm`, gets that checksum of its bytes instead;
 * a multipart source becomes a single-part copy with an MD5 ETag. Copying
 * an object onto itself rewrites only its row (new LastModified; headers and metadata from
 * `replace`, else unchanged) — rejecting a self-copy without REPLACE (InvalidRequest) is the S3
 * layer's job. A source named by version id is exactly that version, even when a write makes it
 * noncurrent meanwhile. The buckets were checked by the caller.
 */
export async function copyObject(
  ctx: CopyContext,
  src: { bucket: string; key: string } & VersionSelector,
  dst: { bucket: string; key: string },
  opts: CopyOptions,
): Promise<ObjectInfo> {
  const natural = keyToPath(dst.key);
  opts.signal?.throwIfAborted();
  // A noncurrent source version (record) or the current one.
  const version = asCopySource(() => findVersion(ctx, src.bucket, src.key, src))?.record;
  if (version === undefined) {
    // Fails early with NoSuchKey, and reconciles a source changed behind the server's back. A
    // version named by id may have stopped being current meanwhile: copyBytes looks it up again.
    await locate(ctx, src.bucket, src.key, false).catch((err: unknown) => {
      if (src.versionId === undefined || !(err instanceof S3Error && err.code === 'NoSuchKey')) throw err;
    });
  }

  const same = src.bucket === dst.bucket && src.key === dst.key && version === undefined;
  // A new checksum algorithm needs the bytes read: a self-copy then takes the copy path below.
  if (
    same &&
    opts.checksumAlgorithm === undefined &&
    !ctx.versioning.putIsVersioned(dst.bucket, dst.key, ctx.index.getObject(dst.bucket, dst.key))
  ) {
    return copyInPlace(ctx, dst.bucket, dst.key, opts);
  }

  const tmp = ctx.tempPath();
  try {
    const snapshot = await copyBytes(ctx, src, tmp, opts);
    opts.signal?.throwIfAborted();
    let written = await syncFile(tmp);
    let etag = snapshot.etag;
    let checksums = snapshot.checksums;
    let checksumType = snapshot.checksumType;
    let parts = snapshot.parts;
    const algorithm = newChecksumAlgorithm(snapshot, opts);
    let computed: string | undefined;
    if (snapshot.parts !== null || algorithm !== undefined) {
      // One read of the copy for both: a multipart source's copy is a single-part object whose
      // ETag is the MD5 of its bytes; x-amz-checksum-algorithm asks for a checksum of the bytes.
      const hashed = await hashFile(tmp, algorithm);
      written = await syncFile(tmp);
      computed = hashed.checksum;
      if (snapshot.parts !== null) {
        etag = hashed.md5;
        parts = null;
        // A composite (per-part) checksum no longer describes the copy.
        if (checksumType === 'COMPOSITE') {
          checksums = '{}';
          checksumType = null;
        }
      }
    }
    if (opts.checksumAlgorithm !== undefined) {
      // Only the checksum asked for: computed, or the source's FULL_OBJECT value of it (same bytes).
      const value = computed ?? parseChecksums(snapshot.checksums)[opts.checksumAlgorithm];
      checksums = JSON.stringify({ [opts.checksumAlgorithm]: value });
      checksumType = 'FULL_OBJECT';
    }
    const replace = opts.replace;
    const content: RowContent = {
      etag,
      lastModified: 0,
      headers: replace ? JSON.stringify(replace.headers) : snapshot.headers,
      metadata: replace ? JSON.stringify(replace.metadata) : snapshot.metadata,
      // x-amz-tagging-directive: REPLACE gives opts.tags; COPY keeps the source version's.
      tags: opts.tags !== undefined ? encodeTags(opts.tags) : snapshot.tags,
      checksums,
      checksumType,
      parts,
    };
    return await ctx.commit(dst.bucket, dst.key, natural, tmp, written, content, opts);
  } catch (err) {
    await unlinkQuiet(tmp);
    throw mapStorageError(err);
  }
}

/** A stored checksums column (JSON); empty when unreadable. */
function parseChecksums(json: string): Checksums {
  try {
    return (JSON.parse(json) ?? {}) as Checksums;
  } catch {
    return {};
  }
}

/**
 * The algorithm whose checksum the copy needs computed from its bytes: `x-amz-checksum-algorithm`
 * unless the source already holds a FULL_OBJECT value of it (verified when it was written).
 */
function newChecksumAlgorithm(source: Source['content'], opts: CopyOptions): ChecksumAlgorithm | undefined {
  const algorithm = opts.checksumAlgorithm;
  if (algorithm === undefined) return undefined;
  const held = source.checksumType !== 'COMPOSITE' && parseChecksums(source.checksums)[algorithm];
  return held ? undefined : algorithm;
}

/**
 * Copies the source's bytes to `tmp` and returns the row or version record they belong to. The
 * source is looked up and its file hard-linked under the source key's lock (objects and version
 * data are never modified in place, so the link is a stable snapshot of exactly the bytes the row
 * or record describes), then copied with copy-on-write when the file system supports it. Without
 * hard links, the copy runs under the lock.
 */
async function copyBytes(
  ctx: CopyContext,
  src: { bucket: string; key: string } & VersionSelector,
  tmp: string,
  opts: CopyOptions,
): Promise<Source['content']> {
  const snap = `${tmp}.src`;
  let linked = false;
  try {
    const content = await ctx.locks.run(ctx.lockName(src.bucket, src.key), async () => {
      const source = resolveSource(ctx, src);
      opts.sourcePrecondition?.(source.info);
      try {
        await link(source.abs, snap);
        linked = true;
      } catch (err) {
        if (MISSING.has(errnoOf(err) ?? '')) throw source.gone();
        await copyFile(source.abs, tmp, fsConstants.COPYFILE_FICLONE);
      }
      return source.content;
    });
    if (linked) await copyFile(snap, tmp, fsConstants.COPYFILE_FICLONE);
    await chmod(tmp, FILE_MODE); // copyFile gives the copy the source's mode
    return content;
  } finally {
    if (linked) await unlinkQuiet(snap);
  }
}

/**
 * The source as the index has it now (the caller holds its key's lock, so the rows and the files
 * agree): the version named by id, else the current object.
 */
function resolveSource(ctx: CopyContext, src: { bucket: string; key: string } & VersionSelector): Source {
  const noSuchKey = () => new S3Error('NoSuchKey', undefined, { Key: src.key });
  if (src.versionId !== undefined) {
    const found = asCopySource(() => ctx.versioning.findVersion(src.bucket, src.key, src));
    if (found.record !== undefined) {
      const { record } = found;
      return {
        content: record,
        info: found.info,
        abs: dataPath(ctx.versioning.versionDir(src.bucket, src.key), record.seq),
        gone: () => new S3Error('NoSuchVersion', undefined, { Key: src.key, VersionId: record.versionId }),
      };
    }
    if (found.row !== undefined) {
      return {
        content: found.row,
        info: found.info,
        abs: ctx.abs(src.bucket, found.row.path),
        gone: noSuchKey,
      };
    }
  }
  const current = ctx.index.getObject(src.bucket, src.key);
  if (current === undefined) throw noSuchKey();
  return {
    content: current,
    info: ctx.versioning.infoOfRow(current),
    abs: ctx.abs(src.bucket, current.path),
    gone: noSuchKey,
  };
}

/**
 * Runs a version lookup for a copy source: a delete marker cannot be one
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html), InvalidRequest.
 */
function asCopySource<T extends FoundVersion | undefined>(find: () => T): T {
  try {
    return find();
  } catch (err) {
    if (err instanceof S3Error && err.code === 'MethodNotAllowed') {
      throw new S3Error(
        'InvalidRequest',
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    }
    throw err;
  }
}

/** Self-copy: rewrites the row (metadata, LastModified) without touching the bytes. */
async function copyInPlace(
  ctx: CopyContext,
  bucket: string,
  key: string,
  opts: CopyOptions,
): Promise<ObjectInfo> {
  return ctx.locks.run(ctx.lockName(bucket, key), () => {
    const current = ctx.index.getObject(bucket, key);
    if (current === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
    // In a suspended bucket this is the null version (x-amz-copy-source-version-id: null).
    const info = ctx.versioning.infoOfRow(current);
    opts.sourcePrecondition?.(info);
    opts.precondition?.(info);
    const replace = opts.replace;
    const row: ObjectRow = {
      ...current,
      lastModified: Date.now(),
      headers: replace ? JSON.stringify(replace.headers) : current.headers,
      metadata: replace ? JSON.stringify(replace.metadata) : current.metadata,
      tags: opts.tags !== undefined ? encodeTags(opts.tags) : current.tags,
    };
    if (!ctx.index.putObject(row)) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
    return ctx.versioning.infoOfRow(row);
  });
}
