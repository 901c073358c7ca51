// RetryStorage on the memory driver behind a wrapper that fails on cue: what is retried, what is
// not, a write whose answer was lost, a listing that breaks half-way, and the deadline.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { dbtoolError, isDbtoolError } from '../../src/core/errors.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';
import { RetryStorage } from '../../src/storage/retry-storage.js';
import type { ObjectInfo, PutOptions, Storage } from '../../src/storage/storage.js';

const transient = () => dbtoolError('STORAGE_IO', 'connection reset', 'retry');

/** MemoryStorage whose operations fail as `plan` says: before or after doing their work. */
class Flaky implements Storage {
  readonly capabilities = { atomicIfAbsent: false, localPath: false };
  readonly description = 'flaky';
  readonly inner = new MemoryStorage();
  calls: Record<string, number> = {};
  /** per operation, the errors to throw on the next calls; 'after:' = do the work, then throw */
  plan: Record<string, Array<Error | 'after' | undefined>> = {};

  private async step<T>(op: string, work: () => Promise<T>): Promise<T> {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const next = this.plan[op]?.shift();
    if (next === 'after') {
      await work();
      throw transient();
    }
    if (next) throw next;
    return work();
  }
  put(k: string, d: Buffer | Uint8Array, o?: PutOptions) {
    return this.step('put', () => this.inner.put(k, d, o));
  }
  putStream(k: string, d: Readable, o?: PutOptions) {
    return this.step('putStream', () => this.inner.putStream(k, d, o));
  }
  get(k: string) {
    return this.step('get', () => this.inner.get(k));
  }
  getStream(k: string) {
    return this.step('getStream', () => this.inner.getStream(k));
  }
  stat(k: string) {
    return this.step('stat', () => this.inner.stat(k));
  }
  /** fails after `failListAfter` objects once */
  failListAfter: number | undefined;
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.calls.list = (this.calls.list ?? 0) + 1;
    let n = 0;
    for await (const o of this.inner.list(prefix)) {
      if (this.failListAfter !== undefined && n === this.failListAfter) {
        this.failListAfter = undefined;
        throw transient();
      }
      n++;
      yield o;
    }
  }
  delete(k: string) {
    return this.step('delete', () => this.inner.delete(k));
  }
  async close() {}
}

const fast = { deadlineMs: 5_000, endpoint: 'test endpoint', baseDelayMs: 1, maxDelayMs: 5 };

describe('RetryStorage', () => {
  it('retries transient failures until the operation succeeds', async () => {
    const f = new Flaky();
    const r = new RetryStorage(f, fast);
    f.plan.put = [transient(), transient()];
    assert.equal(await r.put('a', Buffer.from('x')), true);
    assert.equal(f.calls.put, 3);
    f.plan.get = [transient()];
    assert.equal((await r.get('a')).toString(), 'x');
    f.plan.stat = [transient()];
    assert.equal((await r.stat('a'))?.size, 1);
    f.plan.delete = [transient()];
    await r.delete('a');
    assert.equal(await f.inner.stat('a'), undefined);
  });

  it('does not retry refusals or missing objects', async () => {
    const f = new Flaky();
    const r = new RetryStorage(f, fast);
    f.plan.put = [dbtoolError('STORAGE_REFUSED', 'access denied', 'check credentials')];
    await assert.rejects(r.put('a', Buffer.from('x')), (e) => isDbtoolError(e) && e.code === 'STORAGE_REFUSED');
    assert.equal(f.calls.put, 1);
    await assert.rejects(r.get('missing'), (e) => isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND');
    assert.equal(f.calls.get, 1);
  });

  it('an ifAbsent write stored although its answer was lost counts as ours; another writer’s does not', async () => {
    const f = new Flaky();
    const r = new RetryStorage(f, fast);
    f.plan.put = ['after'];
    assert.equal(await r.put('lock', Buffer.from('mine'), { ifAbsent: true }), true);
    // Someone else's object under the key, then a lost answer: the second attempt finds theirs.
    await f.inner.put('lock2', Buffer.from('theirs'));
    f.plan.put = [transient()];
    assert.equal(await r.put('lock2', Buffer.from('mine'), { ifAbsent: true }), false);
  });

  it('a listing that fails half-way resumes after the last key it yielded, each key once', async () => {
    const f = new Flaky();
    const r = new RetryStorage(f, fast);
    for (let i = 0; i < 10; i++) await f.inner.put(`k/${i}`, Buffer.from('x'));
    f.failListAfter = 4;
    const keys: string[] = [];
    for await (const o of r.list('k/')) keys.push(o.key);
    assert.deepEqual(keys, Array.from({ length: 10 }, (_, i) => `k/${i}`));
    assert.equal(f.calls.list, 2);
  });

  it('small putStream bodies are replayed on failure; a failing source is not retried', async () => {
    const f = new Flaky();
    const r = new RetryStorage(f, { ...fast, replayableStreamBytes: 1024 });
    f.plan.put = [transient()];
    assert.equal(await r.putStream('s', Readable.from([Buffer.from('ab'), Buffer.from('cd')])), true);
    assert.equal((await f.inner.get('s')).toString(), 'abcd');
    // Larger than what is held: sent once, as a stream, with the bytes already read in front.
    const big = Buffer.alloc(5000, 3);
    assert.equal(await r.putStream('big', Readable.from([big.subarray(0, 3000), big.subarray(3000)])), true);
    assert.deepEqual(await f.inner.get('big'), big);
    assert.equal(f.calls.putStream, 1);
    const cut = new Error('source failed');
    const failing = new Readable({ read() { this.destroy(cut); } });
    await assert.rejects(r.putStream('x', failing), (e) => e === cut);
  });

  it('gives up at the deadline with one clear error naming the endpoint and the last failure', async () => {
    const f = new Flaky();
    const r = new RetryStorage(f, { ...fast, deadlineMs: 200, baseDelayMs: 10, maxDelayMs: 20 });
    f.plan.get = Array.from({ length: 1000 }, () => transient());
    await assert.rejects(r.get('a'), (e) => {
      assert.ok(isDbtoolError(e) && e.code === 'STORAGE_IO');
      assert.match(e.oneLine(), /^reading a in test endpoint did not succeed within 0\.2 s \(\d+ attempts; last: connection reset\)\. Check that the endpoint is up/);
      return true;
    });
    assert.ok((f.calls.get ?? 0) > 1, 'retried before giving up');
  });
});
