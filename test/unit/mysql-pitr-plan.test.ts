// The MySQL PITR plan: the newest backup at or before the target, contiguous archived binlogs from
// its coordinates that reach the target; the restorable window and the binlog summary.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mysqlRestorableWindow, parseBinlogPosition, parseGtidList, planMysqlPitr, summariseBinlogs } from '../../src/command/restore/mysql-plan.js';
import type { BinlogView } from '../../src/command/restore/mysql-plan.js';
import type { Manifest } from '../../src/repo/manifest.js';

const backup = (label: string, stopTime: string, file: string | undefined, position = 0) =>
  ({ label, type: 'full', parent: null, stopTime, mysql: file ? { binlog: { file, position } } : {} }) as unknown as Manifest;
const log = (seq: number, lastTime: string, size = 1000): BinlogView & { firstTime: Date } => ({
  name: `binlog.${String(seq).padStart(6, '0')}`,
  seq,
  size,
  firstTime: new Date(new Date(lastTime).getTime() - 60_000),
  lastTime: new Date(lastTime),
});
const time = (iso: string) => ({ kind: 'time' as const, time: new Date(iso), text: iso });

describe('mysql PITR plan', () => {
  const b1 = backup('20261124T100000Z-F', '2026-11-24T10:00:00Z', 'binlog.000001', 500);
  const b2 = backup('20261124T120000Z-F', '2026-11-24T12:00:00Z', 'binlog.000003', 200);
  const logs = [log(1, '2026-11-24T10:30:00Z'), log(2, '2026-11-24T11:30:00Z'), log(3, '2026-11-24T12:30:00Z'), log(4, '2026-11-24T13:30:00Z')];

  it('takes the newest backup before a time and the binlogs from its file to the one reaching it', () => {
    const p = planMysqlPitr([b1, b2], logs, time('2026-11-24T13:00:00Z'), undefined, 'main');
    assert.equal(p.backup, b2);
    assert.deepEqual(p.files.map((f) => f.seq), [3, 4]);
    assert.equal(p.startPosition, 200);
    const q = planMysqlPitr([b1, b2], logs, time('2026-11-24T11:00:00Z'), undefined, 'main');
    assert.equal(q.backup, b1);
    assert.deepEqual(q.files.map((f) => f.seq), [1, 2]);
  });

  it('plans a position target up to its file', () => {
    const p = planMysqlPitr([b1, b2], logs, { kind: 'position', point: parseBinlogPosition('binlog.000002:300'), text: 'binlog.000002:300' }, undefined, 'main');
    assert.equal(p.backup, b1);
    assert.deepEqual(p.files.map((f) => f.seq), [1, 2]);
    assert.deepEqual(p.stop, { kind: 'position', position: 300 });
  });

  it('refuses targets before the earliest backup, after the archive, across a gap, or after a backup without binlogs', () => {
    assert.throws(() => planMysqlPitr([b1, b2], logs, time('2026-11-24T09:00:00Z'), undefined, 'main'), /before the earliest backup 20261124T100000Z-F/);
    assert.throws(() => planMysqlPitr([b1, b2], logs, time('2026-11-24T14:00:00Z'), undefined, 'main'), /after the archived binlogs, which end at 2026-11-24T13:30:00.000Z/);
    assert.throws(() => planMysqlPitr([b1], [logs[0]!, logs[2]!], time('2026-11-24T12:00:00Z'), undefined, 'main'), /after the archived binlogs/);
    assert.throws(() => planMysqlPitr([b1, b2], logs, { kind: 'position', point: parseBinlogPosition('binlog.000004:5000'), text: 'x' }, undefined, 'main'), /after the archived binlogs/);
    const nolog = backup('20261124T100000Z-F', '2026-11-24T10:00:00Z', undefined);
    assert.throws(() => planMysqlPitr([nolog], logs, time('2026-11-24T11:00:00Z'), undefined, 'main'), /no binlog coordinates/);
    assert.throws(() => parseBinlogPosition('binlog:1'), /not a binlog position/);
  });

  it('plans a GTID target: the backup not past it, the files until one holds it', () => {
    const g1 = { ...b1, mysql: { binlog: { file: 'binlog.000001', position: 500, gtid: '0-1-10' } } } as unknown as Manifest;
    const g2 = { ...b2, mysql: { binlog: { file: 'binlog.000003', position: 200, gtid: '0-1-30' } } } as unknown as Manifest;
    const glogs = logs.map((l, i) => ({ ...l, lastGtids: `0-1-${(i + 1) * 10 + 5}` }));
    const gtid = (text: string) => ({ kind: 'gtid' as const, gtids: parseGtidList(text), text });
    const p = planMysqlPitr([g1, g2], glogs, gtid('0-1-22'), undefined, 'main');
    assert.equal(p.backup, g1);
    assert.deepEqual(p.files.map((f) => f.seq), [1, 2]);
    assert.deepEqual(p.stop, { kind: 'gtid', gtid: '0-1-22' });
    assert.equal(planMysqlPitr([g1, g2], glogs, gtid('0-1-31'), undefined, 'main').backup, g2);
    assert.throws(() => planMysqlPitr([g1, g2], glogs, gtid('0-1-5'), undefined, 'main'), /before the earliest backup .* is at GTID 0-1-10/);
    assert.throws(() => planMysqlPitr([g1, g2], glogs, gtid('0-1-99'), undefined, 'main'), /target GTID 0-1-99 is after the archived binlogs/);
    assert.throws(() => parseGtidList('0-1'), /not a GTID/);
    assert.throws(() => parseGtidList('0-1-2,0-1-3'), /domain 0 twice/);
  });

  it('reports the window and the range with gaps', () => {
    assert.deepEqual(mysqlRestorableWindow([b1, b2], logs), { from: '2026-11-24T10:00:00Z', to: '2026-11-24T13:30:00.000Z' });
    assert.deepEqual(mysqlRestorableWindow([b1, b2], [logs[0]!]), { from: '2026-11-24T10:00:00Z', to: '2026-11-24T12:00:00Z' });
    const s = summariseBinlogs([logs[0]!, logs[2]!]);
    assert.deepEqual(s?.gaps, ['after binlog.000001, before binlog.000003']);
    assert.equal(summariseBinlogs([]), undefined);
  });
});
