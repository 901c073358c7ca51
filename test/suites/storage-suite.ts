// The one storage conformance suite every driver passes (posix, memory, s3): the contract
// the repository layer relies on, tested the same way for each backend.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { isDbtoolError } from '../../src/core/errors.js';
import type { Storage } from '../../src/storage/storage.js';

export interface SuiteTarget {
  storage: Storage;
  cleanup(): Promise<void>;
}

const notFound = (e: unknown) => isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of r) parts.push(Buffer.from(p as Uint8Array));
  return Buffer.concat(parts);
}

/** The keys list() gives; a driver with listKeys() must give the same ones, in the same order. */
async function keysOf(s: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of s.list(prefix)) out.push(o.key);
  if (s.listKeys) {
    const only: string[] = [];
    for await (const k of s.listKeys(prefix)) only.push(k);
    assert.deepEqual(only, out, `listKeys('${prefix}') gives what list gives`);
  }
  return out;
}

const MiB = 1024 * 1024;

/** A stream that sends `bytes` and then fails with `error`, as a cut connection or a killed reader would. */
function failingStream(bytes: number, error: Error): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(bytes));
      } else this.destroy(error);
    },
  });
}

/** `data` in 64 KiB pieces, one per macrotask turn, so concurrent writers overlap. */
function trickle(data: Buffer, piece = 64 * 1024): Readable {
  let at = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (at >= data.length) this.push(null);
        else this.push(data.subarray(at, (at += piece)));
      });
    },
  });
}

