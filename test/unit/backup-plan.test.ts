import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseLabel } from '../../src/command/backup/plan.js';
import { uniqueBytesPerBackup } from '../../src/command/info/index.js';
import type { Manifest } from '../../src/repo/manifest.js';

describe('chooseLabel', () => {
  it('uses the start second, and moves to the next free second on a clash', () => {
    const now = new Date('2026-11-21T22:10:00.400Z');
    assert.deepEqual(chooseLabel(now, 'full', new Set()), { label: '20261121T221000Z-F', waitMs: 0 });
    const r = chooseLabel(now, 'full', new Set(['20261121T221000Z-F', '20261121T221001Z-F']));
    assert.equal(r.label, '20261121T221002Z-F');
    assert.equal(r.waitMs, 1600);
    // A different kind in the same second is a different label.
    assert.equal(chooseLabel(now, 'incr', new Set(['20261121T221000Z-F'])).label, '20261121T221000Z-I');
  });
});

describe('uniqueBytesPerBackup', () => {
  const base = { format: 1, source: 's', engine: 'postgres', type: 'full', parent: null, startTime: '', stopTime: '', chunkSize: 4, server: { version: '', versionNum: 0, systemId: '1' }, bytes: { database: 0, read: 0, new: 0, stored: 0 } } as const;
  const id = (c: string) => c.repeat(64);
  it('counts the bytes of chunks only one backup references', () => {
    const a: Manifest = { ...base, label: '20261121T000000Z-F', files: [{ path: 'f', type: 'file', mode: 0o600, size: 10, mtime: '', chunks: [id('a'), id('b'), id('c')] }] };
    const b: Manifest = { ...base, label: '20261122T000000Z-F', files: [{ path: 'f', type: 'file', mode: 0o600, size: 6, mtime: '', chunks: [id('a'), id('d')] }] };
    const u = uniqueBytesPerBackup([a, b]);
    assert.equal(u.get(a.label), 4 + 2); // b (4 bytes) and c (last chunk, 2 bytes)
    assert.equal(u.get(b.label), 2); // d
  });
});
