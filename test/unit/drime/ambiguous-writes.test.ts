/**
 * Writes whose answer was lost (Drime acted, then the connection broke or a 5xx came back) while
 * other writes of ours delete entries in the same folder. s3local looks for what the lost request
 * made by listing the folder; a listing of several pages that overlapped one of our deletions can
 * miss an entry (removal-gate.ts), and what it misses stays on Drime as clutter nobody deletes:
 * a `<name> - Copy` left by a server-side copy (CI once listed `y/z/k4.txt - Copy` after the
 * delete-consistency stress test), or a second entry of a key after an upload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DrimeBackend } from '../../../src/storage/drime/backend.js';
import { bodyFrom, readAll } from '../../helpers/body.js';
import type { FakeDrime } from '../../fakes/drime/server.js';
import { openBackend, requestSeen, withRig, type Rig } from './helpers.js';

const T = { timeout: 60_000 };

/**
 * Long listing TTL: lookups are served by the cached listing, so the only listing of the folder
 * that reaches Drime during the write is the one looking for the lost request's entry.
 */
const open = (rig: Rig) =>
  openBackend(rig, {
    listingCacheTtlMs: 60_000,
    retireDelayMs: 60_000,
    client: { perPage: 2, retry: { attempts: 6, baseDelayMs: 1, maxDelayMs: 20 } },
  });

/** Names of the live files in folder `d` of the fake. */
function filesOf(fake: FakeDrime, dir: number): string[] {
  return fake.state
    .children(dir, 0)
    .filter((e) => e.type !== 'folder')
    .map((e) => e.name)
    .sort();
}

/**
 * Folder d holds a0, a1, a2, k and z (.txt), listed by name two per page. The write of k (run by
 * `write`) gets an answer lost after Drime acted (`lost` matches that request); its entry is named
 * `entry` (between k.txt and z.txt, so on page 3). The third page of the listing that looks for it
 * is held until d/a0.txt is deleted: Drime then answers page 3 without the first entry that was on
 * it, which slid onto page 2, already read.
 */
async function lostAnswerWhileDeleting(
  paginator: 'lengthAware' | 'simple',
  lost: RegExp,
  write: (b: DrimeBackend) => Promise<unknown>,
): Promise<{ files: string[]; body: string }> {
  let out!: { files: string[]; body: string };
  await withRig(
    async (rig) => {
      const b = await open(rig);
      for (const n of ['a0', 'a1', 'a2', 'k', 'z']) {
        await b.putObject('default', `d/${n}.txt`, bodyFrom(`${n} v0`), { headers: {}, metadata: {} });
      }
      const dir = rig.fake.state.children(null, 0).find((e) => e.name === 'd')!.id;
      let held!: () => void;
      const until = new Promise<void>((resolve) => (held = resolve));
      rig.fake.faults.add({ match: lost, kind: 'status', status: 500, phase: 'after' });
      rig.fake.faults.add({
        match: /^GET \/api\/v1\/drive\/file-entries$/,
        query: new RegExp(`parentIds=${dir}(&|$)`),
        kind: 'slow',
        until,
        skip: 2, // pages 1 and 2 of the listing
      });
      const mark = rig.fake.requests.length;
      const writing = write(b);
      await requestSeen(
        rig.fake,
        new RegExp(`file-entries\\?.*parentIds=${dir}.*page=3|page=3.*parentIds=${dir}`),
        mark,
      );
      await b.deleteObject('default', 'd/a0.txt');
      held();
      await writing;
      await b.close(); // runs the retirer: superseded entries are deleted
      const again = await open(rig);
      out = {
        files: filesOf(rig.fake, dir),
        body: (await readAll((await again.getObject('default', 'd/k.txt')).body)).toString(),
      };
      await again.close();
    },
    { paginator, sameName: 'duplicate' },
  );
  return out;
}

for (const paginator of ['lengthAware', 'simple'] as const) {
  test(
    `a self-copy whose duplicate answer was lost leaves no "- Copy" entry (${paginator} pages)`,
    T,
    async () => {
      const got = await lostAnswerWhileDeleting(paginator, /^POST \/api\/v1\/file-entries\/duplicate$/, (b) =>
        b.copyObject(
          { bucket: 'default', key: 'd/k.txt' },
          { bucket: 'default', key: 'd/k.txt' },
          { replace: { headers: {}, metadata: { m: '1' } } },
        ),
      );
      assert.deepEqual(got.files, ['a1.txt', 'a2.txt', 'k.txt', 'z.txt']);
      assert.equal(got.body, 'k v0');
    },
  );

  test(`an upload whose answer was lost is not uploaded twice (${paginator} pages)`, T, async () => {
    const got = await lostAnswerWhileDeleting(paginator, /^POST \/api\/v1\/uploads$/, (b) =>
      b.putObject('default', 'd/k.txt', bodyFrom('k v1'), { headers: {}, metadata: {} }),
    );
    assert.deepEqual(got.files, ['a1.txt', 'a2.txt', 'k.txt', 'z.txt']);
    assert.equal(got.body, 'k v1');
  });
}
