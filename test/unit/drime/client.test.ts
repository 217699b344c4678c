/**
 * The Drime HTTP client against the fake: token check, workspace scoping, pagination, retries,
 * non-idempotent calls, HTML detection, bounded concurrency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DrimeClient } from '../../../src/storage/drime/client.js';
import { DrimeError, toS3Error } from '../../../src/storage/drime/errors.js';
import { parseRetryAfter, retryDelay, DEFAULT_RETRY } from '../../../src/storage/drime/retry.js';
import { withRig } from './helpers.js';

/** Every test has a deadline. */
const T = { timeout: 60_000 };

test('retry delay: exponential, jittered within ±25 %, Retry-After wins, capped', T, () => {
  const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(
    retryDelay(0, p, undefined, () => 0.5),
    100,
  );
  assert.equal(
    retryDelay(2, p, undefined, () => 0.5),
    400,
  );
  assert.equal(
    retryDelay(0, p, undefined, () => 0),
    75,
  );
  assert.equal(
    retryDelay(0, p, undefined, () => 1),
    125,
  );
  assert.equal(
    retryDelay(10, p, undefined, () => 0.5),
    1000,
  );
  assert.equal(
    retryDelay(0, p, 700, () => 0.5),
    700,
  );
  assert.equal(
    retryDelay(0, p, 5000, () => 0.5),
    1000,
  );
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString(), Date.now()) !== undefined, true);
  assert.equal(parseRetryAfter('soon'), undefined);
});

test(
  'token check: loggedUser, 401 as an auth error, HTML (wrong URL) as a clear error without retries',
  T,
  async () => {
    await withRig(async (rig) => {
      const user = await rig.client().loggedUser();
      assert.equal(user.email, 'tester@example.test');
      await assert.rejects(
        rig.client({ apiKey: 'wrong' }).loggedUser(),
        (e: unknown) => e instanceof DrimeError && e.kind === 'auth',
      );
      const before = rig.fake.requests.length;
      await assert.rejects(
        rig.client({ apiUrl: `${rig.fake.origin}/app` }).loggedUser(),
        (e: unknown) =>
          e instanceof DrimeError &&
          e.kind === 'html' &&
          /HTML page/.test(e.message) &&
          /API URL/.test(e.message),
      );
      assert.equal(rig.fake.requests.length - before, 1);
      assert.equal(toS3Error(new DrimeError('html', 'x')).code, 'InternalError');
    });
  },
);

test('DRIME_API_URL is the default base URL', T, async () => {
  await withRig(async (rig) => {
    const saved = process.env.DRIME_API_URL;
    process.env.DRIME_API_URL = rig.fake.apiUrl;
    try {
      const c = new DrimeClient({ apiKey: rig.fake.token, workspaceId: 0 });
      assert.equal(c.apiUrl, rig.fake.apiUrl);
      assert.equal((await c.loggedUser()).id, rig.fake.user.id);
    } finally {
      if (saved === undefined) delete process.env.DRIME_API_URL;
      else process.env.DRIME_API_URL = saved;
    }
  });
});

test(
  'workspaceId is sent on every call (query, and body for POSTs); other workspaces stay separate',
  T,
  async () => {
    await withRig(async (rig) => {
      const ws = rig.fake.state.addWorkspace('Team', rig.fake.user);
      const team = rig.client({ workspaceId: ws.id });
      const folder = await team.createFolder('shared', null);
      assert.equal(folder.workspaceId, ws.id);
      await team.listChildren(null);
      await team.renameEntry(folder.id, 'shared2');
      await team.deleteEntries([folder.id], false);
      for (const r of rig.fake.requests) {
        assert.equal(r.workspaceIdQuery, String(ws.id), `${r.method} ${r.path}`);
        if (r.method !== 'GET') assert.equal(r.workspaceIdBody, ws.id, `${r.method} ${r.path}`);
      }
      assert.deepEqual(await rig.client().listChildren(null), []);
    });
  },
);

test('listAll walks every page with both paginator styles and de-duplicates by id', T, async () => {
  for (const paginator of ['lengthAware', 'simple'] as const) {
    await withRig(
      async (rig) => {
        const c = rig.client({ perPage: 7 });
        const parent = await c.createFolder('many', null);
        for (let i = 0; i < 30; i++) {
          rig.fake.state.createEntry({
            name: `f${String(i).padStart(2, '0')}`,
            type: 'file',
            parentId: parent.id,
            workspaceId: 0,
            ownerId: rig.fake.user.id,
            fileName: `uuid-${i}`,
            size: i,
            mime: 'text/plain',
            extension: null,
          });
        }
        const kids = await c.listChildren(parent.id);
        assert.equal(kids.length, 30, paginator);
        assert.equal(new Set(kids.map((k) => k.id)).size, 30);
        const pages = rig.fake.requests.filter((r) => r.path.endsWith('/drive/file-entries')).length;
        assert.ok(pages >= 5, `${paginator}: ${pages} pages`);
        assert.deepEqual(
          (await c.listChildren(null)).map((e) => e.name),
          ['many'],
        );
      },
      { paginator, numericStrings: paginator === 'simple' },
    );
  }
});

