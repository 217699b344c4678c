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
