import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatLsn, parseLsn } from '../../src/core/lsn.js';
import type { Lsn } from '../../src/core/lsn.js';
import { isDbtoolError } from '../../src/core/errors.js';
import { parseHistories, parseTarget, planRestore, reachFrom, restorableWindow } from '../../src/command/restore/plan.js';
import type { ArchiveView, BackupPoint } from '../../src/command/restore/plan.js';

const SEG = 16 * 1024 * 1024;
const lsn = (t: string) => parseLsn(t);
const at = (s: string) => new Date(s);

function backupAt(label: string, stop: string, stopTime: string, nextXid?: bigint): BackupPoint {
  const l = lsn(stop);
  return { label, stopLsn: l, stopTime: at(stopTime), timeline: 1, stopSegno: (l - 1n) / BigInt(SEG), stopNextXid: nextXid };
}

function view(segnos: number[], timeline = 1, mtimeBase = '2026-11-21T10:00:00Z'): ArchiveView {
  return {
    segments: segnos.map((s) => ({ timeline, segno: BigInt(s), mtime: new Date(at(mtimeBase).getTime() + s * 10 * 60_000) })),
    histories: new Map(),
    walSegmentSize: SEG,
  };
}

const b1 = backupAt('20261121T100000Z-F', '0/3000100', '2026-11-21T10:00:30Z', 750n);
const b2 = backupAt('20261121T110000Z-F', '0/6000100', '2026-11-21T11:00:30Z', 900n);

describe('parseTarget', () => {
  it('allows one target only', () => {
    assert.throws(() => parseTarget({ toLsn: '0/1', immediate: true }), (e) => isDbtoolError(e) && e.code === 'TARGET_INVALID');
  });
  it('parses each kind and rejects bad values', () => {
    assert.equal(parseTarget({}).kind, 'latest');
    assert.equal(parseTarget({ immediate: true }).kind, 'immediate');
    assert.equal(parseTarget({ toXid: '1234' }).kind, 'xid');
    assert.equal(parseTarget({ toName: 'before-upgrade' }).kind, 'name');
    for (const bad of [{ toXid: 'abc' }, { toXid: '-5' }, { toName: '' }, { toName: 'x'.repeat(64) }, { toLsn: 'nope' }, { toTime: '2026-11-21 10:00' }]) {
      assert.throws(() => parseTarget(bad), (e) => isDbtoolError(e) && e.code === 'TARGET_INVALID', JSON.stringify(bad));
    }
  });
});

describe('planRestore: choosing the backup', () => {
  const v = view([3, 4, 5, 6, 7, 8, 9]);
  it('picks the newest backup that ends before a time target', () => {
    assert.equal(planRestore([b1, b2], v, parseTarget({ toTime: '2026-11-21T10:30:00Z' })).backup.label, b1.label);
    assert.equal(planRestore([b1, b2], v, parseTarget({ toTime: '2026-11-21T11:05:00Z' })).backup.label, b2.label);
  });
  it('picks by LSN and by xid', () => {
    assert.equal(planRestore([b1, b2], v, parseTarget({ toLsn: '0/5000000' })).backup.label, b1.label);
    assert.equal(planRestore([b1, b2], v, parseTarget({ toLsn: '0/6000100' })).backup.label, b2.label);
    assert.equal(planRestore([b1, b2], v, parseTarget({ toXid: '800' })).backup.label, b1.label);
    assert.equal(planRestore([b1, b2], v, parseTarget({ toXid: '950' })).backup.label, b2.label);
  });
  it('picks by the position of a named restore point', () => {
    assert.equal(planRestore([b1, b2], v, parseTarget({ toName: 'x' }), undefined, lsn('0/4000000') as Lsn).backup.label, b1.label);
  });
  it('uses the newest backup for latest and immediate', () => {
    assert.equal(planRestore([b1, b2], v, parseTarget({})).backup.label, b2.label);
    assert.equal(planRestore([b1, b2], v, parseTarget({ immediate: true })).backup.label, b2.label);
  });
  it('refuses targets before the earliest backup', () => {
    const out = (e: unknown) => isDbtoolError(e) && e.code === 'TARGET_OUT_OF_RANGE';
    assert.throws(() => planRestore([b1, b2], v, parseTarget({ toTime: '2026-11-21T09:00:00Z' })), out);
    assert.throws(() => planRestore([b1, b2], v, parseTarget({ toLsn: '0/2000000' })), out);
    assert.throws(() => planRestore([b1, b2], v, parseTarget({ toXid: '700' })), out);
    assert.throws(() => planRestore([b1, b2], v, parseTarget({ toName: 'missing' })), out);
  });
  it('refuses targets after the archive ends', () => {
    const out = (e: unknown) => isDbtoolError(e) && e.code === 'TARGET_OUT_OF_RANGE' && /after the latest archived WAL/.test(e.message);
    assert.throws(() => planRestore([b1, b2], v, parseTarget({ toTime: '2026-11-22T00:00:00Z' })), out);
    assert.throws(() => planRestore([b1, b2], v, parseTarget({ toLsn: '0/F000000' })), out);
  });
  it('checks a backup named with --backup against the target', () => {
    assert.throws(() => planRestore([b1, b2], v, parseTarget({ toLsn: '0/5000000' }), b2.label), (e) => isDbtoolError(e) && e.code === 'TARGET_OUT_OF_RANGE');
    assert.throws(() => planRestore([b1, b2], v, parseTarget({}), '20200101T000000Z-F'), (e) => isDbtoolError(e) && e.code === 'BACKUP_NOT_FOUND');
  });
  it('says there is nothing to restore when there are no backups', () => {
    assert.throws(() => planRestore([], v, parseTarget({})), (e) => isDbtoolError(e) && e.code === 'NO_BACKUP');
  });
});

describe('reach and the restorable window', () => {
  it('stops at the first missing segment and reports the gap', () => {
    const v = view([3, 4, 6, 7]);
    const r = reachFrom(b1, v);
    assert.equal(formatLsn(r.to.lsn), '0/5000000');
    assert.equal(r.gapAfter?.segno, 5n);
    assert.throws(() => planRestore([b1], v, parseTarget({ toLsn: '0/6800000' })), (e) => isDbtoolError(e) && /segment 5 on timeline 1 is missing/.test(e.message));
  });
  it('is the backup itself when nothing is archived after it', () => {
    const w = restorableWindow([b1], view([]))!;
    assert.equal(w.from.lsn, b1.stopLsn);
    assert.equal(w.to.lsn, b1.stopLsn);
  });
  it('follows a timeline switch through the history file', () => {
    const v: ArchiveView = {
      segments: [
        { timeline: 1, segno: 3n, mtime: at('2026-11-21T10:01:00Z') },
        { timeline: 1, segno: 4n, mtime: at('2026-11-21T10:02:00Z') },
        { timeline: 2, segno: 4n, mtime: at('2026-11-21T10:03:00Z') },
        { timeline: 2, segno: 5n, mtime: at('2026-11-21T10:04:00Z') },
      ],
      histories: parseHistories([{ timeline: 2, text: '1\t0/4800000\tno recovery target specified\n' }]),
      walSegmentSize: SEG,
    };
    const r = reachFrom(b1, v);
    assert.equal(formatLsn(r.to.lsn), '0/6000000');
    assert.equal(r.to.timeline, 2);
  });
});
