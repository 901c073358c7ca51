// The lab's MariaDB half: a throwaway MariaDB (binlog on) in the sandbox, the same sample rows and
// changes as the PostgreSQL half, mariabackup full/diff/incr streamed into the repository, binlogs
// archived, and each restore (the chain applied, started) checked by row count, PITR included.

import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reporter } from '../../core/reporter.js';
import { freePort } from '../../core/free-port.js';
import { findOnPath } from '../../engine/mysql/binaries.js';
import { FLAVOURS } from '../../engine/mysql/flavours.js';
import { startMysqld, stopMysqld } from '../../engine/mysql/instance.js';
import type { MysqldHandle } from '../../engine/mysql/instance.js';
import { MysqlSqlSession } from '../../engine/mysql/sql-session.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { listBinlogs } from '../../repo/binlog-archive.js';
import type { Repository } from '../../repo/repository.js';
import { backupMysql } from '../backup/mysql.js';
import { binlogArchiveOnce } from '../binlog-archive/index.js';
import { restoreMysql } from '../restore/mysql.js';
import type { MysqlTarget } from '../restore/mysql-plan.js';
import { countBooks, sampleData } from '../sample-data/index.js';
import { timed } from './timed.js';
import type { LabCheck, LabStrategy } from './report.js';

const run = promisify(execFile);

export interface MariadbLabOptions {
  sandbox: string;
  repo: Repository;
  rows: number;
  batchSize: number;
  keep: boolean;
  reporter: Reporter;
  /** steps are appended here */
  steps: Array<{ step: string; ms: number; bytes?: number; check?: string }>;
}

/** Whether the lab can run a MariaDB: the server's installer and the backup tool on PATH. */
export function mariadbAvailable(): boolean {
  return findOnPath(FLAVOURS.mariadb.installDb) !== undefined && findOnPath(FLAVOURS.mariadb.backup) !== undefined && findOnPath(FLAVOURS.mariadb.server) !== undefined;
}

/** Rows of `lab.books` on a restored server. */
async function labBooks(conn: MysqlConnectionOptions): Promise<number> {
  const s = await MysqlSqlSession.open({ ...conn, database: 'lab' });
  try {
    return await countBooks(s);
  } finally {
    await s.close();
  }
}

