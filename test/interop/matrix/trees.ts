/**
 * Local file trees for the compatibility matrix and the client interop tests: writing a tree or a
 * large random file, and the MD5s to compare a tree with what a client restored or a server lists.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** Writes `files` (relative path -> content) under `root`. */
export async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content);
  }
}

/** Writes `size` random bytes to `path` in 1 MiB chunks (never one huge buffer). */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const chunk = 1024 * 1024;
  const out = createWriteStream(path);
  for (let left = size; left > 0; left -= chunk) {
    if (!out.write(randomBytes(Math.min(chunk, left)))) {
      await new Promise<void>((r) => out.once('drain', () => r()));
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

/** MD5 hex of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const h = createHash('md5');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** MD5 hex of a buffer or string. */
export const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

/** Relative path (with `/`) -> MD5 of every regular file under `root`. */
export async function treeHashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string): Promise<void> {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(relative(root, p).split(sep).join('/'), await md5File(p));
    }
  }
  await walk(root);
  return out;
}

/** Sorted, so that a failing deepEqual shows a readable diff. */
export function sortedEntries<V>(m: Map<string, V>): [string, V][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
