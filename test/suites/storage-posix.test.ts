// The storage conformance suite on the posix driver, plus a real crash: a writer SIGKILLed
// mid-object leaves nothing visible.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDbtoolError } from '../../src/core/errors.js';
import { PosixStorage } from '../../src/storage/posix/posix-storage.js';
import { storageConformanceSuite } from './storage-suite.js';

storageConformanceSuite('posix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dbtool-posix-'));
  return { storage: new PosixStorage(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('posix storage under SIGKILL', () => {
  it('a writer killed mid-object leaves no visible object', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-posix-kill-'));
    try {
      const script = fileURLToPath(new URL('./fixtures/slow-put.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir, 'big/object'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('writing') && resolve());
        child.on('exit', () => reject(new Error('child exited before writing')));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const leftovers = await readdir(join(dir, 'big'));
      assert.ok(leftovers.length >= 1 && leftovers.every((f) => f.startsWith('.tmp-')), `only a temp file is left: ${leftovers.join(', ')}`);
      const s = new PosixStorage(dir);
      const listed = [];
      for await (const o of s.list('')) listed.push(o.key);
      assert.deepEqual(listed, []);
      await assert.rejects(s.get('big/object'), (e) => isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