export async function mariadbLab(o: MariadbLabOptions): Promise<LabStrategy[]> {
  const base = join(o.sandbox, 'mariadb');
  const dataDir = join(base, 'data');
  await mkdir(base, { recursive: true });
  const say = (m: string) => o.reporter.info(`lab: mariadb: ${m}`);
  const installDb = findOnPath(FLAVOURS.mariadb.installDb)!;
  // The lab runs unprivileged (it relaunches itself when root): the server runs as this user.
  const [, initMs] = await timed(() => run(installDb, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--innodb-log-file-size=16M'], { cwd: '/' }));
  o.steps.push({ step: 'mariadb-install-db', ms: initMs });
  const socket = join(base, 'mysqld.sock');
  const servers: Array<{ pid: number }> = [];
  let source: MysqldHandle | undefined;
  try {
    source = await startMysqld({
      dataDir,
      port: await freePort(),
      socket,
      pidFile: join(base, 'mysqld.pid'),
      logFile: join(base, 'error.log'),
      runAs: undefined,
      args: ['--innodb-buffer-pool-size=64M', '--innodb-log-file-size=16M', `--log-bin=${join(dataDir, 'binlog')}`, '--server-id=1', '--binlog-format=ROW'],
    });
    const conn: MysqlConnectionOptions = { socket, user: 'root' };
    const admin = await MysqlSqlSession.open(conn);
    await admin.execute('CREATE DATABASE lab').finally(() => admin.close());
    const sql = await MysqlSqlSession.open({ ...conn, database: 'lab' });
    const src = 'lab-mariadb';
    let seed = 1;
    const load = async (rows: number) => {
      const [r, ms] = await timed(() => sampleData({ session: sql, rows, batchSize: o.batchSize, seed: seed++, reporter: o.reporter }));
      o.steps.push({ step: `mariadb: load ${rows} rows`, ms, check: `${r.tableRows} rows in books` });
      return r.tableRows;
    };
    const take = async (type: 'full' | 'diff' | 'incr') => {
      // Whole-second labels: start each backup in a new second so the chain's order is the order taken.
      if (type !== 'full') await sleep(1000 - (Date.now() % 1000) + 20);
      const [m, ms] = await timed(() => backupMysql({ repo: o.repo, source: src, type, connection: conn, reporter: o.reporter }));
      o.steps.push({ step: `mariadb: ${type} backup ${m.label}`, ms, bytes: m.bytes.stored, check: `${(m.bytes.database / 1048576).toFixed(0)} MiB database, ${(m.bytes.new / 1048576).toFixed(1)} MiB new` });
      return { m, ms };
    };
    let rowsFull: number, rowsDiff: number, rowsAtPoint: number, rowsLatest: number;
    let full: Awaited<ReturnType<typeof take>>, diff: Awaited<ReturnType<typeof take>>, incr: Awaited<ReturnType<typeof take>>;
    let point: Date;
    try {
      say(`loading ${o.rows} rows`);
      rowsFull = await load(o.rows);
      full = await take('full');
      rowsDiff = await load(5000);
      diff = await take('diff');
      rowsAtPoint = await load(2000);
      await sleep(1100);
      point = new Date();
      await sleep(1100);
      rowsLatest = await load(1000);
      incr = await take('incr');
    } finally {
      await sql.close();
    }
    const [archived, archiveMs] = await timed(() => binlogArchiveOnce({ repo: o.repo, source: src, connection: conn, reporter: o.reporter }));
    const binlogs = await listBinlogs(o.repo, src);
    const binlogBytes = binlogs.reduce((t, b) => t + b.size, 0);
    o.steps.push({ step: `mariadb: binlog archive (${binlogs.length} files)`, ms: archiveMs, bytes: binlogBytes, check: `${archived.archived.length} archived by this pass` });

    let n = 0;
    const check = async (what: string, label: string | undefined, target: MysqlTarget, expectedRows: number): Promise<LabCheck & { bytes: number }> => {
      const dir = join(base, `restore-${++n}`);
      const port = await freePort();
      const [r, ms] = await timed(() => restoreMysql({ repo: o.repo, source: src, targetDir: dir, label, force: false, target, start: { port }, replayAs: { user: 'root' }, owner: undefined, reporter: o.reporter }));
      if (r.server) servers.push(r.server);
      const rows = r.server ? await labBooks({ socket: r.server.socket, user: 'root' }) : -1;
      if (r.server) {
        await stopMysqld(r.server.pid).catch(() => undefined);
        servers.pop();
      }
      o.steps.push({ step: `mariadb: restore ${what}`, ms, bytes: r.bytes, check: rows === expectedRows ? `${rows} rows, as expected` : `${rows} rows, EXPECTED ${expectedRows}` });
      return { restored: what, expectedRows, rows, ok: rows === expectedRows, ms, bytes: r.bytes };
    };
    const fullCheck = await check(`full ${full.m.label}`, full.m.label, { kind: 'none' }, rowsFull);
    const diffCheck = await check(`diff ${diff.m.label}`, diff.m.label, { kind: 'none' }, rowsDiff);
    const incrCheck = await check(`incr ${incr.m.label}`, incr.m.label, { kind: 'none' }, rowsLatest);
    const pitrCheck = await check(`to ${point.toISOString()}`, undefined, { kind: 'time', time: point, text: point.toISOString() }, rowsAtPoint);
    const strip = ({ bytes: _bytes, ...c }: LabCheck & { bytes: number }): LabCheck => c;
    const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
    return [
      { name: 'MariaDB full', backup: `mariabackup full ${full.m.label}`, backupMs: full.ms, storedBytes: full.m.bytes.stored, databaseBytes: full.m.bytes.database, restoreMs: fullCheck.ms, restoreBytes: fullCheck.bytes, rollback: 'to the moment of each full backup', cost: `reads the whole data directory; stored ${mib(full.m.bytes.stored)}`, checks: [strip(fullCheck)] },
      { name: 'MariaDB differential', backup: `mariabackup diff ${diff.m.label} (parent ${full.m.label})`, backupMs: diff.ms, storedBytes: diff.m.bytes.stored, databaseBytes: diff.m.bytes.database, restoreMs: diffCheck.ms, restoreBytes: diffCheck.bytes, rollback: 'to each differential: full + one delta prepared', cost: `pages changed since the full: ${mib(diff.m.bytes.stored)}`, checks: [strip(diffCheck)] },
      { name: 'MariaDB incremental', backup: `mariabackup incr ${incr.m.label} (parent ${diff.m.label})`, backupMs: incr.ms, storedBytes: incr.m.bytes.stored, databaseBytes: incr.m.bytes.database, restoreMs: incrCheck.ms, restoreBytes: incrCheck.bytes, rollback: 'to each backup of the chain, prepared in order (full → diff → incr)', cost: `pages changed since the newest backup: ${mib(incr.m.bytes.stored)}`, checks: [strip(incrCheck)] },
      { name: 'MariaDB binlog + PITR', backup: `binlog archive (${binlogs.length} files)`, backupMs: archiveMs, storedBytes: binlogBytes, databaseBytes: incr.m.bytes.database, restoreMs: pitrCheck.ms, restoreBytes: pitrCheck.bytes, rollback: 'to any moment the archived binlogs cover', cost: 'binlogs grow with every change; a restore replays them after the chosen backup', checks: [strip(pitrCheck)] },
    ];
  } finally {
    for (const s of servers) await stopMysqld(s.pid).catch(() => undefined);
    await source?.stop().catch(() => undefined);
  }
}
