import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DIRECT_ALIGN, DirectWriter } from '../../src/repo/direct-writer.js';

/** A file opened buffered and O_DIRECT, as a restore opens it; undefined where O_DIRECT is refused. */
function openPair(dir: string): { fd: number; direct: number | undefined; path: string } {
  const path = join(dir, 'f');
  const fd = openSync(path, 'wx', 0o600);
  let direct: number | undefined;
  try {
    direct = openSync(path, constants.O_WRONLY | constants.O_DIRECT);
  } catch {
    direct = undefined;
  }
  return { fd, direct, path };
}

describe('DirectWriter', () => {
  it('writes the aligned part directly and leaves the tail to the caller; the file reads back exact', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'dbtool-direct-'));
    try {
      const { fd, direct, path } = openPair(dir);
      if (direct === undefined) {
        t.skip(`O_DIRECT is not supported on ${tmpdir()}`);
        return;
      }
      const w = new DirectWriter();
      const first = randomBytes(1 << 20);
      const second = randomBytes(3 * DIRECT_ALIGN + 100);
      assert.equal(w.write(direct, first, 0), first.length);
      const done = w.write(direct, second, 1 << 20);
      assert.equal(done, 3 * DIRECT_ALIGN, 'the unaligned tail is not written directly');
      writeSync(fd, second, done, second.length - done, (1 << 20) + done);
      // A misaligned position is declined, not attempted.
      assert.equal(w.write(direct, first, 100), 0);
      closeSync(direct);
      closeSync(fd);
      assert.deepEqual(readFileSync(path), Buffer.concat([first, second]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
