/**
 * Reads naming a version id, racing a versioned write of the same key (local backend).
 *
 * A versioned write changes the files before it commits the rows: a PUT renames the new current
 * file into place while the `objects` row still names the version it replaces; deleting the
 * current version makes the next one current again and removes that one's `<seq>.data` while the
 * index still lists it as noncurrent. A GET/HEAD/copy source by version id must still answer
 * exactly the version named (S3: that version, or NoSuchVersion when it does not exist).
 *
 * The races are made deterministic by wrapping `fs.promises.rename` / `unlink` (the ESM bindings
 * the backend imports are refreshed with `syncBuiltinESMExports`): the reads start right after the
 * write's rename (or unlink) completed and before its rows commit.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { ObjectInfo } from '../../../src/storage/backend.js';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { versionDir } from '../../../src/storage/local/version-records.js';
import { bodyFrom, md5Hex, readAll } from '../../helpers/body.js';
import { closeTempStore, openTempStore } from '../../helpers/local-store.js';

const ONE = 'version one';
const TWO = 'version two, a longer one';

let root: string;
let data: string;
let backend: LocalBackend;

type PathFn = (...args: unknown[]) => Promise<unknown>;

/**
 * Runs `body` with `fs.promises[name]` wrapped: `after(paths)` is called (synchronously) each
 * time the real call succeeded, before the caller's code resumes.
 */
async function withFsHook<T>(
  name: 'rename' | 'unlink',
  after: (paths: string[]) => void,
  body: () => Promise<T>,
): Promise<T> {
  const target = fsp as unknown as Record<string, PathFn>;
  const real = target[name]!;
  target[name] = async (...args: unknown[]) => {
    const result = await real(...args);
    after(args.map((a) => String(a)));
    return result;
  };
  syncBuiltinESMExports();
  try {
    return await body();
  } finally {
    target[name] = real;
    syncBuiltinESMExports();
  }
}

async function put(key: string, content: string): Promise<ObjectInfo> {
  return backend.putObject('bkt', key, bodyFrom(content), {
    headers: { contentType: 'text/x' },
    metadata: {},
  });
}

async function getText(key: string, versionId?: string): Promise<{ info: ObjectInfo; text: string }> {
  const opts = versionId === undefined ? {} : { versionId };
  const { info, body } = await backend.getObject('bkt', key, opts);
  return { info, text: (await readAll(body)).toString() };
}

function fulfilled<T>(result: PromiseSettledResult<T> | undefined, what: string): T {
  assert.ok(result !== undefined, `${what}: never started`);
  if (result.status === 'rejected') assert.fail(`${what} failed: ${String(result.reason)}`);
  return result.value;
}

describe('local backend: reads by version id racing a write of the key', () => {
  beforeEach(async () => {
    ({ root, data, backend } = await openTempStore('s3local-vrace-'));
    await backend.versioning.setBucketVersioning('bkt', 'Enabled');
  });

  afterEach(() => closeTempStore({ root, backend }));

  test('GET, HEAD and a copy of the version a PUT is replacing answer that version', async () => {
    const v1 = await put('k', ONE);
    const id = v1.versionId!;
    const plain = join(data, 'bkt', 'k');
    let raced: Promise<PromiseSettledResult<unknown>[]> | undefined;
    const v2 = await withFsHook(
      'rename',
      ([, to]) => {
        if (to !== plain || raced !== undefined) return;
        // The new file is at the key's path; the PUT has not committed its rows yet.
        raced = Promise.allSettled([
          getText('k', id),
          backend.headObject('bkt', 'k', { versionId: id }),
          backend.copyObject(
            { bucket: 'bkt', key: 'k', versionId: id },
            { bucket: 'bkt', key: 'k-copy' },
            {},
          ),
        ]);
      },
      () => put('k', TWO),
    );
    assert.ok(raced !== undefined, 'the PUT never renamed its file to the key path');
    assert.notEqual(v2.versionId, id);
    const [got, head, copy] = await raced;

    const read = fulfilled(got, 'GET by version id') as { info: ObjectInfo; text: string };
    assert.equal(read.text, ONE);
    assert.equal(read.info.versionId, id);
    assert.equal(read.info.etag, md5Hex(ONE));
    assert.equal(read.info.size, ONE.length);

    const info = fulfilled(head, 'HEAD by version id') as ObjectInfo;
    assert.equal(info.versionId, id);
    assert.equal(info.etag, md5Hex(ONE));
    assert.equal(info.size, ONE.length);

    const copied = fulfilled(copy, 'copy by version id') as ObjectInfo;
    assert.equal(copied.etag, md5Hex(ONE));
    assert.equal((await getText('k-copy')).text, ONE);

    // After the race: v2 is current, v1 still reads back by id.
    assert.equal((await getText('k')).text, TWO);
    assert.equal((await getText('k', id)).text, ONE);
  });

  test('GET and HEAD of a version made current again by deleting the newer one answer it', async () => {
    const v1 = await put('k', ONE);
    const v2 = await put('k', TWO);
    const id = v1.versionId!;
    const dir = versionDir(join(data, '.s3local'), 'bkt', 'k');
    let raced: Promise<PromiseSettledResult<unknown>[]> | undefined;
    await withFsHook(
      'unlink',
      ([path]) => {
        if (raced !== undefined || !path!.startsWith(dir) || !path!.endsWith('.data')) return;
        // v1's bytes are back at the key's path and its `.data` gone; the rows still call it noncurrent.
        raced = Promise.allSettled([getText('k', id), backend.headObject('bkt', 'k', { versionId: id })]);
      },
      () => backend.deleteObject('bkt', 'k', { versionId: v2.versionId! }),
    );
    assert.ok(raced !== undefined, 'the DELETE never removed a .data file');
    const [got, head] = await raced;

    const read = fulfilled(got, 'GET by version id') as { info: ObjectInfo; text: string };
    assert.equal(read.text, ONE);
    assert.equal(read.info.versionId, id);
    assert.equal(read.info.etag, md5Hex(ONE));

    const info = fulfilled(head, 'HEAD by version id') as ObjectInfo;
    assert.equal(info.versionId, id);
    assert.equal(info.size, ONE.length);

    assert.equal((await getText('k')).text, ONE);
  });

  test('GET by the id of a version being deleted answers NoSuchVersion, not NoSuchKey', async () => {
    const v1 = await put('k', ONE);
    const id = v1.versionId!;
    const plain = join(data, 'bkt', 'k');
    let raced: Promise<PromiseSettledResult<unknown>[]> | undefined;
    await withFsHook(
      'unlink',
      ([path]) => {
        if (raced !== undefined || path !== plain) return;
        // The only version's file is gone; its row is not dropped yet.
        raced = Promise.allSettled([getText('k', id), backend.headObject('bkt', 'k', { versionId: id })]);
      },
      () => backend.deleteObject('bkt', 'k', { versionId: id }),
    );
    assert.ok(raced !== undefined, 'the DELETE never removed the plain file');
    for (const result of await raced) {
      assert.equal(result.status, 'rejected');
      assert.equal((result.reason as { code?: string }).code, 'NoSuchVersion');
    }
  });
});