test('retries: 429 honours Retry-After, 5xx and resets are retried, attempts are bounded', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client({ retry: { baseDelayMs: 1, maxDelayMs: 10_000 } });
    rig.fake.faults.add({ match: /loggedUser/, kind: 'status', status: 429, retryAfter: '2' });
    await c.loggedUser();
    assert.ok(rig.sleeps.includes(2000), `sleeps: ${rig.sleeps.join(',')}`);
    rig.fake.faults.add({ match: /file-entries/, kind: 'status', status: 503 });
    rig.fake.faults.add({ match: /file-entries/, kind: 'reset' });
    rig.fake.faults.add({ match: /file-entries/, kind: 'status', status: 502 });
    rig.fake.faults.add({ match: /file-entries/, kind: 'html' });
    assert.deepEqual(await c.listChildren(null), []);
    assert.equal(rig.fake.faults.pending(), 0);
    rig.fake.faults.add({ match: /file-entries/, kind: 'status', status: 500, times: 100 });
    const before = rig.fake.requests.length;
    await assert.rejects(
      rig.client().listChildren(null),
      (e: unknown) => e instanceof DrimeError && e.status === 500,
    );
    assert.equal(rig.fake.requests.length - before, 6);
  });
});

test('non-idempotent calls are not retried blindly; 429 (not processed) is', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client();
    rig.fake.faults.add({ match: /^POST \/api\/v1\/folders$/, kind: 'status', status: 500, phase: 'after' });
    await assert.rejects(
      c.createFolder('once', null),
      (e: unknown) => e instanceof DrimeError && e.status === 500,
    );
    assert.equal(rig.fake.requests.filter((r) => r.path.endsWith('/folders')).length, 1);
    assert.deepEqual(rig.fake.state.folders(0), ['once/']);
    rig.fake.faults.add({ match: /^POST \/api\/v1\/folders$/, kind: 'status', status: 429, retryAfter: '0' });
    const f = await c.createFolder('twice', null);
    assert.equal(f.name, 'twice');
    assert.equal(rig.fake.requests.filter((r) => r.path.endsWith('/folders')).length, 3);
    // A duplicate folder is a 422 the caller can recognise.
    await assert.rejects(
      c.createFolder('TWICE', null),
      (e: unknown) => e instanceof DrimeError && e.status === 422,
    );
  });
});

test('delete after an ambiguous failure: a 422 on the retry means it was already deleted', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client();
    const f = await c.createFolder('gone', null);
    rig.fake.faults.add({ match: /delete/, kind: 'status', status: 502, phase: 'after' });
    await c.deleteEntries([f.id], true);
    assert.equal(rig.fake.state.entries.has(f.id), false);
    await assert.rejects(
      c.deleteEntries([f.id], true),
      (e: unknown) => e instanceof DrimeError && e.status === 422,
    );
  });
});

test('a 401 mid-session re-checks the token; a revoked token fails with an auth error', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client();
    await c.createFolder('x-folder', null);
    rig.fake.user.token = 'revoked';
    await assert.rejects(c.listChildren(null), (e: unknown) => e instanceof DrimeError && e.kind === 'auth');
    assert.equal(toS3Error(new DrimeError('auth', 'Unauthenticated.')).code, 'InternalError');
  });
});

test('bounded concurrency: never more than `concurrency` API calls in flight', T, async () => {
  await withRig(async (rig) => {
    const c = rig.client({ concurrency: 2 });
    rig.fake.faults.add({ kind: 'slow', delayMs: 30, times: 1000 });
    await Promise.all(Array.from({ length: 10 }, () => c.listChildren(null)));
    assert.equal(rig.fake.stats.maxApiInFlight, 2);
  });
});

test('toS3Error: 404 in context, quota, everything else InternalError', T, () => {
  assert.equal(toS3Error(new DrimeError('http', 'x', 404), 'NoSuchKey').code, 'NoSuchKey');
  assert.equal(toS3Error(new DrimeError('gone', 'x')).code, 'NoSuchKey');
  assert.equal(
    toS3Error(new DrimeError('http', 'You have exhausted your allowed space of 1GB', 422)).code,
    'InsufficientStorage',
  );
  assert.equal(toS3Error(new DrimeError('http', 'boom', 500)).code, 'InternalError');
  assert.equal(toS3Error(new Error('x')).code, 'InternalError');
});
