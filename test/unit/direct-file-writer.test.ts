// DirectFileWriter: objects written O_DIRECT come back byte for byte at their exact length, the
// file is created exclusively, and sizes outside its range are left to the buffered path.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIRECT_MAX, DIRECT_MIN, DirectFileWriter } from '../../src/storage/posix/direct-file-writer.js';

describe('DirectFileWriter', () => {
  it('writes objects of aligned and unaligned lengths exactly, reusing its buffers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-direct-'));
    try {
      const w = new DirectFileWriter();
      const lengths = [DIRECT_MIN, DIRECT_MIN + 1, 1024 * 1024, 1024 * 1024 + 37, 4096 * 300 - 1, 3 * 1024 * 1024 + 5, 200_000];
      for (const [i, n] of lengths.entries()) {
        assert.ok(w.wants(n), `${n} bytes go direct`);
        const data = randomBytes(n);
        const path = join(dir, `o${i}`);
        assert.equal(await w.write(path, data, 0o640), true, 'written direct on this filesystem');
        assert.equal((await stat(path)).size, n, 'the padding is cut off');
        assert.ok((await readFile(path)).equals(data), `object of ${n} bytes reads back`);
        assert.equal((await stat(path)).mode & 0o777, 0o640);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('never replaces an existing file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-direct-'));
    try {
      const path = join(dir, 'taken');
      await writeFile(path, 'first');
      await assert.rejects(new DirectFileWriter().write(path, randomBytes(DIRECT_MIN), 0o640), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
      assert.equal(await readFile(path, 'utf8'), 'first');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('leaves small and very large objects to the page cache', () => {
    const w = new DirectFileWriter();
    assert.equal(w.wants(DIRECT_MIN - 1), false);
    assert.equal(w.wants(0), false);
    assert.equal(w.wants(DIRECT_MAX + 1), false);
    assert.equal(w.wants(DIRECT_MAX), true);
  });
});
