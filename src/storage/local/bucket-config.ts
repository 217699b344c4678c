/**
 * Per-bucket versioning and object lock settings of the local backend, persisted as one small JSON
 * file per bucket, `<data>/.s3local/buckets/<bucket>.json` (written atomically: temp, fsync, rename,
 * fsync), so they survive restarts and `cache rebuild` without the index. Absent file: a bucket
 * never versioned, without object lock. Kept in memory once read.
 */
import { mkdir, open, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { BucketVersioningConfig } from '../backend.js';
import { DIR_MODE, errnoOf, FILE_MODE, fsyncDir, unlinkQuiet } from './fs-ops.js';

/** Name of the settings directory inside `.s3local/`. */
export const BUCKETS_DIR = 'buckets';

const UNVERSIONED: BucketVersioningConfig = Object.freeze({ objectLock: false });

/** The settings of every bucket of one store. */
export class BucketConfigs {
  readonly #dir: string;
  readonly #configs = new Map<string, BucketVersioningConfig>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** Loads every settings file of `<metaDir>/buckets/`. */
  static async load(metaDir: string): Promise<BucketConfigs> {
    const dir = join(metaDir, BUCKETS_DIR);
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    const configs = new BucketConfigs(dir);
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) {
        if (name.endsWith('.tmp')) await unlinkQuiet(join(dir, name));
        continue;
      }
      try {
        const parsed = JSON.parse(await readFile(join(dir, name), 'utf8')) as BucketVersioningConfig;
        configs.#configs.set(name.slice(0, -'.json'.length), parsed);
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw new Error(`unreadable bucket settings ${name}`, { cause: err });
      }
    }
    return configs;
  }

  /** The bucket's settings (never versioned, no lock, when none were stored). */
  get(bucket: string): BucketVersioningConfig {
    return this.#configs.get(bucket) ?? UNVERSIONED;
  }

  /** True once versioning was enabled on the bucket (Enabled or Suspended). */
  isVersioned(bucket: string): boolean {
    return this.get(bucket).status !== undefined;
  }

  /** Stores the bucket's settings durably, then in memory. */
  async set(bucket: string, config: BucketVersioningConfig): Promise<void> {
    const path = join(this.#dir, `${bucket}.json`);
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w', FILE_MODE);
    try {
      await fh.writeFile(JSON.stringify(config));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await fsyncDir(this.#dir);
    this.#configs.set(bucket, config);
  }

  /** Forgets the bucket's settings (the bucket was deleted). */
  async remove(bucket: string): Promise<void> {
    this.#configs.delete(bucket);
    await unlinkQuiet(join(this.#dir, `${bucket}.json`));
  }
}
