/**
 * `cache rebuild` (rebuildIndex) and a version directory that holds no record: the leftover of a
 * key's first versioned write killed while its record was being written (`<seq>.json.tmp`, before
 * the rename), found by the rebuild's walk when the write journal that would have settled the key
 * is gone (the index was deleted). The temp file goes, then the empty directory; a directory with
 * anything else in it is kept. Found by test/crash/versioning-crash.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { versionDir } from '../../../src/storage/local/version-records.js';
import { bodyFrom } from '../../helpers/body.js';

let root: string;
let backend: LocalBackend;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 's3local-vorphan-'));
  backend = await LocalBackend.open({ path: root });
  await backend.createBucket('bkt');
  await backend.versioning.setBucketVersioning('bkt', 'Enabled');
});

afterEach(async () => {
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

const meta = () => join(root, '.s3local');

test('a version directory holding only the temp file of a cut record write is removed by the rebuild', async () => {
  const info = await backend.putObject('bkt', 'kept', bodyFrom('a version'), { headers: {}, metadata: {} });
  const orphan = versionDir(meta(), 'bkt', 'cut');
  await mkdir(orphan, { recursive: true });
  await writeFile(join(orphan, '1795311510613000.json.tmp'), '{"key":"cut","versi');

  const result = await backend.rebuildIndex();
  await assert.rejects(readdir(orphan), { code: 'ENOENT' }, 'the orphan directory is gone');
  assert.equal(result.versionedKeys, 1, 'only the key with records was settled');
  const page = await backend.versioning.listObjectVersions('bkt', {
    prefix: '',
    delimiter: '',
    keyMarker: '',
    maxKeys: 1000,
  });
  assert.deepEqual(
    page.versions.map((v) => [v.key, v.versionId]),
    [['kept', info.versionId]],
  );
  assert.deepEqual(await readdir(versionDir(meta(), 'bkt', 'kept')), [`${parseSeq(info.versionId!)}.json`]);
});

test('a record-less version directory with other files in it is left alone', async () => {
  const orphan = versionDir(meta(), 'bkt', 'odd');
  await mkdir(orphan, { recursive: true });
  await writeFile(join(orphan, '1795311510613000.json.tmp'), '');
  await writeFile(join(orphan, 'notes.txt'), 'not s3local');
  await backend.rebuildIndex();
  assert.deepEqual(await readdir(orphan), ['notes.txt']);
});

/** The seq of a version id: its first 11 characters in base 36. */
function parseSeq(versionId: string): number {
  return parseInt(versionId.slice(0, 11), 36);
}
