/**
 * What the `cache stats|cleanup|migrate` commands need from a Drime backend: walking every file
 * under the S3 root, dropping index records of entries that are gone or were replaced, and filling
 * MD5 ETags for files written outside s3local by downloading them once.
 */
import { createHash } from 'node:crypto';
import type { DrimeClient } from './client.js';
import { openDownload } from './download.js';
import type { FolderIds, FolderTree } from './folders.js';
import { groupChildren } from './listing.js';
import type { DrimeIndex } from './object-index.js';
import { recordValid } from './objects.js';
import type { DrimeEntry } from './types.js';

export interface MaintenanceContext {
  client: DrimeClient;
  tree: FolderTree;
  index: DrimeIndex;
  ws: number;
}

/** Every file (newest per key) below `ids`, depth first, with its key relative to them. */
export async function* walkFiles(
  ctx: MaintenanceContext,
  ids: FolderIds,
  path = '',
  signal?: AbortSignal,
): AsyncGenerator<{ key: string; entry: DrimeEntry }> {
  for (const item of groupChildren(path, await ctx.tree.children(ids, signal))) {
    if (item.file) yield { key: item.key, entry: item.file };
    else if (item.folder) yield* walkFiles(ctx, item.folder.ids, item.key, signal);
  }
}

/** Removes index records whose entry no longer exists below `ids` or was replaced. */
export async function cleanupIndex(
  ctx: MaintenanceContext,
  ids: FolderIds,
): Promise<{ kept: number; removed: number }> {
  const live = new Map<number, DrimeEntry>();
  // Duplicates older than the newest are not walked, and their records are dropped too.
  for await (const { entry } of walkFiles(ctx, ids)) live.set(entry.id, entry);
  const stale: number[] = [];
  let kept = 0;
  for (const id of ctx.index.entryIds(ctx.ws)) {
    const e = live.get(id);
    if (e && recordValid(e, ctx.index.get(ctx.ws, id))) kept++;
    else stale.push(id);
  }
  ctx.index.delete(ctx.ws, stale);
  return { kept, removed: stale.length };
}

export interface MigrateProgress {
  key: string;
  size: number;
  /** Files looked at so far / files that lacked an MD5 so far. */
  scanned: number;
  missing: number;
}

export interface MigrateResult {
  scanned: number;
  missing: number;
  filled: number;
  bytes: number;
}

/**
 * Downloads every file under `ids` that has no valid MD5 record and records its MD5 (content
 * type from the entry's MIME type, no user metadata). With `dryRun` only counts them.
 */
export async function migrateMd5(
  ctx: MaintenanceContext,
  ids: FolderIds,
  opts: { dryRun?: boolean; signal?: AbortSignal; onProgress?: (p: MigrateProgress) => void } = {},
): Promise<MigrateResult> {
  const r: MigrateResult = { scanned: 0, missing: 0, filled: 0, bytes: 0 };
  for await (const { key, entry } of walkFiles(ctx, ids, '', opts.signal)) {
    r.scanned++;
    if (recordValid(entry, ctx.index.get(ctx.ws, entry.id))) continue;
    r.missing++;
    opts.onProgress?.({ key, size: entry.fileSize, scanned: r.scanned, missing: r.missing });
    if (opts.dryRun) continue;
    const md5 = createHash('md5');
    if (entry.fileSize > 0) {
      const body = await openDownload(
        ctx.client,
        { hash: entry.hash, size: entry.fileSize, name: entry.name, fileName: entry.fileName },
        undefined,
        opts.signal,
      );
      for await (const chunk of body) md5.update(chunk as Buffer);
    }
    ctx.index.put(ctx.ws, {
      entryId: entry.id,
      fileName: entry.fileName,
      size: entry.fileSize,
      etag: md5.digest('hex'),
      headers: entry.mime ? { contentType: entry.mime } : {},
      metadata: {},
      checksums: {},
      storedAt: Date.now(),
    });
    r.filled++;
    r.bytes += entry.fileSize;
  }
  return r;
}
