/**
 * CopyObject of an object onto itself naming its null version (`x-amz-copy-source:
 * /bucket/key?versionId=null`) in a bucket whose versioning is suspended: the key was never
 * versioned, so the copy only rewrites its row (copyInPlace) — and both the source version it
 * reports (x-amz-copy-source-version-id) and the new version are `null`, as for any other write
 * of the null version there. Found by test/crash/versioning-crash.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { ObjectInfo } from '../../../src/storage/backend.js';
import { LocalBackend } from '../../../src/storage/local/local-backend.js';
import { bodyFrom } from '../../helpers/body.js';

let root: string;
let backend: LocalBackend;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 's3local-copynull-'));
  backend = await LocalBackend.open({ path: root });
  await backend.createBucket('bkt');
});

afterEach(async () => {
  await backend.close();
  await rm(root, { recursive: true, force: true });
});

test('a self-copy of the null version in a suspended bucket reports version null', async () => {
  await backend.putObject('bkt', 'k', bodyFrom('before versioning'), { headers: {}, metadata: {} });
  await backend.versioning.setBucketVersioning('bkt', 'Enabled');
  await backend.versioning.setBucketVersioning('bkt', 'Suspended');
  let source: ObjectInfo | undefined;
  const info = await backend.copyObject(
    { bucket: 'bkt', key: 'k', versionId: 'null' },
    { bucket: 'bkt', key: 'k' },
    { sourcePrecondition: (i) => void (source = i) },
  );
  assert.equal(source?.versionId, 'null', 'the copied source version');
  assert.equal(info.versionId, 'null', 'the new version');
  const head = await backend.headObject('bkt', 'k', { versionId: 'null' });
  assert.equal(head.etag, info.etag);
});

test('a self-copy in a bucket never versioned reports no version id', async () => {
  await backend.putObject('bkt', 'k', bodyFrom('plain'), { headers: {}, metadata: {} });
  let source: ObjectInfo | undefined;
  const info = await backend.copyObject(
    { bucket: 'bkt', key: 'k' },
    { bucket: 'bkt', key: 'k' },
    { sourcePrecondition: (i) => void (source = i), replace: { headers: {}, metadata: { a: 'b' } } },
  );
  assert.equal(source?.versionId, undefined);
  assert.equal(info.versionId, undefined);
});
