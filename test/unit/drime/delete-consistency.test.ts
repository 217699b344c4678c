/**
 * Read-your-deletes on the Drime backend (issue 7: after `rclone purge` one deleted key was still
 * listed). A DeleteObject that answered must leave no live entry of the key on Drime, and no later
 * listing, cached or fresh, may show it again, however deletes, overwrites and listings interleave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DrimeBackend } from '../../../src/storage/drime/backend.js';
import { bodyFrom, readAll } from '../../helpers/body.js';
import type { FakeDrime } from '../../fakes/drime/server.js';
import type { FakeEntry } from '../../fakes/drime/state.js';
import { openBackend, requestSeen, withRig } from './helpers.js';

const T = { timeout: 60_000 };

const open = openBackend;

const put = (b: DrimeBackend, key: string, data: string) =>
  b.putObject('default', key, bodyFrom(data), { headers: {}, metadata: {} });

/** Keys (newest entry per name) that are live on the fake, under the workspace root. */
const liveKeys = (fake: FakeDrime) => [...fake.state.files(0).keys()].sort();

/** Every live file entry of the fake whose path is `key` (duplicates included). */
function liveEntries(fake: FakeDrime, key: string): number[] {
  const dirs = key.split('/');
  const name = dirs.pop()!;
  let parent: number | null = null;
  for (const d of dirs) {
    const f: FakeEntry | undefined = fake.state
      .children(parent, 0)
      .find((e) => e.type === 'folder' && e.name === d);
    if (!f) return [];
    parent = f.id;
  }
  return fake.state
    .children(parent, 0)
    .filter((e) => e.type !== 'folder' && e.name === name)
    .map((e) => e.id);
}

async function listKeys(b: DrimeBackend, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let after = '';
  for (;;) {
    const page = await b.listObjects('default', { prefix, delimiter: '', after, maxKeys: 1000 });
    keys.push(...page.objects.map((o) => o.key));
    if (!page.isTruncated) return keys;
    after = page.nextAfter!;
  }
}

// ---- superseded entries in their grace period (the retirer) ----

for (const how of ['overwrite', 'self-copy with REPLACE'] as const) {
  test(`DeleteObject after an ${how} removes the superseded entry still in its grace period`, T, async () => {
    await withRig(async (rig) => {
      // Long grace and long listing TTL: the listing cached before the write stays in use.
      const b = await open(rig, { retireDelayMs: 60_000, listingCacheTtlMs: 60_000 });
      await put(b, 'd/k.txt', 'one');
      if (how === 'overwrite') await put(b, 'd/k.txt', 'two');
      else {
        await b.copyObject(
          { bucket: 'default', key: 'd/k.txt' },
          { bucket: 'default', key: 'd/k.txt' },
          { replace: { headers: {}, metadata: { mtime: '1' } } },
        );
      }
      assert.equal(
        liveEntries(rig.fake, 'd/k.txt').length,
        2,
        'the superseded entry waits for its grace period',
      );
      await b.deleteObject('default', 'd/k.txt');
      assert.deepEqual(
        liveEntries(rig.fake, 'd/k.txt'),
        [],
        'a DELETE that answered leaves nothing on Drime',
      );
      assert.deepEqual(await listKeys(b), []);
      // A fresh view of the same Drime folder (another server, or this one after its TTL).
      const other = await open(rig, { listingCacheTtlMs: 60_000 }, 'b');
      assert.deepEqual(await listKeys(other), [], 'no older version comes back');
      await other.close();
      await b.close();
    });
  });
}

