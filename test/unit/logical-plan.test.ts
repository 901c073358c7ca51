// Pure decisions of logical backups: which backup and database a restore loads, which flags go
// together, the manifest, retention of logical backups, and the libpq environment of the tools.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLogicalManifest } from '../../src/command/backup/plan.js';
import { planExpire } from '../../src/command/expire/plan.js';
import { planLogicalRestore, restoreMode } from '../../src/command/restore/plan.js';
import type { LogicalCandidate } from '../../src/command/restore/plan.js';
import { manifestProblems } from '../../src/command/verify/plan.js';
import { resolveSettings } from '../../src/config/settings.js';
import { isDbtoolError } from '../../src/core/errors.js';
import { databaseDir } from '../../src/engine/logical.js';
import { dbnameConninfo, libpqEnv, stderrSummary } from '../../src/engine/postgres/logical.js';
import { manifestSchema } from '../../src/repo/manifest.js';
import type { Manifest } from '../../src/repo/manifest.js';

const code = (c: string, pattern?: RegExp) => (e: unknown) => isDbtoolError(e) && e.code === c && (!pattern || pattern.test(e.message));

describe('planLogicalRestore', () => {
  const backups: LogicalCandidate[] = [
    { label: '20261101T000000Z-L', type: 'logical', databases: ['app'] },
    { label: '20261102T000000Z-F', type: 'full' },
    { label: '20261103T000000Z-L', type: 'logical', databases: ['app', 'postgres', 'shop'] },
    { label: '20261104T000000Z-I', type: 'incr' },
  ];

  it('takes the newest logical backup, and the database of the same name', () => {
    assert.deepEqual(planLogicalRestore(backups, 'shop'), { label: '20261103T000000Z-L', fromDatabase: 'shop' });
  });
  it('--from-database picks another database of the backup', () => {
    assert.deepEqual(planLogicalRestore(backups, 'shop_copy', undefined, 'shop'), { label: '20261103T000000Z-L', fromDatabase: 'shop' });
  });
  it('a backup of one database needs no --from-database', () => {
    assert.deepEqual(planLogicalRestore(backups, 'anything', '20261101T000000Z-L'), { label: '20261101T000000Z-L', fromDatabase: 'app' });
  });
  it('refuses a physical backup, an unknown label, an unknown or ambiguous database', () => {
    assert.throws(() => planLogicalRestore(backups, 'x', '20261102T000000Z-F'), code('USAGE', /physical \(full\) backup/));
    assert.throws(() => planLogicalRestore(backups, 'x', '20261105T000000Z-L'), code('BACKUP_NOT_FOUND'));
    assert.throws(() => planLogicalRestore(backups, 'x', undefined, 'nope'), code('DATABASE_NOT_FOUND', /no database 'nope'/));
    assert.throws(() => planLogicalRestore(backups, 'x'), code('USAGE', /holds 3 databases/));
  });
  it('no logical backup at all', () => {
    assert.throws(() => planLogicalRestore([backups[1]!], 'x'), code('NO_BACKUP', /no logical backup/));
  });
});

describe('restoreMode', () => {
  it('--into-database is logical, --target-dir physical', () => {
    assert.equal(restoreMode({ intoDatabase: 'app', clean: true, jobs: 4, fromDatabase: 'a' }), 'logical');
    assert.equal(restoreMode({ targetDir: '/x', toLsn: '0/1' }), 'physical');
  });
  it('refuses mixtures and neither', () => {
    assert.throws(() => restoreMode({ intoDatabase: 'app', targetDir: '/x' }), code('USAGE', /--target-dir cannot be used with --into-database/));
    assert.throws(() => restoreMode({ intoDatabase: 'app', immediate: true, physicalOnly: ['--start'] }), code('USAGE', /--immediate, --start cannot/));
    assert.throws(() => restoreMode({ targetDir: '/x', jobs: 2 }), code('USAGE', /--jobs need\(s\) --into-database/));
    assert.throws(() => restoreMode({ targetDir: '/x', owner: false, clean: true }), code('USAGE', /--clean, --no-owner need\(s\) --into-database/));
    assert.throws(() => restoreMode({}), code('USAGE', /--target-dir DIR/));
    assert.throws(() => restoreMode({ intoDatabase: '' }), code('USAGE', /empty/));
  });
});

function logical(label: string, stopTime: string, dbs = ['app']): Manifest {
  return buildLogicalManifest({
    label,
    source: 's',
    engine: 'postgres',
    startTime: new Date(stopTime),
    stopTime: new Date(stopTime),
    dump: { serverVersion: '15.1', serverVersionNum: 150001, systemId: '7', databases: dbs, tool: 'pg_dump (PostgreSQL) 15.1' },
    files: [{ path: 'globals.sql', type: 'file', mode: 0o600, size: 3, mtime: stopTime, chunks: ['a'.repeat(64)] }],
    stats: { read: 3, new: 3, stored: 3, newChunks: 1 },
    chunkSize: 4,
  });
}

function physical(label: string, type: Manifest['type'], parent: string | null, stopTime: string): Manifest {
  return {
    format: 1, label, source: 's', engine: 'postgres', type, parent, startTime: stopTime, stopTime, chunkSize: 4,
    server: { version: '', versionNum: 0, systemId: '7' }, bytes: { database: 0, read: 0, new: 0, stored: 0 }, files: [],
    postgres: { startLsn: '0/0', stopLsn: '0/0', timeline: 1, stopTimeline: 1, startWal: '000000010000000000000002', stopWal: '000000010000000000000002', walSegmentSize: 16777216, tablespaces: [] },
  };
}