export function storageConformanceSuite(name: string, make: () => Promise<SuiteTarget>): void {
  describe(`storage conformance: ${name}`, () => {
    let t: SuiteTarget;
    let s: Storage;
    before(async () => {
      t = await make();
      s = t.storage;
    });
    after(async () => {
      await s.close();
      await t.cleanup();
    });

    it('put/get round-trips binary and empty objects', async () => {
      const data = randomBytes(70_000);
      assert.equal(await s.put('rt/a', data), true);
      assert.deepEqual(await s.get('rt/a'), data);
      await s.put('rt/empty', Buffer.alloc(0));
      assert.equal((await s.get('rt/empty')).length, 0);
    });

    it('putStream/getStream carry a large object intact', async () => {
      const data = randomBytes(20 * 1024 * 1024);
      const parts = [];
      for (let i = 0; i < data.length; i += 1_000_000) parts.push(data.subarray(i, i + 1_000_000));
      assert.equal(await s.putStream('large/obj', Readable.from(parts)), true);
      assert.equal(sha(await readAll(await s.getStream('large/obj'))), sha(data));
      assert.equal((await s.stat('large/obj'))?.size, data.length);
    });

    it('stat gives size and a recent mtime, undefined when missing', async () => {
      await s.put('st/x', Buffer.from('12345'));
      const info = await s.stat('st/x');
      assert.equal(info?.key, 'st/x');
      assert.equal(info?.size, 5);
      assert.ok(info!.mtime instanceof Date && Math.abs(info!.mtime.getTime() - Date.now()) < 60_000);
      assert.equal(await s.stat('st/missing'), undefined);
    });

    it('get/getStream of a missing key fail with STORAGE_NOT_FOUND', async () => {
      await assert.rejects(s.get('nope/x'), notFound);
      await assert.rejects(async () => readAll(await s.getStream('nope/x')), notFound);
    });

    it('list: by prefix, any depth, sorted, each once, including a non-directory prefix', async () => {
      for (const k of ['ls/ab/1', 'ls/ab/2', 'ls/ac/1', 'ls/b', 'ls/abc', 'lsx/1']) await s.put(k, Buffer.from(k));
      assert.deepEqual(await keysOf(s, 'ls/'), ['ls/ab/1', 'ls/ab/2', 'ls/abc', 'ls/ac/1', 'ls/b']);
      assert.deepEqual(await keysOf(s, 'ls/a'), ['ls/ab/1', 'ls/ab/2', 'ls/abc', 'ls/ac/1']);
      assert.deepEqual(await keysOf(s, 'ls/ab/'), ['ls/ab/1', 'ls/ab/2']);
      assert.deepEqual(await keysOf(s, 'none/'), []);
      const sizes = [];
      for await (const o of s.list('ls/b')) sizes.push(o.size);
      assert.deepEqual(sizes, [4]);
    });

    it('list pages through many keys under one prefix', async () => {
      const keys = Array.from({ length: 1200 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => s.put(k, Buffer.from('x'))));
      const listed = await keysOf(s, 'many/');
      assert.equal(listed.length, 1200);
      assert.deepEqual(listed, keys);
      // A prefix that is no "directory", across a page boundary: many/01100 … many/01199.
      assert.deepEqual(await keysOf(s, 'many/011'), keys.slice(1100, 1200));
    });

    it('delete removes; deleting a missing key is fine', async () => {
      await s.put('del/x', Buffer.from('x'));
      await s.delete('del/x');
      assert.equal(await s.stat('del/x'), undefined);
      await s.delete('del/x');
      await s.delete('del/never');
      assert.deepEqual(await keysOf(s, 'del/'), []);
    });

    it('ifAbsent: the second put returns false and keeps the first content', async () => {
      assert.equal(await s.put('once/x', Buffer.from('first'), { ifAbsent: true }), true);
      assert.equal(await s.put('once/x', Buffer.from('second'), { ifAbsent: true }), false);
      assert.equal((await s.get('once/x')).toString(), 'first');
      assert.equal(await s.putStream('once/x', Readable.from([Buffer.from('third')]), { ifAbsent: true }), false);
      assert.equal((await s.get('once/x')).toString(), 'first');
    });

    it('ifAbsent + interchangeable: the object stays one whole version, whatever the answer', async () => {
      const a = Buffer.alloc(100_000, 1);
      const b = Buffer.alloc(100_000, 2);
      assert.equal(await s.put('inter/x', a, { ifAbsent: true, interchangeable: true }), true);
      const again = await s.put('inter/x', b, { ifAbsent: true, interchangeable: true });
      const got = await s.get('inter/x');
      assert.ok(got.equals(a) || got.equals(b), 'one whole version');
      if (s.capabilities.atomicIfAbsent) {
        assert.equal(again, false);
        assert.ok(got.equals(a), 'the first one stays');
      }
      assert.deepEqual(await keysOf(s, 'inter/'), ['inter/x']);
    });

    it('concurrent ifAbsent writers of one key: exactly one wins, content is whole', async () => {
      // Where ifAbsent is check-then-write (S3), the layers above only race on write-once objects
      // whose racers carry identical bytes (content-addressed chunks); test that contract there.
      const atomic = s.capabilities.atomicIfAbsent;
      const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(300_000, atomic ? i + 1 : 7));
      const results = await Promise.all(versions.map((v) => s.put('race/x', v, { ifAbsent: true })));
      if (atomic) assert.equal(results.filter(Boolean).length, 1);
      else assert.ok(results.some(Boolean), 'at least one writer stored it');
      const got = await s.get('race/x');
      assert.ok(versions.some((v) => v.equals(got)), 'one complete version');
      assert.deepEqual(await keysOf(s, 'race/'), ['race/x']);
    });

    it('concurrent writers of different keys are all visible', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(`conc/${i}`, Buffer.from(String(i)))));
      assert.equal((await keysOf(s, 'conc/')).length, 50);
    });

    it('concurrent putStream writers, some large enough for multipart, are all stored whole', async () => {
      const bodies = [randomBytes(12 * MiB), randomBytes(100_000), randomBytes(10 * MiB), Buffer.alloc(0)];
      const results = await Promise.all(bodies.map((b, i) => s.putStream(`cstream/${i}`, trickle(b))));
      assert.ok(results.every(Boolean));
      for (const [i, b] of bodies.entries()) {
        assert.equal(sha(await readAll(await s.getStream(`cstream/${i}`))), sha(b), `cstream/${i}`);
        assert.equal((await s.stat(`cstream/${i}`))?.size, b.length);
      }
      assert.deepEqual(await keysOf(s, 'cstream/'), ['cstream/0', 'cstream/1', 'cstream/2', 'cstream/3']);
    });

    it('a put without ifAbsent replaces the object whole', async () => {
      await s.put('over/x', Buffer.alloc(100_000, 1));
      await s.put('over/x', Buffer.alloc(50_000, 2));
      assert.deepEqual(await s.get('over/x'), Buffer.alloc(50_000, 2));
    });

    it('an interrupted write leaves nothing half-visible', async () => {
      const cut = new Error('source failed half-way');
      // The source's own error reaches the caller, as itself or as the cause of the driver's error.
      const isCut = (e: unknown) => e === cut || (e instanceof Error && e.cause === cut);
      await assert.rejects(s.putStream('cut/x', failingStream(MiB, cut)), isCut);
      assert.equal(await s.stat('cut/x'), undefined);
      assert.deepEqual(await keysOf(s, 'cut/'), []);
      await assert.rejects(s.get('cut/x'), notFound);
      // Large enough that parts were sent (S3 multipart) before the source failed.
      await assert.rejects(s.putStream('cut/big', failingStream(20 * MiB, cut)), isCut);
      assert.equal(await s.stat('cut/big'), undefined);
      // A failed ifAbsent write does not claim the key.
      await assert.rejects(s.putStream('cut/z', failingStream(MiB, cut), { ifAbsent: true }), isCut);
      assert.equal(await s.put('cut/z', Buffer.from('z'), { ifAbsent: true }), true);
      // A failed overwrite keeps the old version.
      await s.put('cut/y', Buffer.from('old'));
      await assert.rejects(s.putStream('cut/y', failingStream(MiB, cut)), isCut);
      assert.equal((await s.get('cut/y')).toString(), 'old');
      assert.deepEqual(await keysOf(s, 'cut/'), ['cut/y', 'cut/z']);
    });

    it('putStream of an empty stream stores an empty object', async () => {
      assert.equal(await s.putStream('empty/x', Readable.from([])), true);
      assert.equal((await s.stat('empty/x'))?.size, 0);
      assert.equal((await readAll(await s.getStream('empty/x'))).length, 0);
    });

    it('invalid keys are refused', async () => {
      for (const bad of ['', '/abs', 'a/../b', 'a//b', 'a\\b', './a']) {
        await assert.rejects(s.put(bad, Buffer.from('x')), (e) => isDbtoolError(e), JSON.stringify(bad));
      }
    });
  });
}
