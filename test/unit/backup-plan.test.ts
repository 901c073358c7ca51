import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkTimeline, chooseLabel, chooseParent } from '../../src/command/backup/plan.js';
import { isDbtoolError } from '../../src/core/errors.js';
import { parseHistoryFile } from '../../src/core/lsn.js';
import { chainsOf, uniqueBytesPerBackup } from '../../src/command/info/index.js';
import type { Manifest } from '../../src/repo/manifest.js';

describe('chooseLabel', () => {
  it('uses the start second, and moves to the next free second on a clash', () => {
    const now = new Date('2026-11-21T22:10:00.400Z');
    assert.deepEqual(chooseLabel(now, 'full', new Set()), { label: '20261121T221000Z-F', waitMs: 0 });
    const r = chooseLabel(now, 'full', new Set(['20261121T221000Z-F', '20261121T221001Z-F']));
    assert.equal(r.label, '20261121T221002Z-F');
    assert.equal(r.waitMs, 1600);
    // Another kind in the same second still waits for the next one: labels must sort in the order taken.
    assert.deepEqual(chooseLabel(now, 'incr', new Set(['20261121T221000Z-F'])), { label: '20261121T221001Z-I', waitMs: 600 });
    assert.deepEqual(chooseLabel(now, 'diff', new Set(['20261121T221000Z-I', '20261121T215000Z-F'])), { label: '20261121T221001Z-D', waitMs: 600 });
    // Older labels do not hold it back.
    assert.deepEqual(chooseLabel(now, 'incr', new Set(['20261121T215000Z-F'])), { label: '20261121T221000Z-I', waitMs: 0 });
  });

  it('refuses a repository whose newest label is well ahead of the clock', () => {
    const now = new Date('2026-11-21T22:10:00.400Z');
    assert.throws(() => chooseLabel(now, 'full', new Set(['20261121T230000Z-F'])), (e) => isDbtoolError(e) && e.code === 'CLOCK_SKEW');
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

describe('chooseParent', () => {
  const m = (label: string, type: Manifest['type'], chunks: string[]): Manifest => ({
    format: 1, label, source: 's', engine: 'postgres', type, parent: null, startTime: '', stopTime: '', chunkSize: 4,
    server: { version: '', versionNum: 0, systemId: '1' }, bytes: { database: 0, read: 0, new: 0, stored: 0 },
    files: [{ path: 'f', type: 'file', mode: 0o600, size: 4 * chunks.length, mtime: '', chunks }],
    postgres: { startLsn: '0/1000000', stopLsn: '0/2000000', timeline: 1, stopTimeline: 1, startWal: '000000010000000000000001', stopWal: '000000010000000000000001', walSegmentSize: 16777216, tablespaces: [] },
  });
  const id = (c: string) => c.repeat(64);
  const f1 = m('20261121T000000Z-F', 'full', [id('a')]);
  const i1 = m('20261121T010000Z-I', 'incr', [id('a'), id('b')]);
  const all = new Set([id('a'), id('b')]);

  it('diff takes the newest full, incr the newest backup', () => {
    assert.equal(chooseParent('diff', [f1, i1], all).parent?.label, f1.label);
    assert.equal(chooseParent('incr', [f1, i1], all).parent?.label, i1.label);
    assert.equal(chooseParent('full', [f1, i1], all).parent, undefined);
  });
  it('falls back to a full backup, saying why, when there is no parent or it is damaged', () => {
    const none = chooseParent('incr', [], all);
    assert.equal(none.type, 'full');
    assert.match(none.warning ?? '', /no backup to base/);
    const broken = chooseParent('incr', [f1, i1], new Set([id('a')]));
    assert.equal(broken.type, 'full');
    assert.match(broken.warning ?? '', /20261121T010000Z-I is missing 1 chunk/);
  });
  it('refuses a server whose timeline does not continue the parent', () => {
    const hist = new Map([[2, parseHistoryFile('1\t0/3000000\tx\n')]]);
    checkTimeline(f1, 1, new Map());
    checkTimeline(f1, 2, hist);
    assert.throws(() => checkTimeline(f1, 3, hist), (e) => isDbtoolError(e) && /timeline 3/.test(e.message));
    assert.throws(() => checkTimeline(f1, 2, new Map([[2, parseHistoryFile('1\t0/1800000\tx\n')]])), (e) => isDbtoolError(e) && /does not continue/.test(e.message));
  });
});

describe('chainsOf', () => {
  it('groups backups under the full their parents lead to; an orphan starts its own chain', () => {
    const b = (label: string, parent: string | null) => ({ label, parent });
    const chains = chainsOf([b('1-F', null), b('2-I', '1-F'), b('3-D', '1-F'), b('4-I', '3-D'), b('5-F', null), b('6-I', '5-F'), b('7-I', 'gone-F')]);
    assert.deepEqual(chains, [
      { root: '1-F', members: ['2-I', '3-D', '4-I'] },
      { root: '5-F', members: ['6-I'] },
      { root: '7-I', members: [] },
    ]);
  });
});
