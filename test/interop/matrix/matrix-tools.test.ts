/**
 * The matrix's own tools: the request-log parser the workflows count S3 operations with, and
 * scripts/gen-compat.mjs turning recorded results into the compatibility document.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClient } from '../../helpers/clients.js';
import { requestOperation } from './harness.js';
import type { CompatRecord } from './record.js';

const GEN = fileURLToPath(new URL('../../../../scripts/gen-compat.mjs', import.meta.url));

describe('requestOperation', () => {
  it('reads the operation from every request-log format, and nothing from other lines', () => {
    assert.equal(
      requestOperation(
        '2026-11-21T22:03:03.674Z INFO  200 CopyObject bkt1/a.txt in=364B out=489B 5ms 127.0.0.1 id=E3',
      ),
      'CopyObject',
    );
    assert.equal(
      requestOperation('2026-11-21T22:03:03.674Z INFO  404 HeadObject NoSuchKey "b/with space" in=1B out=2B'),
      'HeadObject',
    );
    assert.equal(
      requestOperation('2026-11-21T21:33:29.241Z DEBUG request id=57 op=ListObjects method=GET status=403'),
      'ListObjects',
    );
    assert.equal(
      requestOperation('{"level":"info","msg":"request","operation":"UploadPart","status":200}'),
      'UploadPart',
    );
    assert.equal(requestOperation('{"level":"info","msg":"listening","url":"http://x"}'), undefined);
    assert.equal(
      requestOperation('2026-11-21T22:11:15.639Z INFO  listening url=http://127.0.0.1:1 tls=false'),
      undefined,
    );
    assert.equal(
      requestOperation('2026-11-21T22:11:15.639Z DEBUG refused id=1 op=PutObject code=AccessDenied'),
      undefined,
    );
  });
});

describe('scripts/gen-compat.mjs', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3local-gen-compat-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const rec = (over: Partial<CompatRecord>): CompatRecord => ({
    client: 'rclone',
    version: 'rclone v1.60.1',
    workflow: 'copy',
    order: 0,
    backend: 'local',
    bucketMode: 'default',
    result: 'pass',
    settings: '[srv]\ntype = s3',
    durationMs: 1500,
    at: '2026-01-01T00:00:00.000Z',
    node: 'v20.20.2',
    ...over,
  });

  it('writes the matrix: newest result per cell, rows in definition order, failures and settings', async () => {
    const lines = [
      rec({
        workflow: 'sync',
        order: 1,
        result: 'fail',
        reason: 'old failure',
        at: '2026-01-01T00:00:01.000Z',
      }),
      rec({}),
      rec({ bucketMode: 'advanced', order: 2, at: '2026-01-01T00:00:05.000Z' }),
      rec({ workflow: 'sync', order: 1, result: 'pass', at: '2026-01-01T00:00:09.000Z' }),
      rec({ workflow: 'purge', order: 3, result: 'fail', reason: 'InvalidPart: part 2\nsecond line' }),
      rec({
        client: 'restic',
        version: 'not installed',
        workflow: 'init',
        result: 'skip',
        reason: 'restic missing',
      }),
      rec({
        client: 'rclone',
        workflow: 'sync',
        order: 4,
        backend: 'drime',
        settings: '[srv]\nv2_auth = true',
      }),
    ];
    const input = join(dir, 'results.jsonl');
    await writeFile(input, lines.map((l) => JSON.stringify(l)).join('\n') + '\nnot json\n');
    const output = join(dir, 'compat.md');
    const r = await runClient(process.execPath, [GEN, input, output], process.env, 60_000);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /from 6 results \(4 pass, 1 fail, 1 skip\); 1 unreadable lines ignored/);
    const md = await readFile(output, 'utf8');
    assert.match(md, /^# Compatibility matrix$/m);
    // Summary: local before drime; counts per bucket mode.
    const summary = md.slice(md.indexOf('## Summary'), md.indexOf('## rclone'));
    assert.match(
      summary,
      /\| \[rclone\]\(#rclone\) +\| rclone v1\.60\.1 +\| local +\| ❌ 2\/3 pass +\| ✅ 1\/1 pass/,
    );
    assert.ok(summary.indexOf('| local') < summary.indexOf('| drime'));
    assert.match(summary, /\| \[restic\]\(#restic\) +\| not installed +\| local +\| ⏭️ skip/);
    const rclone = md.slice(md.indexOf('## rclone'), md.indexOf('## restic'));
    // The newer pass replaced the older failure of `sync`; rows follow `order`.
    assert.match(rclone, /\| sync +\| ✅ pass +\| — +\| ✅ pass +\|/);
    assert.doesNotMatch(md, /old failure/);
    assert.ok(
      rclone.indexOf('| copy') < rclone.indexOf('| sync') &&
        rclone.indexOf('| sync') < rclone.indexOf('| purge'),
    );
    assert.match(rclone, /\*\*purge\*\* \(local, default mode, fail\)/);
    assert.match(rclone, / {2}InvalidPart: part 2\n {2}second line/);
    assert.match(
      rclone,
      /### rclone settings 2\n\nUsed with: drime, default mode\.\n\n```text\n\[srv\]\nv2_auth = true\n```/,
    );
    assert.match(md, /restic missing/);
  });

  it('leaves the document alone, exit 0, when there are no results', async () => {
    const output = join(dir, 'keep.md');
    await writeFile(output, 'previous\n');
    const missing = await runClient(
      process.execPath,
      [GEN, join(dir, 'nope.jsonl'), output],
      process.env,
      60_000,
    );
    assert.equal(missing.code, 0);
    assert.match(missing.err, /does not exist/);
    await writeFile(join(dir, 'empty.jsonl'), '\n');
    const empty = await runClient(
      process.execPath,
      [GEN, join(dir, 'empty.jsonl'), output],
      process.env,
      60_000,
    );
    assert.equal(empty.code, 0);
    assert.equal(await readFile(output, 'utf8'), 'previous\n');
    assert.ok(existsSync(output));
  });
});
