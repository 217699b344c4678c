/**
 * Spooling request bodies to private temp files before they go to Drime: the upload starts only
 * after the body ended cleanly (all digests verified), can be retried from the file, and never
 * sits whole in memory. Each spool lives in its own mkdtemp directory (mode 0700) under the
 * backend's spool dir, so names never collide and nothing follows a planted symlink.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface Spooled {
  path: string;
  size: number;
  /** Hex MD5 of the bytes (computed while spooling). */
  md5: string;
  /** Removes the spool directory. */
  remove(): Promise<void>;
}

/** Creates the spool root (mode 0700). */
export async function prepareSpoolDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700).catch(() => undefined);
}

/** Writes `stream` to a fresh private file; on any error nothing is left behind. */
export async function spool(dir: string, stream: Readable, signal?: AbortSignal): Promise<Spooled> {
  const tmp = await mkdtemp(join(dir, 'spool-'));
  const remove = (): Promise<void> => rm(tmp, { recursive: true, force: true });
  const path = join(tmp, 'data');
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      md5.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(
      stream,
      count,
      createWriteStream(path, { flags: 'wx', mode: 0o600 }),
      signal ? { signal } : {},
    );
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, size, md5: md5.digest('hex'), remove };
}
