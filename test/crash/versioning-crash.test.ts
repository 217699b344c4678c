/**
 * Crash safety of versioning and object lock against a REAL `s3local serve` process. Two buckets:
 * `vcrash` (versioned, toggled Enabled <-> Suspended now and then) and `vlock` (object lock). On
 * nested keys (`a`, `a/b`, `a/b/c`, `d/`, `d//e` ...) workers run concurrently over plain HTTP:
 * versioned PUT, DELETE (delete marker), DELETE ?versionId (permanent), CopyObject from a specific
 * version, multipart uploads (Create, UploadPart, Complete: a new version), and in `vlock` new
 * versions with retention / legal-hold headers, PutObjectRetention, PutObjectLegalHold and DELETEs
 * of locked versions (AccessDenied) — see version-load.ts. The server is killed with SIGKILL at a
 * random moment, then the store recovers one of three ways:
 *
 *  - a restart (sometimes killed again while it starts: recovery interrupted);
 *  - `s3local cache rebuild --path DIR` on the stopped store (sometimes killed mid-way and run
 *    again), then a restart;
 *  - the same with the index deleted first: every chain and lock rebuilt from the version records
 *    alone (the multipart uploads, whose state lives in the index only, are gone then);
 *
 * and the store is checked against the model of the acknowledged operations (version-check.ts):
 * each key's chain and each version's lock are exactly the acknowledged ones, plus the operation
 * cut by the kill either fully applied or not at all; bytes, plain files, rows, version directories
 * and multipart staging agree.
 *
 * 30+ iterations, bounded in time; the seed is printed for replay (S3LOCAL_CRASH_SEED=...), and
 * S3LOCAL_CRASH_KEEP=1 keeps the store of a failed run. Never spawnSync here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { contentMd5, killed, md5, prng, runCli, send, start } from './crash-kit.js';
import { checkStore } from './version-check.js';
import { Load, setVersioning } from './version-load.js';
import { bucketModel, cut, type BucketModel } from './version-model.js';

const ITERATIONS = 50;
const BUDGET_MS = 90_000; // stop starting new iterations after this (the test deadline is 170 s)
const MIN_ITERATIONS = 30;
const KEYS = ['a', 'a/b', 'a/b/c', 'd/', 'd//e', 'f', 'g/h', 'x0', 'x1', 'x2'];
const LOCK_KEYS = ['a', 'a/b', 'l/', 'l//m', 'y0', 'y1', 'y2'];
const SERVE_ARGS = ['--allow-bucket-creation'];

/** `cache rebuild` on the stopped store (`fresh`: the index deleted first), maybe killed once first. */
async function rebuild(dir: string, home: string, fresh: boolean, interruptAfterMs?: number): Promise<void> {
  if (fresh) {
    for (const f of ['index.sqlite', 'index.sqlite-wal', 'index.sqlite-shm']) {
      await rm(join(dir, '.s3local', f), { force: true });
    }
  }
  const args = ['cache', 'rebuild', '--path', dir];
  if (interruptAfterMs !== undefined) await runCli(args, home, interruptAfterMs);
  const r = await runCli(args, home);
  assert.equal(r.code, 0, `cache rebuild: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /Rebuilt the index/, `cache rebuild: ${r.stdout}`);
}

/** Writes `key` before versioning is enabled: a null version without a record. */
async function putUnversioned(agent: Agent, port: number, b: BucketModel, key: string): Promise<void> {
  const body = randomBytes(1000);
  assert.equal((await send(agent, port, 'PUT', `/${b.name}/${key}`, body)).status, 200);
  const etag = md5(body);
  b.keys.get(key)!.chain = [{ id: 'null', marker: false, etag, md5: etag, size: body.length }];
}

test(
  'SIGKILL at random points of versioned writes, copies, multipart uploads and object lock changes: chains and locks stay consistent after a restart or a cache rebuild',
  { timeout: 170_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 's3local-vcrash-'));
    const seed = Number(process.env.S3LOCAL_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    t.diagnostic(`seed ${seed} (replay with S3LOCAL_CRASH_SEED=${seed})`);
    const dir = join(root, 'data');
    const home = join(root, 'home');
    const buckets: [BucketModel, BucketModel] = [
      bucketModel('vcrash', KEYS, false),
      bucketModel('vlock', LOCK_KEYS, true),
    ];
    const [plain, locked] = buckets;
    const started = Date.now();
    let server = await start(dir, home, undefined, SERVE_ARGS);
    let iterations = 0;
    let ops = 0;
    let toggles = 0;
    const done: Record<string, number> = {};
    const recoveries = {
      restart: 0,
      interruptedStart: 0,
      rebuild: 0,
      freshRebuild: 0,
      interruptedRebuild: 0,
    };
    let keep = false;
    try {
      // Both buckets get objects written before versioning (null versions without a record);
      // `vlock` gets object lock afterwards (PutObjectLockConfiguration on a versioned bucket).
      const setup = new Agent();
      for (const b of buckets)
        assert.equal((await send(setup, server.port, 'PUT', `/${b.name}`)).status, 200);
      for (const key of ['a', 'x0']) await putUnversioned(setup, server.port, plain, key);
      await putUnversioned(setup, server.port, locked, 'y0');
      for (const b of buckets)
        assert.equal((await setVersioning(setup, server.port, b.name, 'Enabled')).status, 200);
      const conf = Buffer.from(
        '<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>',
      );
      const lockRes = await send(setup, server.port, 'PUT', `/${locked.name}?object-lock`, conf, {
        'content-md5': contentMd5(conf),
      });
      assert.equal(lockRes.status, 200, `PutObjectLockConfiguration: ${lockRes.body}`);
      setup.destroy();

      while (iterations < ITERATIONS && Date.now() - started < BUDGET_MS) {
        iterations++;
        const log: string[] = [];
        const load = new Load(server.port, buckets, random, log);
        const running = load.run(4);
        await Promise.race([new Promise((r) => setTimeout(r, 5 + random() * 350)), running]);
        load.stopped = true;
        await killed(server.child);
        await running.catch((err: unknown) => {
          // Only transport errors (the kill) may end a worker; a wrong answer is a failure.
          if (err instanceof assert.AssertionError) {
            t.diagnostic(`operations of iteration ${iterations}:\n${log.join('\n')}`);
            throw err;
          }
        });
        load.agent.destroy();
        ops += load.ops;
        toggles += load.toggles;
        for (const [k, n] of Object.entries(load.done)) done[k] = (done[k] ?? 0) + n;

        const how = random();
        let interrupt: number | undefined;
        let indexRebuilt = false;
        if (how < 0.2) {
          const fresh = how < 0.07;
          interrupt = random() < 0.2 ? 100 + random() * 400 : undefined;
          log.push(
            `KILL, then cache rebuild${fresh ? ' of a deleted index' : ''}${interrupt ? ` (first one killed after ${interrupt | 0} ms)` : ''}`,
          );
          await rebuild(dir, home, fresh, interrupt);
          recoveries.rebuild++;
          if (interrupt !== undefined) recoveries.interruptedRebuild++;
          if (fresh) {
            indexRebuilt = true;
            recoveries.freshRebuild++;
            // Upload state lives in the index only: a deleted index forgets every upload.
            for (const b of buckets) for (const st of b.keys.values()) delete st.upload;
          }
          interrupt = undefined;
        } else {
          interrupt = random() < 0.15 ? 30 + random() * 150 : undefined;
          if (interrupt !== undefined) recoveries.interruptedStart++;
          recoveries.restart++;
          log.push(
            interrupt === undefined ? 'KILL' : `KILL, then a restart killed after ${interrupt | 0} ms`,
          );
        }
        server = await start(dir, home, interrupt, SERVE_ARGS);
        try {
          const pageSize = random() < 0.3 ? 2 + Math.floor(random() * 6) : 1000; // small pages walk the markers
          await checkStore(
            dir,
            server.port,
            buckets,
            { pageSize, indexRebuilt },
            `iteration ${iterations} (seed ${seed})`,
          );
        } catch (err) {
          t.diagnostic(`operations of iteration ${iterations}:\n${log.join('\n')}`);
          // S3LOCAL_CRASH_KEEP=1 keeps the store of a failed run for inspection.
          keep = process.env.S3LOCAL_CRASH_KEEP === '1';
          if (keep) t.diagnostic(`store kept at ${dir}`);
          throw err;
        }
      }
      const versions = buckets.reduce(
        (n, b) => n + [...b.keys.values()].reduce((m, st) => m + st.chain.length, 0),
        0,
      );
      const locks = [...locked.keys.values()].reduce((n, st) => n + st.chain.filter((e) => e.lock).length, 0);
      t.diagnostic(
        `${iterations} kills, ${ops} acknowledged operations (${JSON.stringify(done)}), ${toggles} versioning toggles, ` +
          `${versions} versions at the end (${locks} with a lock); recoveries ${JSON.stringify(recoveries)}; ` +
          `operations cut by a kill, applied / not: ${JSON.stringify(cut)}; ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      assert.ok(iterations >= MIN_ITERATIONS, `only ${iterations} iterations fit in the time budget`);
    } finally {
      await killed(server.child);
      if (!keep) await rm(root, { recursive: true, force: true });
    }
  },
);
