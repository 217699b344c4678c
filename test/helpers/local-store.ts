/**
 * A LocalBackend over a fresh temp store, for backend-level unit tests (open it in beforeEach,
 * close it in afterEach), and text PUT/GET shorthands.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectInfo } from '../../src/storage/backend.js';
import { LocalBackend } from '../../src/storage/local/local-backend.js';
import { bodyFrom, readAll } from './body.js';

/** A temp directory holding one local store. */
export interface TempStore {
  /** The temp directory under os.tmpdir(); closeTempStore() removes it. */
  root: string;
  /** The store's data directory, `<root>/data`. */
  data: string;
  /** A LocalBackend open on `data`. */
  backend: LocalBackend;
}

/** Makes `<tmpdir>/<prefix>XXXXXX`, opens a LocalBackend on its `data` and creates `bucket`. */
export async function openTempStore(prefix: string, bucket = 'bkt'): Promise<TempStore> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const data = join(root, 'data');
  const backend = await LocalBackend.open({ path: data });
  await backend.createBucket(bucket);
  return { root, data, backend };
}

/** Closes `backend` (the one open now: a test may have reopened the store) and removes `root`. */
export async function closeTempStore(store: Pick<TempStore, 'root' | 'backend'>): Promise<void> {
  await store.backend.close();
  await rm(store.root, { recursive: true, force: true });
}

/** PUTs `content` as `text/x` with the given user metadata (default `{ m: '1' }`). */
export async function putText(
  backend: LocalBackend,
  bucket: string,
  key: string,
  content: string,
  metadata: Record<string, string> = { m: '1' },
): Promise<ObjectInfo> {
  return backend.putObject(bucket, key, bodyFrom(content), {
    headers: { contentType: 'text/x' },
    metadata,
  });
}

/** The whole body of `key` (its current version), as UTF-8 text. */
export async function getText(backend: LocalBackend, bucket: string, key: string): Promise<string> {
  return (await readAll((await backend.getObject(bucket, key)).body)).toString();
}
