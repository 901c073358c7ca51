import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDbtoolError } from '../../src/core/errors.js';
import { parseWalFileName } from '../../src/core/lsn.js';
import { archiveToExpire, planExpire, unreferencedChunks } from '../../src/command/expire/plan.js';
import type { Manifest } from '../../src/repo/manifest.js';

const id = (c: string) => c.repeat(64);
function m(label: string, type: Manifest['type'], parent: string | null, startWal: string, stopTime: string, chunks: string[] = []): Manifest {
  return {
    format: 1, label, source: 's', engine: 'postgres', type, parent, startTime: stopTime, stopTime, chunkSize: 4,
    server: { version: '', versionNum: 0, systemId: '1' }, bytes: { database: 0, read: 0, new: 0, stored: 0 },
    files: [{ path: 'f', type: 'file', mode: 0o600, size: 4 * chunks.length, mtime: '', chunks }],
    postgres: { startLsn: '0/0', stopLsn: '0/0', timeline: Number.parseInt(startWal.slice(0, 8), 16), stopTimeline: 1, startWal, stopWal: startWal, walSegmentSize: 16777216, tablespaces: [] },
  };
}

const f1 = m('20261101T000000Z-F', 'full', null, '000000010000000000000002', '2026-11-01T00:10:00Z', [id('a'), id('b')]);
const i1 = m('20261102T000000Z-I', 'incr', f1.label, '000000010000000000000005', '2026-11-02T00:10:00Z', [id('a'), id('c')]);
const d1 = m('20261103T000000Z-D', 'diff', f1.label, '000000010000000000000008', '2026-11-03T00:10:00Z', [id('a'), id('d')]);
const i2 = m('20261104T000000Z-I', 'incr', d1.label, '00000001000000000000000A', '2026-11-04T00:10:00Z', [id('e')]);
const f2 = m('20261105T000000Z-F', 'full', null, '00000001000000000000000C', '2026-11-05T00:10:00Z', [id('a'), id('f')]);
const i3 = m('20261106T000000Z-I', 'incr', f2.label, '00000002000000000000000E', '2026-11-06T00:10:00Z', [id('f'), id('g')]);
const all = [f1, i1, d1, i2, f2, i3];
const now = new Date('2026-11-06T12:00:00Z');

describe('planExpire', () => {
  it('--keep-full 1 keeps the newest full and what is based on it', () => {
    const p = planExpire(all, { keepFull: 1 }, now);
    assert.deepEqual(p.keep, [f2.label, i3.label]);
    assert.deepEqual(p.expire, [f1.label, i1.label, d1.label, i2.label]);
  });
  it('--keep-full 2 keeps everything here', () => {
    assert.deepEqual(planExpire(all, { keepFull: 2 }, now).expire, []);
  });
  it('--keep-diff 1 removes nothing a kept full needs and keeps the diff chain', () => {
    const p = planExpire(all, { keepDiff: 1 }, now);
    assert.deepEqual(p.expire, [i1.label]);
  });
  it('--keep-days keeps the backup a restore to the cutoff starts from, and all after it', () => {
    // cutoff 2026-11-03T12:00: the newest backup ending before it is d1.
    const p = planExpire(all, { keepDays: 3 }, now);
    assert.deepEqual(p.keep, [d1.label, i2.label, f2.label, i3.label]);
  });
  it('always keeps the newest backup, and combines rules as a union', () => {
    assert.deepEqual(planExpire(all, { keepDays: 0 }, now).keep, [i3.label]);
    assert.deepEqual(planExpire(all, { keepFull: 1, keepDays: 3 }, now).expire, [f1.label, i1.label]);
  });
  it('needs a policy and sane numbers', () => {
    assert.throws(() => planExpire(all, {}, now), (e) => isDbtoolError(e) && /no retention policy/.test(e.message));
    assert.throws(() => planExpire(all, { keepFull: 0 }, now), (e) => isDbtoolError(e) && /at least 1/.test(e.message));
  });
});

describe('archiveToExpire', () => {
  const files = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000002.00000028.backup', '00000002.history', '00000001000000000000000C', '00000002000000000000000B', '00000002000000000000000E'].map((n) => parseWalFileName(n));
  it('removes WAL older than the oldest kept backup, on its timeline and older ones, never history', () => {
    const gone = archiveToExpire(files, [f2, i3]).map((f) => f.name);
    assert.deepEqual(gone, ['000000010000000000000001', '000000010000000000000002', '000000010000000000000002.00000028.backup']);
    assert.deepEqual(archiveToExpire(files, []), [], 'nothing kept: nothing decided');
  });
});

describe('unreferencedChunks', () => {
  it('lists present chunks no kept manifest references', () => {
    const present = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map(id);
    assert.deepEqual(unreferencedChunks(present, [f2, i3]), ['b', 'c', 'd', 'e', 'h'].map(id));
  });
});
