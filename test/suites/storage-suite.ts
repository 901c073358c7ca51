// The one storage conformance suite every driver passes (posix, memory, later s3): the contract
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

async function keysOf(s: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of s.list(prefix)) out.push(o.key);
  return out;
}

/** A stream that sends `bytes` and then fails, as a cut connection or a killed reader would. */
function failingStream(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(randomBytes(bytes));
      } else this.destroy(new Error('source failed half-way'));
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

    it('concurrent ifAbsent writers of one key: exactly one wins, content is whole', async () => {
      const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(300_000, i + 1));
      const results = await Promise.all(versions.map((v) => s.put('race/x', v, { ifAbsent: true })));
      assert.equal(results.filter(Boolean).length, s.capabilities.atomicIfAbsent ? 1 : results.filter(Boolean).length);
      const got = await s.get('race/x');
      assert.ok(versions.some((v) => v.equals(got)), 'one complete version');
    });

    it('concurrent writers of different keys are all visible', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.put(`conc/${i}`, Buffer.from(String(i)))));
      assert.equal((await keysOf(s, 'conc/')).length, 50);
    });

    it('a put without ifAbsent replaces the object whole', async () => {
      await s.put('over/x', Buffer.alloc(100_000, 1));
      await s.put('over/x', Buffer.alloc(50_000, 2));
      assert.deepEqual(await s.get('over/x'), Buffer.alloc(50_000, 2));
    });

    it('an interrupted write leaves nothing half-visible', async () => {
      await assert.rejects(s.putStream('cut/x', failingStream(1024 * 1024)));
      assert.equal(await s.stat('cut/x'), undefined);
      assert.deepEqual(await keysOf(s, 'cut/'), []);
      await assert.rejects(s.get('cut/x'), notFound);
      // A failed overwrite keeps the old version.
      await s.put('cut/y', Buffer.from('old'));
      await assert.rejects(s.putStream('cut/y', failingStream(1024 * 1024)));
      assert.equal((await s.get('cut/y')).toString(), 'old');
    });

    it('invalid keys are refused', async () => {
      for (const bad of ['', '/abs', 'a/../b', 'a//b', 'a\\b', './a']) {
        await assert.rejects(s.put(bad, Buffer.from('x')), (e) => isDbtoolError(e), JSON.stringify(bad));
      }
    });
  });
}
