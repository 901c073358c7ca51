import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SharedChunkObjects, repeatedChunks } from '../../src/repo/shared-chunk-objects.js';

/** A fetcher that counts its calls per id and answers after a turn of the event loop. */
function counter() {
  const calls = new Map<string, number>();
  const fetch = (id: string, bytes = 10) => async () => {
    calls.set(id, (calls.get(id) ?? 0) + 1);
    await new Promise((r) => setImmediate(r));
    return Buffer.alloc(bytes, id.charCodeAt(0));
  };
  return { calls, fetch };
}

describe('repeatedChunks', () => {
  it('counts the ids that occur more than once, across and within lists', () => {
    const r = repeatedChunks([['a', 'b', 'a'], ['c'], ['b', 'd'], []]);
    assert.deepEqual([...r].sort(), [
      ['a', 2],
      ['b', 2],
    ]);
  });
});

describe('SharedChunkObjects', () => {
  it('fetches a repeated chunk once, for uses in turn and at once, and lets go after the last', async () => {
    const { calls, fetch } = counter();
    const s = new SharedChunkObjects(repeatedChunks([['a', 'a', 'a', 'b', 'b']]));
    const first = await s.get('a', fetch('a'));
    assert.equal(first.shared, true);
    assert.equal(s.bytes, 10);
    const second = await s.get('a', fetch('a'));
    assert.equal(second.obj, first.obj);
    assert.equal(second.shared, true);
    const last = await s.get('a', fetch('a'));
    assert.equal(last.obj, first.obj);
    assert.equal(last.shared, false, 'the last use may take the buffer');
    assert.equal(s.bytes, 0);
    // Two uses at once: one GET.
    const [b1, b2] = await Promise.all([s.get('b', fetch('b')), s.get('b', fetch('b'))]);
    assert.equal(b1.obj, b2.obj);
    assert.equal(s.bytes, 0);
    assert.deepEqual(Object.fromEntries(calls), { a: 1, b: 1 });
  });

  it('does not hold a chunk used once', async () => {
    const { calls, fetch } = counter();
    const s = new SharedChunkObjects(repeatedChunks([['x', 'y', 'y']]));
    const x = await s.get('x', fetch('x'));
    assert.equal(x.shared, false);
    assert.equal(s.bytes, 0);
    assert.equal(calls.get('x'), 1);
  });

  it('fetches again past its byte bound, and after a failed fetch', async () => {
    const { calls, fetch } = counter();
    const s = new SharedChunkObjects(repeatedChunks([['big', 'big', 'small', 'small', 'bad', 'bad']]), 50);
    await s.get('big', fetch('big', 100));
    assert.equal(s.bytes, 0, 'over the bound: not held');
    await s.get('big', fetch('big', 100));
    assert.equal(calls.get('big'), 2);
    await s.get('small', fetch('small', 20));
    assert.equal(s.bytes, 20);
    await assert.rejects(
      s.get('bad', async () => {
        throw new Error('503');
      }),
      /503/,
    );
    const again = await s.get('bad', fetch('bad'));
    assert.equal(again.obj.length, 10);
  });
});
