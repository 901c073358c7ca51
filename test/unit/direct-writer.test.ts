import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DIRECT_ALIGN, DirectWriter } from '../../src/repo/direct-writer.js';

/**
 * A file opened buffered and O_DIRECT, as a restore opens it. Where the filesystem refuses
 * O_DIRECT (tmpfs), the second descriptor is a plain one: the writer's own logic (alignment,
 * buffer reuse, the tail left to the caller) is checked the same, the kernel's part is not.
 */
function openPair(dir: string): { fd: number; direct: number; path: string; isDirect: boolean } {
  const path = join(dir, 'f');
  const fd = openSync(path, 'wx', 0o600);
  try {
    return { fd, direct: openSync(path, constants.O_WRONLY | constants.O_DIRECT), path, isDirect: true };
  } catch {
    return { fd, direct: openSync(path, constants.O_WRONLY), path, isDirect: false };
  }
}

describe('DirectWriter', () => {
  it('writes the aligned part directly and leaves the tail to the caller; the file reads back exact', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dbtool-direct-'));
    try {
      const { fd, direct, path, isDirect } = openPair(dir);
      if (!isDirect) t.diagnostic(`O_DIRECT is refused on ${tmpdir()}: the writer is checked on a buffered descriptor`);
      const w = new DirectWriter();
      const first = randomBytes(1 << 20);
      const second = randomBytes(3 * DIRECT_ALIGN + 100);
      assert.equal(w.alignedLength(0, first.length), first.length);
      const a = w.take(direct, 0, first.length)!;
      a.set(first);
      assert.equal(await w.write(direct, a, 0), first.length);
      w.give(a);
      const aligned = w.alignedLength(1 << 20, second.length);
      assert.equal(aligned, 3 * DIRECT_ALIGN, 'the unaligned tail is left to the caller');
      const b = w.take(direct, 1 << 20, aligned)!;
      assert.equal(b.buffer, a.buffer, 'a buffer given back is taken again');
      b.set(second.subarray(0, aligned));
      assert.equal(await w.write(direct, b, 1 << 20), aligned);
      w.give(b);
      writeSync(fd, second, aligned, second.length - aligned, (1 << 20) + aligned);
      // A misaligned position is declined, not attempted.
      assert.equal(w.alignedLength(100, first.length), 0);
      closeSync(direct);
      closeSync(fd);
      assert.deepEqual(readFileSync(path), Buffer.concat([first, second]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
