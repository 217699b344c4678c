/**
 * Atomic, private file writes: temp file in the same directory (created exclusively, mode 0600),
 * write, fsync, rename over the target, fsync the directory. A crash leaves either the old file or
 * the new one, never a torn mix; readers never see a partial file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, realpath, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export interface AtomicWriteOptions {
  /** Mode of the written file (default 0o600). */
  mode?: number;
  /** Mode of directories created on the way (default 0o700). Existing directories are left alone. */
  dirMode?: number;
}

/** The path to replace: a symlinked file (dotfile managers) keeps its link and is written through. */
async function replaceTarget(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(file);
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

/** Writes `data` to `file` atomically with a private mode. */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const target = await replaceTarget(file);
  const dir = dirname(target);
  await mkdir(dir, { recursive: true, mode: options.dirMode ?? 0o700 });
  const tmp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' = O_CREAT|O_EXCL: never follows or reuses an existing name.
  const fh = await open(tmp, 'wx', mode);
  let renamed = false;
  try {
    try {
      await fh.chmod(mode); // the open() mode is filtered by the umask
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    renamed = true;
    await syncDir(dir);
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}
