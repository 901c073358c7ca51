// followDump against a real writer process (a child that writes files the way pg_dump -Fd does:
// each once, front to back, some slowly): every file is yielded once and complete, a growing one
// is read while it is written, and a failing writer fails the reading with its error.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followDump } from '../../src/engine/postgres/follow-dump.js';

/**
 * A writer like pg_dump -Fd: 'toc.dat' at once, then 'big.dat' in `pieces` writes of 300 000
 * bytes `delayMs` apart (so it grows while it is read) and 'small.dat' meanwhile, then exits
 * with `exitCode`. The bytes of a file are a function of its name and offset.
 */
function writer(dir: string, pieces: number, delayMs: number, exitCode = 0) {
  const script = `
    const fs = require('node:fs');
    const path = require('node:path');
    const bytes = (name, from, n) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) * 7 + name.length & 255));
    fs.writeFileSync(path.join(${JSON.stringify(dir)}, 'toc.dat'), bytes('toc.dat', 0, 5000));
    const fd = fs.openSync(path.join(${JSON.stringify(dir)}, 'big.dat'), 'w');
    let i = 0;
    const step = () => {
      if (i === 2) fs.writeFileSync(path.join(${JSON.stringify(dir)}, 'small.dat'), bytes('small.dat', 0, 1234));
      if (i === ${pieces}) { fs.closeSync(fd); process.exit(${exitCode}); }
      fs.writeSync(fd, bytes('big.dat', i * 300000, 300000));
      i++;
      setTimeout(step, ${delayMs});
    };
    step();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`writer failed (exit ${code})`))));
  });
  exited.catch(() => undefined);
  return { pid: child.pid, exited };
}

function expected(name: string, n: number): string {
  const b = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + name.length) & 255));
  return createHash('sha256').update(b).digest('hex');
}

describe('followDump', () => {
  it('yields every file once and whole, following the growing one while it is written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-follow-'));
    try {
      const w = writer(dir, 20, 15);
      let writerDone = false;
      void w.exited.then(() => (writerDone = true));
      const got = new Map<string, { size?: number; hash: string; length: number; piecesBeforeExit: number }>();
      for await (const f of followDump({ dir, pid: w.pid, exited: w.exited, pollMs: 5, removeRead: true })) {
        assert.ok(!got.has(f.name), `${f.name} is yielded once`);
        const h = createHash('sha256');
        let length = 0;
        let piecesBeforeExit = 0;
        for await (const b of f.data) {
          h.update(b);
          length += b.length;
          if (!writerDone) piecesBeforeExit++;
        }
        got.set(f.name, { size: f.size, hash: h.digest('hex'), length, piecesBeforeExit });
      }
      assert.deepEqual([...got.keys()].sort(), ['big.dat', 'small.dat', 'toc.dat']);
      assert.equal(got.get('big.dat')!.length, 20 * 300_000);
      assert.equal(got.get('big.dat')!.hash, expected('big.dat', 20 * 300_000));
      assert.equal(got.get('big.dat')!.size, undefined, 'it was still being written when it was handed out');
      assert.ok(got.get('big.dat')!.piecesBeforeExit > 0, 'it was read while the writer ran');
      assert.equal(got.get('small.dat')!.hash, expected('small.dat', 1234));
      assert.equal(got.get('toc.dat')!.hash, expected('toc.dat', 5000));
      assert.equal(got.get('toc.dat')!.size, 5000);
      assert.deepEqual(await readdir(dir), [], 'each file was removed once read');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without a process to ask, a file is complete only when the writer has exited', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-follow-'));
    try {
      const w = writer(dir, 8, 10);
      const sizes = new Map<string, number>();
      for await (const f of followDump({ dir, exited: w.exited, pollMs: 5 })) {
        let n = 0;
        for await (const b of f.data) n += b.length;
        sizes.set(f.name, n);
      }
      assert.deepEqual(Object.fromEntries(sizes), { 'big.dat': 8 * 300_000, 'small.dat': 1234, 'toc.dat': 5000 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a writer that fails fails the reading with the writer's error", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-follow-'));
    try {
      const w = writer(dir, 6, 10, 3);
      await assert.rejects(async () => {
        for await (const f of followDump({ dir, pid: w.pid, exited: w.exited, pollMs: 5 })) for await (const _ of f.data) void _;
      }, /writer failed \(exit 3\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