test('the issue 7 timeline: write, overwrite, delete within the listing TTL, list after it', T, async () => {
  await withRig(async (rig) => {
    // rclone's sync self-copied many/d7/f7.txt seconds before `rclone purge many`; the listing
    // cached before the copy served the purge's DeleteObject and expired before the last listing.
    const ttl = 2000;
    const b = await open(rig, { retireDelayMs: 60_000, listingCacheTtlMs: ttl });
    await put(b, 'many/d7/f7.txt', 'one');
    await put(b, 'many/d7/f8.txt', 'other');
    const started = Date.now(); // the folder's listing was cached before this
    await put(b, 'many/d7/f7.txt', 'two');
    assert.deepEqual(await listKeys(b, 'many/'), ['many/d7/f7.txt', 'many/d7/f8.txt']);
    await b.deleteObject('default', 'many/d7/f7.txt');
    await b.deleteObject('default', 'many/d7/f8.txt');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < ttl, 'the deletes ran on the cached listing (slow machine?)');
    assert.deepEqual(await listKeys(b, 'many/'), []);
    await sleep(ttl - elapsed + 100); // the listing cache expires: the next listing asks Drime again
    assert.deepEqual(await listKeys(b, 'many/'), [], 'the deleted key stays deleted after the cache expires');
    await assert.rejects(b.headObject('default', 'many/d7/f7.txt'), { code: 'NoSuchKey' });
    assert.deepEqual(liveKeys(rig.fake), []);
    await b.close();
  });
});

test('after an overwrite, a listing fetched again shows only the newest bytes', T, async () => {
  await withRig(async (rig) => {
    const b = await open(rig, { retireDelayMs: 60_000, listingCacheTtlMs: 50 });
    await put(b, 'k.txt', 'one');
    await put(b, 'k.txt', 'two');
    await sleep(120);
    assert.deepEqual(await listKeys(b), ['k.txt']);
    assert.equal((await readAll((await b.getObject('default', 'k.txt')).body)).toString(), 'two');
    assert.equal((await b.headObject('default', 'k.txt')).size, 3);
    await b.close();
    assert.deepEqual(liveEntries(rig.fake, 'k.txt').length, 1, 'the superseded entry is deleted on close');
  });
});

// ---- listings of folders larger than a page while deletes run ----

/** A promise and the function that settles it. */
function gate(): { until: Promise<void>; open: () => void } {
  let open!: () => void;
  const until = new Promise<void>((resolve) => (open = resolve));
  return { until, open };
}

for (const paginator of ['lengthAware', 'simple'] as const) {
  test(
    `a delete between two pages of a lookup's listing does not hide another key (${paginator} pages)`,
    T,
    async () => {
      await withRig(
        async (rig) => {
          const b = await open(rig, {
            retireDelayMs: 0,
            listingCacheTtlMs: 0,
            client: { perPage: 2, retry: { attempts: 6, baseDelayMs: 1, maxDelayMs: 20 } },
          });
          for (let i = 0; i < 6; i++) await put(b, `d/f${i}.txt`, `f${i}`);
          const dir = rig.fake.state.children(null, 0).find((e) => e.name === 'd')!.id;
          // DeleteObject d/f2.txt lists d: page 1 is [f0, f1]; page 2 is held until d/f0.txt is
          // deleted, so Drime then answers [f3, f4] for it: f2 slid onto page 1, already read.
          const page2 = gate();
          rig.fake.faults.add({
            match: /^GET \/api\/v1\/drive\/file-entries$/,
            query: new RegExp(`parentIds=${dir}&.*page=2(&|$)|page=2&.*parentIds=${dir}(&|$)`),
            kind: 'slow',
            until: page2.until,
          });
          const mark = rig.fake.requests.length;
          const target = b.deleteObject('default', 'd/f2.txt');
          await requestSeen(rig.fake, /file-entries\?.*page=2/, mark);
          await b.deleteObject('default', 'd/f0.txt');
          page2.open();
          await target;
          assert.deepEqual(liveKeys(rig.fake), ['d/f1.txt', 'd/f3.txt', 'd/f4.txt', 'd/f5.txt']);
          assert.deepEqual(await listKeys(b), ['d/f1.txt', 'd/f3.txt', 'd/f4.txt', 'd/f5.txt']);
          await b.close();
        },
        { paginator },
      );
    },
  );
}

