/**
 * WriteJournal leaves the connection's durability setting as it found it: intents are written
 * with synchronous=NORMAL, and every other commit of the store keeps synchronous=FULL. (SQLite
 * applies `PRAGMA synchronous = x` when it compiles it, so a prepared pragma statement would
 * change the level once, at prepare time, and never again.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openIndexDatabase } from '../../../src/index/index-db.js';
import { WriteJournal } from '../../../src/index/write-journal.js';

test('recording an intent keeps synchronous=FULL on the connection', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3local-journal-'));
  const db = openIndexDatabase(join(dir, 'index.sqlite'));
  try {
    const level = () => db.pragma('synchronous', { simple: true });
    assert.equal(level(), 2);
    const journal = new WriteJournal(db);
    assert.equal(level(), 2, 'unchanged by the constructor');
    const entry = journal.beginDelete('bkt', 'k');
    assert.equal(level(), 2, 'restored after the intent');
    assert.deepEqual(
      journal.entries().map((e) => [e.op, e.key]),
      [['delete', 'k']],
    );
    journal.end(entry);
    assert.equal(journal.entries().length, 0);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
