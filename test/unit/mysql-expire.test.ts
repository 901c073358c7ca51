// Retention and verify for MySQL sources: a kept increment keeps its chain; binlogs before the
// oldest kept backup's binlog file go; a backup whose base is gone is reported.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { binlogsToExpire } from '../../src/command/expire/binlog-plan.js';
import { planExpire } from '../../src/command/expire/plan.js';
import { chainProblems } from '../../src/command/verify/mysql.js';
import type { Manifest } from '../../src/repo/manifest.js';

function my(label: string, type: Manifest['type'], parent: string | null, stopTime: string, binlogFile?: string): Manifest {
  return {
    format: 1, label, source: 's', engine: 'mysql', type, parent, startTime: stopTime, stopTime, chunkSize: 4,
    server: { version: '', versionNum: 0, systemId: '1' }, bytes: { database: 0, read: 0, new: 0, stored: 0 }, files: [],
    mysql: { flavour: 'mariadb', backupType: 'x', fromLsn: '0', toLsn: '1', lastLsn: '1', tool: 'mariadb-backup', ...(binlogFile ? { binlog: { file: binlogFile, position: 4 } } : {}) },
  };
}

const f1 = my('20261101T000000Z-F', 'full', null, '2026-11-01T00:10:00Z', 'binlog.000002');
const i1 = my('20261102T000000Z-I', 'incr', f1.label, '2026-11-02T00:10:00Z', 'binlog.000004');
const i2 = my('20261103T000000Z-I', 'incr', i1.label, '2026-11-03T00:10:00Z', 'binlog.000006');
const f2 = my('20261105T000000Z-F', 'full', null, '2026-11-05T00:10:00Z', 'binlog.000009');

describe('mysql retention', () => {
  it('--keep-days keeps the whole chain of the anchor increment', () => {
    // The anchor (newest backup before the cutoff) is i2: its restore needs i1 and f1.
    const p = planExpire([f1, i1, i2, f2], { keepDays: 2 }, new Date('2026-11-05T12:00:00Z'));
    assert.deepEqual(p.keep, [f1.label, i1.label, i2.label, f2.label]);
    assert.match(p.reasons[f1.label]!.join(';'), /base of kept/);
    const q = planExpire([f1, i1, i2, f2], { keepFull: 1 }, new Date('2026-11-05T12:00:00Z'));
    assert.deepEqual(q.expire, [f1.label, i1.label, i2.label]);
  });

  it('binlogs before the oldest kept backup file go; none without an anchor', () => {
    const logs = [1, 2, 3, 9, 10].map((seq) => ({ name: `binlog.${String(seq).padStart(6, '0')}`, seq }));
    assert.deepEqual(binlogsToExpire(logs, [i1, f2]).map((b) => b.seq), [1, 2, 3]);
    assert.deepEqual(binlogsToExpire(logs, [f2]).map((b) => b.seq), [1, 2, 3]);
    assert.deepEqual(binlogsToExpire(logs, [my('20261106T000000Z-F', 'full', null, '2026-11-06T00:00:00Z')]), []);
  });
});

describe('mysql verify chains', () => {
  it('names backups whose base is missing', () => {
    assert.deepEqual(chainProblems([f1, i1, i2], [f1.label, i1.label, i2.label]), []);
    assert.deepEqual(chainProblems([i2], [i2.label]), [{ label: i2.label, problems: [`its base backup ${i1.label} is missing, so it cannot be restored`] }]);
  });
});