test('a listing read before a delete and answered after it does not bring the key back', T, async () => {
  await withRig(async (rig) => {
    const ttl = 1000;
    const b = await open(rig, { retireDelayMs: 0, listingCacheTtlMs: ttl });
    await put(b, 'd/a.txt', 'a');
    await put(b, 'd/b.txt', 'b');
    const cachedAt = Date.now();
    // The delete finds d/a.txt in the cached listing; Drime gets its request at once but acts on
    // it only when `del` opens.
    const del = gate();
    rig.fake.faults.add({ match: /^POST \/api\/v1\/file-entries\/delete$/, kind: 'slow', until: del.until });
    const deleting = b.deleteObject('default', 'd/a.txt');
    await requestSeen(rig.fake, /^POST .*file-entries\/delete/);
    assert.ok(Date.now() - cachedAt < ttl, 'the delete was served by the cached listing (slow machine?)');
    await sleep(ttl - (Date.now() - cachedAt) + 50);
    // The cache expired: a listing goes to Drime, which reads the folder (a.txt still there) and
    // answers only when `answer` opens — after the delete completed.
    const answer = gate();
    rig.fake.faults.add({
      match: /^GET \/api\/v1\/drive\/file-entries$/,
      kind: 'slow',
      phase: 'after',
      until: answer.until,
    });
    const mark = rig.fake.requests.length;
    const listing = listKeys(b, 'd/');
    await requestSeen(rig.fake, /^GET .*drive\/file-entries/, mark);
    del.open();
    await deleting;
    answer.open();
    assert.deepEqual(await listing, ['d/b.txt'], 'the delete that ended meanwhile is applied to the listing');
    assert.deepEqual(await listKeys(b, 'd/'), ['d/b.txt'], 'and to the cache it filled');
    assert.deepEqual(liveKeys(rig.fake), ['d/b.txt']);
    await b.close();
  });
});

