// `dbtool verify --restore-test`: prove a backup by restoring it. Restore into a scratch directory,
// start it on a free port with archiving off (safe next to production), run pg_amcheck on every
// database, read every table in full, report, and clean up.

import { spawn } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dbtoolError, messageOf } from '../../core/errors.js';
import { freePort } from '../../core/free-port.js';
import { spawnOptionsFor } from '../../core/os-user.js';
import type { OsUser } from '../../core/os-user.js';
import type { Reporter } from '../../core/reporter.js';
import { pgBin } from '../../engine/postgres/binaries.js';
import { openInstance, stopInstance } from '../../engine/postgres/instance.js';
import type { PgInstance } from '../../engine/postgres/instance.js';
import type { Repository } from '../../repo/repository.js';
import { restore } from '../restore/index.js';

export interface RestoreTestOptions {
  repo: Repository;
  source: string;
  label?: string;
  restoreCommand: string;
  runAs: OsUser | undefined;
  reporter: Reporter;
  /** where the scratch directory is made (default: the system temp dir) */
  scratchParent?: string;
}

export interface RestoreTestReport {
  ok: boolean;
  backup: string;
  restoreSeconds: number;
  amcheck: { ok: boolean; output: string };
  /** the checker `amcheck` reports on (default pg_amcheck; MySQL: CHECK TABLE) */
  checker?: string;
  tables: Array<{ database: string; table: string; rows: number }>;
  totalRows: number;
  readSeconds: number;
  problem?: string;
}

function runAmcheck(instance: PgInstance, runAs: OsUser | undefined): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const args = ['--all', '--install-missing', '--heapallindexed', '-h', instance.socketDir, '-p', String(instance.port), '-U', 'postgres'];
    const child = spawn(pgBin('pg_amcheck'), args, { ...spawnOptionsFor(runAs), cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ok: code === 0 && output.trim() === '', output: output.trim() }));
  });
}

async function readEveryTable(instance: PgInstance): Promise<Array<{ database: string; table: string; rows: number }>> {
  const out: Array<{ database: string; table: string; rows: number }> = [];
  const dbs = await instance.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname');
  for (const { datname } of dbs) {
    const tables = await instance.query<{ t: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`,
      [],
      datname,
    );
    for (const { t } of tables) {
      // count(*) over the whole heap, and a text cast of every row so TOAST is read too.
      const [r] = await instance.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t} x WHERE length(x::text) >= 0`, [], datname);
      out.push({ database: datname, table: t, rows: Number(r?.n ?? 0) });
    }
  }
  return out;
}

export async function restoreTest(o: RestoreTestOptions): Promise<RestoreTestReport> {
  const scratch = await mkdtemp(join(o.scratchParent ?? tmpdir(), 'dbtool-restore-test-'));
  if (o.runAs) await chown(scratch, o.runAs.uid, o.runAs.gid);
  const port = await freePort();
  const dataDir = join(scratch, 'data');
  let instance: PgInstance | undefined;
  const report: RestoreTestReport = { ok: false, backup: o.label ?? '', restoreSeconds: 0, amcheck: { ok: false, output: '' }, tables: [], totalRows: 0, readSeconds: 0 };
  try {
    const t0 = performance.now();
    const restored = await restore({
      repo: o.repo,
      source: o.source,
      targetDir: dataDir,
      label: o.label,
      target: { immediate: true },
      action: 'promote',
      force: false,
      archiveMode: 'off',
      tablespaceMap: new Map(),
      tablespaceDir: join(scratch, 'tablespaces'),
      restoreCommand: o.restoreCommand,
      start: { port, runAs: o.runAs },
      owner: o.runAs,
      reporter: o.reporter,
    });
    report.backup = restored.label;
    report.restoreSeconds = (performance.now() - t0) / 1000;
    instance = openInstance({ dataDir, port, runAs: o.runAs });

    o.reporter.info(`restore test: pg_amcheck on every database of ${restored.label}`);
    report.amcheck = await runAmcheck(instance, o.runAs);
    const t1 = performance.now();
    report.tables = await readEveryTable(instance);
    report.readSeconds = (performance.now() - t1) / 1000;
    report.totalRows = report.tables.reduce((n, t) => n + t.rows, 0);
    report.ok = report.amcheck.ok;
    if (!report.ok) report.problem = `pg_amcheck reported: ${report.amcheck.output.split('\n')[0]}`;
  } catch (e) {
    report.ok = false;
    report.problem = messageOf(e);
  } finally {
    // Also when restore failed half-way with the server already started.
    await stopInstance(dataDir, o.runAs, 'immediate').catch(() => undefined);
    await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
  return report;
}

export function restoreTestFailure(r: RestoreTestReport): Error {
  return dbtoolError('VERIFY_FAILED', `the restore test of backup ${r.backup || '(latest)'} failed: ${r.problem ?? 'unknown'}`, 'Do not rely on this backup; run `dbtool verify` and take a new full backup');
}
