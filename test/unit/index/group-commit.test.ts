/**
 * GroupCommit: concurrent commits share one transaction; one that throws rolls back alone; each
 * caller resolves after the commit.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../../src/index/group-commit.js';

test('commits of one event-loop turn share a transaction; a failing one rolls back alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3local-group-'));
  const db = new Database(join(dir, 'x.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
    let transactions = 0;
    const original = db.transaction.bind(db);
    db.transaction = ((fn: (...args: unknown[]) => unknown) => {
      const wrapped = original(fn);
      return (...args: unknown[]) => {
        if (!db.inTransaction) transactions++;
        return wrapped(...args);
      };
    }) as typeof db.transaction;
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const group = new GroupCommit(db);
    const results = await Promise.allSettled([
      group.run(() => insert.run('a').changes),
      group.run(() => {
        insert.run('b');
        throw new Error('b fails after writing');
      }),
      group.run(() => insert.run('c').changes),
      group.run(() => insert.run('a').changes), // duplicate key: fails alone
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
    );
    assert.equal(transactions, 1, 'one transaction for the four');
    assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY v').pluck().all(), ['a', 'c']);
    // A later turn gets its own transaction, and resolves after it committed.
    const value = await group.run(() => {
      insert.run('d');
      return 'done';
    });
    assert.equal(value, 'done');
    assert.equal(transactions, 2);
    assert.equal(db.inTransaction, false);
    assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY v').pluck().all(), ['a', 'c', 'd']);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('in WAL mode the group commits without blocking on fsync and restores synchronous=FULL', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3local-group-'));
  const file = join(dir, 'x.sqlite');
  const db = new Database(file);
  const reader = new Database(file, { readonly: false });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (v INTEGER PRIMARY KEY)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const group = new GroupCommit(db);
    // Groups of several turns, overlapping with each other's WAL flushes.
    const all: Promise<unknown>[] = [];
    for (let turn = 0; turn < 5; turn++) {
      for (let i = 0; i < 10; i++) all.push(group.run(() => insert.run(turn * 10 + i).changes));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await Promise.all(all), Array(50).fill(1));
    assert.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL again after the group');
    assert.equal(reader.prepare('SELECT count(*) FROM t').pluck().get(), 50);
    // A failing item still fails alone.
    await assert.rejects(
      group.run(() => insert.run(1)),
      /UNIQUE/,
    );
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
  } finally {
    reader.close();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('outside WAL mode (rollback journal) the group commits synchronously', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3local-group-'));
  const db = new Database(join(dir, 'x.sqlite'));
  try {
    db.pragma('journal_mode = DELETE');
    db.exec('CREATE TABLE t (v TEXT)');
    const group = new GroupCommit(db);
    const results = await Promise.all(
      ['a', 'b'].map((v) => group.run(() => db.prepare('INSERT INTO t VALUES (?)').run(v).changes)),
    );
    assert.deepEqual(results, [1, 1]);
    assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 2);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