test('concurrent deletes in a folder of several pages: every key is deleted (stress)', T, async () => {
  const left: Record<string, string[]> = {};
  for (const ttl of [0, 5, 60_000]) {
    await withRig(async (rig) => {
      const b = await open(rig, {
        retireDelayMs: 60_000,
        listingCacheTtlMs: ttl,
        client: { perPage: 5, concurrency: 4, retry: { attempts: 6, baseDelayMs: 1, maxDelayMs: 20 } },
      });
      const keys = Array.from({ length: 40 }, (_, i) => `big/f${String(i).padStart(2, '0')}.txt`);
      for (const k of keys) await put(b, k, k);
      // Jitter every API call a little so deletes land between the pages of listings.
      rig.fake.faults.setRandom({ seed: 7 + ttl, probability: 0.5, kinds: ['slow'] });
      let next = 0;
      const worker = async () => {
        while (next < keys.length) await b.deleteObject('default', keys[next++]!);
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      rig.fake.faults.clear();
      left[`TTL ${ttl} ms: on Drime`] = liveKeys(rig.fake);
      left[`TTL ${ttl} ms: listed`] = await listKeys(b);
      await b.close();
    });
  }
  assert.deepEqual(
    Object.entries(left).filter(([, v]) => v.length > 0),
    [],
    'every DELETE that answered left nothing behind',
  );
});

/** A small seeded PRNG (the workload is the same every run; only the timing varies). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

test(
  'overwrites, self-copies, deletes and listings at once: read-your-deletes holds (stress)',
  T,
  async () => {
    // Seed 2 on pages without totals: a listing there cannot notice that a deletion shifted it.
    for (const [seed, paginator] of [
      [1, 'lengthAware'],
      [2, 'simple'],
    ] as const) {
      await withRig(
        async (rig) => {
          const b = await open(rig, {
            retireDelayMs: 40,
            listingCacheTtlMs: 15,
            client: {
              perPage: 4,
              concurrency: 4,
              retry: { attempts: 10, baseDelayMs: 1, maxDelayMs: 10 },
              timeoutMs: 5000,
              transferTimeoutMs: 5000,
            },
          });
          const r = rng(seed);
          const keys: string[] = [];
          for (const dir of ['x', 'y', 'y/z']) for (let i = 0; i < 10; i++) keys.push(`${dir}/k${i}.txt`);
          for (const k of keys) await put(b, k, `${k} v0`);
          // Each key gets a script run in order: some overwrites and self-copies, then (mostly) a delete.
          const scripts = keys.map((key) => {
            const steps: Array<'put' | 'copy'> = [];
            for (let n = Math.floor(r() * 3); n > 0; n--) steps.push(r() < 0.5 ? 'put' : 'copy');
            return { key, steps, keep: r() < 0.2 };
          });
          const expected = new Map<string, string>();
          const deletedAt = new Map<string, number>();
          const failures: string[] = [];
          rig.fake.faults.setRandom({
            seed,
            probability: 0.3,
            retryAfter: '0',
            kinds: ['slow', 'slow-after', 'slow-after', '500', '503', 'reset'],
          });
          let next = 0;
          let done = false;
          const writer = async () => {
            while (next < scripts.length) {
              const s = scripts[next++]!;
              let body = `${s.key} v0`;
              for (const [i, step] of s.steps.entries()) {
                if (step === 'put') await put(b, s.key, (body = `${s.key} v${i + 1}`));
                else {
                  await b.copyObject(
                    { bucket: 'default', key: s.key },
                    { bucket: 'default', key: s.key },
                    { replace: { headers: {}, metadata: { step: String(i) } } },
                  );
                }
              }
              if (s.keep) expected.set(s.key, body);
              else {
                await b.deleteObject('default', s.key);
                deletedAt.set(s.key, Date.now());
              }
            }
          };
          const lister = async () => {
            while (!done) {
              const started = Date.now();
              const prefix = ['', 'x/', 'y/', 'y/z/'][Math.floor(r() * 4)]!;
              for (const k of await listKeys(b, prefix)) {
                const at = deletedAt.get(k);
                if (at !== undefined && at < started) failures.push(`${k} listed after its DELETE answered`);
              }
            }
          };
          const listers = [lister(), lister()];
          try {
            await Promise.all(Array.from({ length: 6 }, writer));
          } finally {
            done = true;
            await Promise.all(listers);
          }
          rig.fake.faults.clear();
          assert.deepEqual(failures, [], `seed ${seed}`);
          const want = [...expected.keys()].sort();
          assert.deepEqual(await listKeys(b), want, `seed ${seed}: listed`);
          await sleep(60); // past the grace period and the listing TTL: a fresh look at Drime
          assert.deepEqual(await listKeys(b), want, `seed ${seed}: listed afresh`);
          await b.close();
          assert.deepEqual(liveKeys(rig.fake), want, `seed ${seed}: on Drime`);
          const again = await open(rig, {}, `check-${seed}`);
          for (const [k, body] of expected) {
            assert.equal((await readAll((await again.getObject('default', k)).body)).toString(), body, k);
          }
          await again.close();
        },
        { paginator },
      );
    }
  },
);

// ---- the client ----

test('a batch delete retried after an ambiguous failure still deletes every id that exists', T, async () => {
  await withRig(async (rig) => {
    const ids = [
      (await rig.client().createFolder('one', null)).id,
      (await rig.client().createFolder('two', null)).id,
    ];
    // The first attempt fails before Drime acts (a 502 the client cannot tell from one after);
    // while it waits to retry, the first id is deleted by someone else: the retry gets a 422.
    rig.fake.faults.add({ match: /file-entries\/delete/, kind: 'status', status: 502 });
    const c = rig.client({
      sleep: () => {
        rig.fake.state.entries.delete(ids[0]!);
        return Promise.resolve();
      },
    });
    await c.deleteEntries(ids, true);
    assert.equal(rig.fake.state.entries.has(ids[1]!), false, 'the other id is deleted too');
  });
});
