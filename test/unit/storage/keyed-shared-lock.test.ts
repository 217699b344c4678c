/**
 * KeyedSharedLock: shared holders run together, an exclusive one alone, waiters in arrival order
 * (a shared request behind a waiting exclusive one waits too), keys independent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyedSharedLock } from '../../../src/storage/keyed-shared-lock.js';

/** A promise and its resolver. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyedSharedLock', () => {
  test('shared holders overlap; exclusive waits for them and holds later ones back', async () => {
    const lock = new KeyedSharedLock();
    const log: string[] = [];
    const s1 = gate();
    const s2 = gate();
    const x = gate();
    const p1 = lock.shared('b', async () => {
      log.push('s1 in');
      await s1.promise;
      log.push('s1 out');
    });
    const p2 = lock.shared('b', async () => {
      log.push('s2 in');
      await s2.promise;
      log.push('s2 out');
    });
    const px = lock.exclusive('b', async () => {
      log.push('x in');
      await x.promise;
      log.push('x out');
    });
    const p3 = lock.shared('b', () => void log.push('s3'));
    const other = lock.exclusive('other', () => void log.push('other key'));
    await tick();
    assert.deepEqual(log, ['s1 in', 's2 in', 'other key']);
    s1.open();
    await tick();
    assert.deepEqual(log.slice(3), ['s1 out'], 'exclusive waits for every shared holder');
    s2.open();
    await tick();
    assert.deepEqual(log.slice(4), ['s2 out', 'x in'], 'the later shared request waits behind it');
    x.open();
    await Promise.all([p1, p2, px, p3, other]);
    assert.deepEqual(log.slice(6), ['x out', 's3']);
    assert.equal(lock.isHeld('b'), false);
    assert.equal(lock.isHeld('other'), false);
  });

  test('a throwing holder releases the key', async () => {
    const lock = new KeyedSharedLock();
    await assert.rejects(
      lock.exclusive('k', () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    await assert.rejects(
      lock.shared('k', () => Promise.reject(new Error('again'))),
      /again/,
    );
    assert.equal(await lock.exclusive('k', () => 42), 42);
    assert.equal(lock.isHeld('k'), false);
  });

  test('exclusive holders run one at a time, in order', async () => {
    const lock = new KeyedSharedLock();
    const log: number[] = [];
    let inside = 0;
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        lock.exclusive('k', async () => {
          inside++;
          assert.equal(inside, 1);
          await tick();
          log.push(i);
          inside--;
        }),
      ),
    );
    assert.deepEqual(log, [0, 1, 2, 3]);
  });
});
