/**
 * `s3local drime check` against the fake Drime API in its different behaviours: the probes report
 * what the fake does (PASS/DIFFERENT), a probe that fails is ERROR (exit 1), and everything the
 * check created is deleted permanently whatever happened.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeDrime, type FakeDrime } from '../fakes/drime/server.js';
import type { FakeOptions } from '../fakes/drime/state.js';
import { tempDir } from '../helpers/server.js';
import { isolatedEnv, runInProcess } from './drime-helpers.js';

interface Report {
  apiUrl: string;
  workspaceId: number;
  folder: string;
  results: Array<{ id: string; title: string; status: string; detail: string[] }>;
  cleanup: { ok: boolean; detail: string };
}

const ALL_PROBES = ['1', '2', '3', '4', '5', '6', '7', '8', 'A', 'B', 'C'];

describe('s3local drime check (fake Drime API)', () => {
  let home: string;
  let n = 0;
  const fakes: FakeDrime[] = [];

  before(async () => {
    home = await tempDir('s3local-drime-check-');
  });
  after(async () => {
    for (const f of fakes) await f.close();
    await rm(home, { recursive: true, force: true });
  });

  async function newFake(opts: Partial<FakeOptions> = {}): Promise<FakeDrime> {
    const fake = await startFakeDrime(opts);
    fakes.push(fake);
    return fake;
  }

  /** Runs the check with --json; returns the exit code, the parsed report and stderr. */
  async function check(fake: FakeDrime, args: string[] = [], token = fake.token) {
    const env = isolatedEnv(join(home, `h${++n}`), { DRIME_API_KEY: token, DRIME_API_URL: fake.apiUrl });
    const run = runInProcess(['drime', 'check', '--json', ...args], env);
    const code = await run.code;
    const out = run.out();
    const report = out.trim().startsWith('{') ? (JSON.parse(out) as Report) : undefined;
    const status = (id: string) => report?.results.find((r) => r.id === id)?.status;
    const detail = (id: string) => report?.results.find((r) => r.id === id)?.detail.join('\n') ?? '';
    return { code, report, err: run.err(), status, detail };
  }

  /** Nothing the check made is left: no entry (live, trashed or backup), no stored bytes. */
  function assertClean(fake: FakeDrime, keep: Set<number> = new Set()): void {
    const left = [...fake.state.entries.values()].filter((e) => !keep.has(e.id));
    assert.deepEqual(
      left.map((e) => e.name),
      [],
      'every entry the check created is deleted',
    );
    if (keep.size === 0) assert.equal(fake.state.blobs.size, 0, 'no stored bytes left');
  }

  it('BeDrive-like fake (duplicate uploads, redirects, Range): every probe PASS, nothing left', async () => {
    const fake = await newFake({ sameName: 'duplicate', download: 'redirect', rangeSupport: true });
    const r = await check(fake);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      r.report?.results.map((x) => `${x.id} ${x.status}`),
      ALL_PROBES.map((id) => `${id} PASS`),
    );
    assert.match(r.detail('1'), /second entry beside the first \(duplicate/);
    assert.match(r.detail('1'), /SAME\.txt was stored beside same\.txt/);
    assert.match(r.detail('5'), /redirect to 127\.0\.0\.1:\d+/);
    assert.match(r.detail('5'), /storage host answered Range with 206/);
    assert.match(r.detail('7'), /deleted permanently/);
    assert.match(r.detail('8'), /read all 5 files/);
    assert.equal(r.report?.cleanup.ok, true);
    assertClean(fake);
    // The token went only to the API, never to the storage host.
    assert.ok(fake.requests.filter((q) => q.path.startsWith('/__r2/')).every((q) => !q.authorization));
  });

  it('Drime-like fake with BeDrive validation: replace reported, short names DIFFERENT, streamed downloads', async () => {
    const fake = await newFake({
      sameName: 'replace',
      download: 'stream',
      folderMinLength: 3,
      renameMinLength: 3,
      paginator: 'simple',
      maxPerPage: 500,
    });
    const r = await check(fake);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.status('1'), 'PASS');
    assert.match(r.detail('1'), /replaced the entry \(same id, new file_name\)/);
    assert.match(r.detail('1'), /1 older version\(s\) listed with backup=1/);
    assert.match(r.detail('1'), /SAME\.txt replaced same\.txt \(case-insensitive\)/);
    assert.equal(r.status('4'), 'DIFFERENT');
    assert.match(r.detail('4'), /POST \/folders refused "ab"/);
    assert.match(r.detail('4'), /rename to "cd" was refused/);
    assert.equal(r.status('5'), 'PASS');
    assert.match(r.detail('5'), /API host streamed the file itself \(200\)/);
    assert.match(r.detail('5'), /ignored Range/);
    assert.equal(r.status('8'), 'PASS');
    assert.match(r.detail('8'), /next_page_url/);
    assert.match(r.detail('8'), /perPage=100000: per_page 500 \(capped/);
    for (const id of ['2', '3', '6', '7', 'A', 'B', 'C'])
      assert.equal(r.status(id), 'PASS', `${id}: ${r.detail(id)}`);
    assertClean(fake);
  });

  it('a real-looking 429 is described with its Retry-After', async () => {
    const fake = await newFake();
    fake.faults.add({
      match: /^GET \/api\/v1\/cli\/loggedUser$/,
      kind: 'status',
      status: 429,
      retryAfter: '7',
      skip: 12,
    });
    const r = await check(fake, ['--rate-limit-requests', '40']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.status('6'), 'PASS');
    assert.match(
      r.detail('6'),
      /429 after \d+ requests .*Retry-After "7", X-RateLimit-Limit 60, Remaining 0/,
    );
    assertClean(fake);
  });

  it('a probe that cannot run is ERROR (exit 1), and the cleanup still happens', async () => {
    const fake = await newFake();
    fake.faults.add({
      match: /^GET \/api\/v1\/file-entries\/download\//,
      kind: 'status',
      status: 403,
      times: 100,
    });
    const r = await check(fake);
    assert.equal(r.code, 1);
    assert.equal(r.status('5'), 'ERROR');
    assert.match(r.detail('5'), /answered 403/);
    assert.match(r.detail('5'), /failed: /);
    assert.equal(r.status('7'), 'PASS', 'the other probes still ran');
    assert.equal(r.report?.cleanup.ok, true);
    assertClean(fake);
  });

  it('probes inside an existing --root-folder and leaves it as it was', async () => {
    const fake = await newFake();
    const top = fake.state.createEntry({
      name: 'backups',
      type: 'folder',
      parentId: null,
      workspaceId: 0,
      ownerId: fake.user.id,
      fileName: 'backups',
      size: 0,
      mime: null,
      extension: null,
    });
    const env = isolatedEnv(join(home, `h${++n}`), { DRIME_API_KEY: fake.token, DRIME_API_URL: fake.apiUrl });
    const run = runInProcess(['drime', 'check', '--root-folder', 'backups'], env);
    assert.equal(await run.code, 0, run.err());
    const out = run.out();
    assert.match(
      out,
      /^Probe folder: backups\/s3local-check-\d{8}T\d{6}-[0-9a-f]{6} \(deleted at the end\)$/m,
    );
    assert.match(out, /^\[PASS\] 1\. Same-name upload/m);
    assert.match(out, /^ {4}- /m);
    assert.match(out, /^Summary: 11 PASS, 0 DIFFERENT, 0 ERROR$/m);
    assertClean(fake, new Set([top.id]));
    assert.ok(fake.state.entries.has(top.id), 'the root folder itself stays');
  });

  it('a rejected token, or a local backend config, ends with a clear message', async () => {
    const fake = await newFake();
    const r = await check(fake, [], '5|wrong-token');
    assert.equal(r.code, 1);
    assert.match(r.err, /Drime rejected the API token/);
    assert.ok(!r.err.includes('5|wrong-token'));
    assertClean(fake);

    const env = isolatedEnv(join(home, `h${++n}`));
    const add = runInProcess(['config', 'add', 'nas', '--type', 'local', '--path', join(home, 'nas')], env);
    assert.equal(await add.code, 0, add.err());
    const run = runInProcess(['drime', 'check', '--backend-config', 'nas'], env);
    assert.equal(await run.code, 1);
    assert.match(run.err(), /Backend config 'nas' is a local backend/);
  });
});
