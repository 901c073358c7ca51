// `dbtool verify --restore-test` for a MySQL source: restore the backup's chain into a scratch
// directory, start it on a free port, CHECK TABLE and read every user table, report, clean up.
// The report has the shape of the PostgreSQL one (`amcheck` holds the CHECK TABLE outcome).

import { readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messageOf } from '../../core/errors.js';
import { freePort } from '../../core/free-port.js';
import type { OsUser } from '../../core/os-user.js';
import type { Reporter } from '../../core/reporter.js';
import { connectMysql } from '../../engine/mysql/connection.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { stopMysqld } from '../../engine/mysql/instance.js';
import type { Repository } from '../../repo/repository.js';
import { restoreMysql } from '../restore/mysql.js';
import type { RestoreTestReport } from './restore-test.js';

export interface MysqlRestoreTestOptions {
  repo: Repository;
  source: string;
  label?: string;
  /** user/password the restored server accepts (the source's own accounts are restored with it) */
  login: Pick<MysqlConnectionOptions, 'user' | 'password'>;
  runAs: OsUser | undefined;
  reporter: Reporter;
}

function quote(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export async function restoreTestMysql(o: MysqlRestoreTestOptions): Promise<RestoreTestReport> {
  const scratch = await mkdtemp(join(tmpdir(), 'dbtool-restore-test-'));
  if (o.runAs) await chown(scratch, o.runAs.uid, o.runAs.gid);
  const dataDir = join(scratch, 'data');
  const report: RestoreTestReport = { ok: false, backup: o.label ?? '', restoreSeconds: 0, amcheck: { ok: false, output: '' }, checker: 'CHECK TABLE', tables: [], totalRows: 0, readSeconds: 0 };
  try {
    const t0 = performance.now();
    const restored = await restoreMysql({ repo: o.repo, source: o.source, targetDir: dataDir, label: o.label, force: false, target: { kind: 'none' }, start: { port: await freePort() }, replayAs: o.login, owner: o.runAs, reporter: o.reporter });
    report.backup = restored.label;
    report.restoreSeconds = (performance.now() - t0) / 1000;
    o.reporter.info(`restore test: CHECK TABLE and a full read of every table of ${restored.label}`);
    const conn = await connectMysql({ socket: restored.server!.socket, ...o.login });
    try {
      const [tables] = await conn.query(
        `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES
          WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema', 'sys') ORDER BY 1, 2`,
      );
      const bad: string[] = [];
      const t1 = performance.now();
      for (const t of tables as Array<{ db: string; name: string }>) {
        const q = `${quote(t.db)}.${quote(t.name)}`;
        const [check] = await conn.query(`CHECK TABLE ${q} EXTENDED`);
        for (const row of check as Array<{ Msg_type: string; Msg_text: string }>) {
          if (row.Msg_type.toLowerCase() === 'error' || (row.Msg_type.toLowerCase() === 'status' && row.Msg_text.toLowerCase() !== 'ok')) bad.push(`${t.db}.${t.name}: ${row.Msg_text}`);
        }
        const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${q}`);
        report.tables.push({ database: t.db, table: t.name, rows: Number((rows as Array<{ n: number }>)[0]?.n ?? 0) });
      }
      report.readSeconds = (performance.now() - t1) / 1000;
      report.amcheck = { ok: bad.length === 0, output: bad.join('\n') };
    } finally {
      await conn.end().catch(() => undefined);
    }
    report.totalRows = report.tables.reduce((n, t) => n + t.rows, 0);
    report.ok = report.amcheck.ok;
    if (!report.ok) report.problem = `CHECK TABLE reported: ${report.amcheck.output.split('\n')[0]}`;
  } catch (e) {
    report.ok = false;
    report.problem = messageOf(e);
  } finally {
    // Also when restore failed half-way with the server already started.
    try {
      await stopMysqld(Number(readFileSync(join(dataDir, 'mysqld.pid'), 'utf8').trim()));
    } catch {
      // not started
    }
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
  return report;
}
