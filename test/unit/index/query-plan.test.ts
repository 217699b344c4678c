/**
 * Listing cost independent of bucket size: every statement the object index prepares is checked
 * with EXPLAIN QUERY PLAN (index range searches, never a full scan of `objects`, never a temp
 * B-tree for ORDER BY), and a listing over a real index reads O(page) rows however deep the page
 * and however many keys sit under the common prefixes it skips.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type Database from 'better-sqlite3';
import { openIndexDatabase } from '../../../src/index/index-db.js';
import { ObjectIndex, type ObjectRow } from '../../../src/index/object-index.js';
import { collectListPage } from '../../../src/storage/listing.js';
import { RowWriter } from '../../../src/storage/local/rebuild.js';

interface PlanRow {
  id: number;
  parent: number;
  detail: string;
}

function plan(db: Database.Database, sql: string): string[] {
  const params = (sql.match(/\?|@\w+/g) ?? []).length;
  const named = /@\w+/.test(sql);
  const stmt = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const rows = (
    named
      ? stmt.all(
          Object.fromEntries((sql.match(/@(\w+)/g) ?? []).map((n) => [n.slice(1), null] as [string, null])),
        )
      : stmt.all(...Array.from({ length: params }, () => null))
  ) as PlanRow[];
  return rows.map((r) => r.detail);
}

/** Every SQL text ObjectIndex prepares (captured by wrapping db.prepare). */
function preparedBy(db: Database.Database, build: () => void): string[] {
  const seen: string[] = [];
  const original = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    seen.push(sql);
    return original(sql);
  };
  try {
    build();
  } finally {
    db.prepare = original;
  }
  return seen;
}

function row(bucket: string, key: string): ObjectRow {
  return {
    bucket,
    key,
    path: key,
    size: 1,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    mtimeNs: 1n,
    lastModified: 0,
    headers: '{}',
    metadata: '{}',
    checksums: '{}',
    checksumType: null,
    parts: null,
  };
}

let dir: string;
let db: Database.Database;
let index: ObjectIndex;
const PREFIXES = 256;
const PER_PREFIX = 40;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3local-plan-'));
  db = openIndexDatabase(join(dir, 'index.sqlite'));
  index = new ObjectIndex(db);
  index.insertBucket('big', 0);
  index.insertBucket('other', 0);
  const writer = new RowWriter(db, index, 5000);
  // restic's shape: data/00/<hash> ... data/ff/<hash>, plus keys in another bucket.
  for (let p = 0; p < PREFIXES; p++) {
    const xx = p.toString(16).padStart(2, '0');
    for (let i = 0; i < PER_PREFIX; i++)
      writer.put(row('big', `data/${xx}/${xx}${String(i).padStart(6, '0')}`));
  }
  for (let i = 0; i < 1000; i++) writer.put(row('other', `k${i}`));
  writer.flush();
  db.exec('ANALYZE');
});