describe('buildLogicalManifest', () => {
  it('is a valid, consistent manifest with no parent and no WAL positions', () => {
    const m = logical('20261101T000000Z-L', '2026-11-01T00:10:00Z', ['app', 'shop']);
    assert.equal(manifestSchema.safeParse(m).success, true);
    assert.deepEqual(manifestProblems(m), []);
    assert.equal(m.type, 'logical');
    assert.equal(m.parent, null);
    assert.equal(m.postgres, undefined);
    assert.deepEqual(m.logical, { tool: 'pg_dump (PostgreSQL) 15.1', databases: ['app', 'shop'] });
    assert.equal(m.bytes.database, 3);
  });
  it('verify flags a logical manifest without its logical section', () => {
    const m = logical('20261101T000000Z-L', '2026-11-01T00:10:00Z');
    delete m.logical;
    assert.match(manifestProblems(m).join(), /without its dump tool/);
  });
});

describe('planExpire with logical backups', () => {
  const f1 = physical('20261101T000000Z-F', 'full', null, '2026-11-01T00:10:00Z');
  const l1 = logical('20261101T120000Z-L', '2026-11-01T12:10:00Z');
  const f2 = physical('20261102T000000Z-F', 'full', null, '2026-11-02T00:10:00Z');
  const l2 = logical('20261103T000000Z-L', '2026-11-03T00:10:00Z');
  const i1 = physical('20261104T000000Z-I', 'incr', f2.label, '2026-11-04T00:10:00Z');
  const l3 = logical('20261105T000000Z-L', '2026-11-05T00:10:00Z');
  const all = [f1, l1, f2, l2, i1, l3];
  const now = new Date('2026-11-06T12:00:00Z');

  it('--keep-full rules physical backups only and keeps every logical one', () => {
    const p = planExpire(all, { keepFull: 1 }, now);
    assert.deepEqual(p.expire, [f1.label]);
    assert.match(p.reasons[l1.label]!.join(), /expired by --keep-logical or --keep-days only/);
  });
  it('--keep-logical rules logical backups only and keeps every physical one', () => {
    const p = planExpire(all, { keepLogical: 1 }, now);
    assert.deepEqual(p.expire, [l1.label, l2.label]);
    assert.deepEqual(p.keep, [f1.label, f2.label, i1.label, l3.label]);
  });
  it('both together', () => {
    assert.deepEqual(planExpire(all, { keepFull: 1, keepLogical: 2 }, now).expire, [f1.label, l1.label]);
  });
  it('--keep-days treats each series on its own, from the newest backup at or before the cutoff', () => {
    // cutoff 2026-11-03T12:00: physical anchor f2 (i1 is after); logical anchor l2.
    assert.deepEqual(planExpire(all, { keepDays: 3 }, now).expire, [f1.label, l1.label]);
  });
  it('a logical backup is never the newest backup that keeps the physical series alive', () => {
    const p = planExpire([f1, f2, l3], { keepDays: 0 }, now);
    assert.deepEqual(p.keep, [f2.label, l3.label]);
  });
  it('keepLogical comes from the config file too, and must be at least 1 there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-cfg-'));
    try {
      await writeFile(join(dir, 'ok.yaml'), 'keepFull: 2\nkeepLogical: 3\n');
      assert.deepEqual(resolveSettings({ config: 'ok.yaml' }, {}, dir).retention, { keepFull: 2, keepDiff: undefined, keepDays: undefined, keepLogical: 3 });
      await writeFile(join(dir, 'bad.yaml'), 'keepLogical: 0\n');
      assert.throws(() => resolveSettings({ config: 'bad.yaml' }, {}, dir), code('CONFIG_INVALID', /keepLogical/));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('--keep-logical must be at least 1', () => {
    assert.throws(() => planExpire(all, { keepLogical: 0 }, now), code('USAGE', /keepLogical must be at least 1/));
  });
});

describe('paths and connection of the dump tools', () => {
  it('databaseDir keeps any database name inside databases/', () => {
    assert.equal(databaseDir('app'), 'databases/app/');
    assert.equal(databaseDir('a/b c'), 'databases/a%2Fb%20c/');
    assert.equal(databaseDir('..'), 'databases/%2E%2E/');
    assert.equal(databaseDir('.'), 'databases/%2E/');
    assert.equal(databaseDir('a.b'), 'databases/a.b/');
  });
  it('dbnameConninfo quotes names that libpq would otherwise parse', () => {
    assert.equal(dbnameConninfo('app'), "dbname='app'");
    assert.equal(dbnameConninfo("x=1 host=evil o'k\\"), "dbname='x=1 host=evil o\\'k\\\\'");
  });
  it('stderrSummary keeps the first error (the cause) and the last line', () => {
    const parallel = 'pg_dump: warning: x\npg_dump: error: could not open large object 1: ERROR:  permission denied\npg_dump: error: could not write: Broken pipe\npg_dump: error: a worker process died unexpectedly\n';
    assert.equal(stderrSummary(parallel), 'pg_dump: error: could not open large object 1: ERROR: permission denied / pg_dump: error: a worker process died unexpectedly');
    assert.equal(stderrSummary('pg_restore: error: only one\n'), 'pg_restore: error: only one');
    assert.equal(stderrSummary('a\nb\nc\n'), 'b / c');
    assert.equal(stderrSummary(''), '');
  });
  it('libpqEnv sets where and as whom, replaces ours, and keeps other PG settings', () => {
    const env = libpqEnv({ host: 'h', port: 5433, user: 'u', password: 'secret' }, { PATH: '/bin', PGHOST: 'other', PGDATABASE: 'd', PGSSLMODE: 'require' });
    assert.deepEqual(env, { PATH: '/bin', PGSSLMODE: 'require', PGHOST: 'h', PGPORT: '5433', PGUSER: 'u', PGPASSWORD: 'secret', PGAPPNAME: 'dbtool' });
  });
});