after(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('query plans of the object index', () => {
  test('seek statements are primary-key range searches without a sort', () => {
    const sqls = preparedBy(db, () => new ObjectIndex(db));
    const seeks = sqls.filter((s) => /FROM objects WHERE bucket = \? AND key >=? \?/.test(s));
    assert.equal(seeks.length, 4, 'four seek variants (>, >=, with and without an upper bound)');
    for (const sql of seeks) {
      const details = plan(db, sql);
      assert.equal(details.length, 1, `${sql}\n${details.join('\n')}`);
      assert.match(
        details[0] ?? '',
        /^SEARCH objects USING PRIMARY KEY \(bucket=\? AND key>\?( AND key<\?)?\)$/,
      );
    }
  });

  test('no statement of ObjectIndex scans objects or builds a temp B-tree', () => {
    const sqls = preparedBy(db, () => new ObjectIndex(db)).filter((s) =>
      /^\s*(SELECT|UPDATE|DELETE)/i.test(s),
    );
    assert.ok(sqls.length >= 5);
    for (const sql of sqls) {
      const details = plan(db, sql).join('\n');
      assert.doesNotMatch(details, /SCAN objects/, sql);
      assert.doesNotMatch(details, /TEMP B-TREE/, sql);
    }
  });

  test('the stats aggregate and the rebuild prune search by bucket', () => {
    const stats = plan(
      db,
      `SELECT b.name AS name,
         (SELECT COUNT(*) FROM objects o WHERE o.bucket = b.name) AS objects,
         (SELECT COALESCE(SUM(size), 0) FROM objects o WHERE o.bucket = b.name) AS bytes
       FROM buckets b ORDER BY b.name`,
    ).join('\n');
    assert.doesNotMatch(stats, /SCAN objects|TEMP B-TREE/);
    assert.match(stats, /SEARCH o USING PRIMARY KEY \(bucket=\?\)/);
  });
});

describe('listing cost on a real index', () => {
  /** Runs one listing page and counts the rows the scan produced. */
  function page(opts: { prefix?: string; delimiter?: string; after?: string; maxKeys?: number }) {
    let read = 0;
    let scans = 0;
    const result = collectListPage(
      {
        prefix: opts.prefix ?? '',
        delimiter: opts.delimiter ?? '',
        after: opts.after ?? '',
        maxKeys: opts.maxKeys ?? 1000,
      },
      (from, before, limit) => {
        scans++;
        const it = index.seekObjects('big', from, before, limit);
        return {
          [Symbol.iterator]: () => ({
            next: () => {
              const n = it.next();
              if (!n.done) read++;
              return n;
            },
            return: (v?: unknown) => {
              it.return?.();
              return { done: true as const, value: v };
            },
          }),
        };
      },
    );
    return { result, read, scans };
  }

  test('a page deep in the listing reads page-size rows, like the first one', () => {
    const total = PREFIXES * PER_PREFIX;
    const first = page({ maxKeys: 1000 });
    assert.equal(first.result.objects.length, 1000);
    assert.ok(first.read <= 1001, `first page read ${first.read}`);
    // Resume 9,000 keys in: the cost is the page, not the position.
    const keyAt = (i: number) => {
      const p = Math.floor(i / PER_PREFIX);
      const xx = p.toString(16).padStart(2, '0');
      return `data/${xx}/${xx}${String(i % PER_PREFIX).padStart(6, '0')}`;
    };
    const deep = page({ after: keyAt(8999), maxKeys: 1000 });
    assert.equal(deep.result.objects[0]?.key, keyAt(9000));
    assert.ok(deep.read <= 1001, `deep page read ${deep.read}`);
    const last = page({ after: keyAt(total - 2), maxKeys: 1000 });
    assert.deepEqual(
      last.result.objects.map((o) => o.key),
      [keyAt(total - 1)],
    );
    assert.equal(last.result.isTruncated, false);
    assert.ok(last.read <= 2);
  });

  test('a delimiter listing over 256 prefixes reads one row per prefix', () => {
    const r = page({ prefix: 'data/', delimiter: '/' });
    assert.equal(r.result.commonPrefixes.length, PREFIXES);
    assert.equal(r.result.commonPrefixes[0], 'data/00/');
    assert.equal(r.result.commonPrefixes[255], 'data/ff/');
    assert.equal(r.result.objects.length, 0);
    // 10,240 keys under the prefixes; only the first key of each is read, one seek per prefix.
    assert.ok(r.read <= PREFIXES + 1, `read ${r.read} rows`);
    assert.ok(r.scans <= PREFIXES + 1, `${r.scans} seeks`);
    const paged = page({ prefix: 'data/', delimiter: '/', maxKeys: 100, after: 'data/63/' });
    assert.equal(paged.result.commonPrefixes[0], 'data/64/');
    assert.equal(paged.result.commonPrefixes.length, 100);
    assert.ok(paged.read <= 101);
  });
});
