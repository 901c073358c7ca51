// `dbtool lab`: the seed's four backup strategies made real and measured on a throwaway
// PostgreSQL with WAL archived into a fresh repository: sample rows, then full, differential and
// incremental backups with the seed's changes (5 000, 2 000, 1 000 more rows) between them; every
// strategy is restored to an earlier point and checked by row count; the comparison table is
// printed and written as Markdown, JSON and an SVG chart. A logical dump (pg_dump), restored into a
// scratch database, is the fifth row.

import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError } from '../../core/errors.js';
import { spawnOptionsFor } from '../../core/os-user.js';
import type { OsUser } from '../../core/os-user.js';
import type { Reporter } from '../../core/reporter.js';
import { freePort } from '../../core/free-port.js';
import { initCluster, openInstance, startInstance } from '../../engine/postgres/instance.js';
import type { PgInstance } from '../../engine/postgres/instance.js';
import { PgSqlSession } from '../../engine/postgres/sql-session.js';
import { listArchive } from '../../repo/archive.js';
import { Repository } from '../../repo/repository.js';
import { PosixStorage } from '../../storage/posix/posix-storage.js';
import { backup } from '../backup/index.js';
import { backupLogical } from '../backup/logical.js';
import { PgLogicalDumper, PgLogicalLoader } from '../../engine/postgres/logical.js';
import { restoreLogical } from '../restore/logical.js';
import { restore } from '../restore/index.js';
import type { TargetFlags } from '../restore/plan.js';
import { countBooks, sampleData } from '../sample-data/index.js';
import { timed } from './timed.js';
import { mariadbAvailable, mariadbLab } from './mariadb.js';
import { labMarkdown, labSvg } from './report.js';
import type { LabCheck, LabStrategy } from './report.js';
import { stageSelf } from './stage.js';

export interface LabOptions {
  rows: number;
  batchSize: number;
  keep: boolean;
  /** when set (we are root), the lab re-runs itself as this user */
  runAs: OsUser | undefined;
  reporter: Reporter;
  /** absolute path of the running dbtool entry point (dist/bin.js) */
  entry: string;
  /** absolute directory for dbtool-lab.md, .json and .svg */
  reportDir: string;
}

export interface LabStep {
  step: string;
  ms: number;
  bytes?: number;
  check?: string;
}

export interface LabResult {
  steps: LabStep[];
  strategies: LabStrategy[];
  summary: string;
  /** the report files written */
  files: string[];
  keptDir?: string;
  /** the lab ran in a child process as another user, which printed its own report */
  delegated?: boolean;
}

export const REPORT_FILES = ['dbtool-lab.md', 'dbtool-lab.json', 'dbtool-lab.svg'];

async function count(db: PgInstance): Promise<number> {
  const [r] = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM books');
  return Number(r?.n ?? -1);
}

/** Re-run the lab as the unprivileged user, from a copy of dbtool that user can read; copy its report back. */
async function relaunchAs(o: LabOptions, argv: string[]): Promise<LabResult> {
  const staged = await stageSelf(o.entry, o.runAs!);
  try {
    const childReport = join(staged.dir, 'report');
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [staged.entry, ...argv, '--report-dir', childReport], { ...spawnOptionsFor(o.runAs, { ...process.env, DBTOOL_LAB_CHILD: '1' }), cwd: staged.dir, stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    });
    if (code !== 0) throw dbtoolError('TOOL_FAILED', `the lab, run as ${o.runAs!.name}, failed (exit ${code})`, 'See its message above');
    await mkdir(o.reportDir, { recursive: true });
    const files: string[] = [];
    for (const name of await readdir(childReport)) {
      await copyFile(join(childReport, name), join(o.reportDir, name));
      files.push(join(o.reportDir, name));
    }
    return { steps: [], strategies: [], summary: '', files, delegated: true };
  } finally {
    await rm(staged.dir, { recursive: true, force: true });
  }
}

export async function lab(o: LabOptions): Promise<LabResult> {
  if (o.runAs) {
    const drop = new Set(['--run-as', '--report-dir']);
    const argv = process.argv.slice(2).filter((a, i, all) => !drop.has(a) && !drop.has(all[i - 1] ?? ''));
    return relaunchAs(o, argv);
  }
  const sandbox = await mkdtemp(join(tmpdir(), 'dbtool-lab-'));
  const steps: LabStep[] = [];
  const servers: PgInstance[] = [];
  const say = (m: string) => o.reporter.info(`lab: ${m}`);
  try {
    const repoDir = join(sandbox, 'repo');
    const source = 'lab';
    const self = `'${process.execPath}' '${o.entry}'`;
    const archiveCommand = `${self} wal-push --repo '${repoDir}' --source ${source} %p`;

    say(`sandbox ${sandbox}`);
    const [, initMs] = await timed(() => initCluster({ dataDir: join(sandbox, 'source'), noSync: true }));
    steps.push({ step: 'initdb', ms: initMs });
    const port = await freePort();
    const db = await startInstance({
      dataDir: join(sandbox, 'source'),
      port,
      socketDir: sandbox,
      settings: { wal_level: 'replica', archive_mode: 'on', archive_command: archiveCommand, max_wal_senders: '4', fsync: 'off' },
    });
    servers.push(db);
    const conn = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
    const repo = await Repository.init(new PosixStorage(repoDir));
    const sql = await PgSqlSession.open(conn);
    try {
      let seed = 1;
      const load = async (rows: number) => {
        const [r, ms] = await timed(() => sampleData({ session: sql, rows, batchSize: o.batchSize, seed: seed++, reporter: o.reporter }));
        steps.push({ step: `load ${rows} rows`, ms, check: `${r.tableRows} rows in books` });
        return r.tableRows;
      };
      const take = async (type: 'full' | 'diff' | 'incr') => {
        // Labels have whole seconds, and two in one second sort by kind letter rather than time:
        // start each backup in a new second so the chain's order is the order taken.
        if (type !== 'full') await sleep(1000 - (Date.now() % 1000) + 20);
        const [m, ms] = await timed(() => backup({ repo, source, type, connection: conn, checkpoint: 'fast', reporter: o.reporter }));
        steps.push({ step: `${type} backup ${m.label}`, ms, bytes: m.bytes.stored, check: `${(m.bytes.database / 1048576).toFixed(0)} MiB database, ${(m.bytes.new / 1048576).toFixed(1)} MiB new` });
        return { m, ms };
      };

      say(`loading ${o.rows} rows in batches of ${o.batchSize}`);
      const rowsFull = await load(o.rows);
      const full = await take('full');
      const rowsDiff = await load(5000);
      const diff = await take('diff');
      const rowsAtPoint = await load(2000);
      await sleep(1100);
      const [pointRow] = await db.query<{ t: Date }>('SELECT now() AS t');
      const point = pointRow!.t.toISOString();
      await sleep(1100);
      const rowsLatest = await load(1000);
      const incr = await take('incr');
      const [logical, logicalMs] = await timed(() =>
        backupLogical({ repo, source, engine: 'postgres', dumper: new PgLogicalDumper({ connection: conn, database: 'postgres', jobs: 2, tempParent: sandbox }), reporter: o.reporter }),
      );
      steps.push({ step: `logical backup ${logical.label}`, ms: logicalMs, bytes: logical.bytes.stored, check: `${(logical.bytes.database / 1048576).toFixed(1)} MiB dumped` });

      const [, archiveMs] = await timed(async () => {
        const [sw] = await db.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f');
        say(`waiting for WAL ${sw!.f} to be archived`);
        const deadline = Date.now() + 60_000;
        while (!(await listArchive(repo, source)).some((f) => f.name === sw!.f)) {
          if (Date.now() > deadline) throw dbtoolError('TOOL_FAILED', `WAL ${sw!.f} was not archived within 60 s`, `See the sandbox server log in ${sandbox}`);
          await sleep(100);
        }
      });
      const archive = await listArchive(repo, source);
      const archiveBytes = archive.reduce((n, f) => n + f.size, 0);
      steps.push({ step: `WAL archive (${archive.length} files)`, ms: archiveMs, bytes: archiveBytes, check: 'last segment archived' });

      const restoreCommand = `${self} wal-get --repo '${repoDir}' --source ${source} %f "%p"`;
      let n = 0;
      /** Restore, start, count rows, stop and delete: one checked restore. */
      const check = async (what: string, target: TargetFlags, label: string | undefined, expectedRows: number): Promise<LabCheck & { bytes: number }> => {
        const dir = join(sandbox, `restore-${++n}`);
        const rport = await freePort();
        const [r, ms] = await timed(() =>
          restore({
            repo,
            source,
            targetDir: dir,
            label,
            target,
            action: 'promote',
            force: false,
            archiveMode: 'off',
            tablespaceMap: new Map(),
            restoreCommand,
            start: { port: rport, runAs: undefined },
            owner: undefined,
            reporter: o.reporter,
          }),
        );
        // restore started it and left it running: a handle to count rows and stop it.
        const handle = openInstance({ dataDir: dir, port: rport });
        servers.push(handle);
        const rows = await count(handle);
        await handle.stop('immediate').catch(() => undefined);
        servers.pop();
        if (!o.keep) await rm(dir, { recursive: true, force: true });
        steps.push({ step: `restore ${what}`, ms, bytes: r.bytes, check: rows === expectedRows ? `${rows} rows, as expected` : `${rows} rows, EXPECTED ${expectedRows}` });
        return { restored: what, expectedRows, rows, ok: rows === expectedRows, ms, bytes: r.bytes };
      };

      const fullCheck = await check(`full ${full.m.label}`, { immediate: true }, full.m.label, rowsFull);
      const diffCheck = await check(`diff ${diff.m.label}`, { immediate: true }, diff.m.label, rowsDiff);
      const pitrCheck = await check(`to ${point}`, { toTime: point }, undefined, rowsAtPoint);
      const latestCheck = await check('to the latest point', {}, undefined, rowsLatest);
      const newestCheck = await check(`newest ${incr.m.label}`, { immediate: true }, incr.m.label, rowsLatest);

      // The dump of `postgres`, loaded into a scratch database of the same server and counted there.
      const logicalCheck = await (async (): Promise<LabCheck & { bytes: number }> => {
        const into = 'lab_logical';
        const [r, ms] = await timed(() =>
          restoreLogical({ repo, source, loader: new PgLogicalLoader({ connection: conn, tempParent: sandbox }), intoDatabase: into, fromDatabase: 'postgres', label: logical.label, clean: false, jobs: 2, reporter: o.reporter }),
        );
        const scratch = await PgSqlSession.open({ ...conn, database: into });
        let rows: number;
        try {
          rows = await countBooks(scratch);
        } finally {
          await scratch.close();
        }
        const what = `logical ${logical.label} into database ${into}`;
        steps.push({ step: `restore ${what}`, ms, bytes: r.bytes, check: rows === rowsLatest ? `${rows} rows, as expected` : `${rows} rows, EXPECTED ${rowsLatest}` });
        return { restored: what, expectedRows: rowsLatest, rows, ok: rows === rowsLatest, ms, bytes: r.bytes };
      })();

      const dbBytes = incr.m.bytes.database;
      const pct = (b: number) => `${((b / Math.max(dbBytes, 1)) * 100).toFixed(0)} % of the database`;
      const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
      const strip = ({ bytes: _bytes, ...c }: LabCheck & { bytes: number }): LabCheck => c;
      const strategies: LabStrategy[] = [
        {
          name: 'full (physical)',
          backup: `full backup ${full.m.label}`,
          backupMs: full.ms,
          storedBytes: full.m.bytes.stored,
          databaseBytes: full.m.bytes.database,
          restoreMs: fullCheck.ms,
          restoreBytes: fullCheck.bytes,
          rollback: 'to the moment of each full backup',
          cost: `every full reads the whole database; stored ${mib(full.m.bytes.stored)} (${pct(full.m.bytes.stored)})`,
          checks: [strip(fullCheck)],
        },
        {
          name: 'WAL + PITR',
          backup: `continuous WAL archive (${archive.length} files)`,
          backupMs: archiveMs,
          storedBytes: archiveBytes,
          databaseBytes: dbBytes,
          restoreMs: pitrCheck.ms,
          restoreBytes: pitrCheck.bytes,
          rollback: 'to any moment in the archived window',
          cost: `archive grows with every change: ${mib(archiveBytes)}; a restore replays WAL from the backup before the target`,
          checks: [strip(pitrCheck), strip(latestCheck)],
        },
        {
          name: 'differential',
          backup: `diff backup ${diff.m.label} (parent ${full.m.label})`,
          backupMs: diff.ms,
          storedBytes: diff.m.bytes.stored,
          databaseBytes: diff.m.bytes.database,
          restoreMs: diffCheck.ms,
          restoreBytes: diffCheck.bytes,
          rollback: 'to each differential, in one pass (no chain replay)',
          cost: `stores what changed since the full: ${mib(diff.m.bytes.stored)} (${pct(diff.m.bytes.stored)})`,
          checks: [strip(diffCheck)],
        },
        {
          name: 'reverse delta',
          backup: `incr backup ${incr.m.label} (parent ${diff.m.label})`,
          backupMs: incr.ms,
          storedBytes: incr.m.bytes.stored,
          databaseBytes: incr.m.bytes.database,
          restoreMs: newestCheck.ms,
          restoreBytes: newestCheck.bytes,
          rollback: 'newest in one pass; earlier states step by step (newest → diff → full)',
          cost: `the newest backup is complete; each older one costs only its own chunks: ${mib(incr.m.bytes.stored)} (${pct(incr.m.bytes.stored)}) for the newest`,
          checks: [strip(newestCheck), strip(diffCheck), strip(fullCheck)],
        },
        {
          name: 'full (logical)',
          backup: `logical backup ${logical.label} (pg_dump of postgres)`,
          backupMs: logicalMs,
          storedBytes: logical.bytes.stored,
          databaseBytes: logical.bytes.database,
          restoreMs: logicalCheck.ms,
          restoreBytes: logicalCheck.bytes,
          rollback: 'to the moment of each dump; one database at a time, into any database or server version',
          cost: `a dump reads every row and a load rebuilds indexes; stored ${mib(logical.bytes.stored)} (dump ${mib(logical.bytes.database)})`,
          checks: [strip(logicalCheck)],
        },
      ];
      // The same steps on a throwaway MariaDB, when its server, installer and backup tool are here.
      const withMariadb = mariadbAvailable();
      if (withMariadb) {
        say('MariaDB: the same rows and changes, mariabackup full/diff/incr and binlog PITR');
        strategies.push(...(await mariadbLab({ sandbox, repo, rows: o.rows, batchSize: o.batchSize, keep: o.keep, reporter: o.reporter, steps })));
      }
      const failed = strategies.flatMap((s) => s.checks).filter((c) => !c.ok);
      const summary = `${o.rows} sample rows, then +5000, +2000, +1000 as the seed does; PostgreSQL ${full.m.server.version}${withMariadb ? ' and MariaDB' : ''}; every restore checked by row count${failed.length ? `: ${failed.length} FAILED` : ', all as expected'}.`;
      const files = await writeReport(o.reportDir, strategies, steps, summary);
      if (failed.length > 0) {
        throw dbtoolError('RECOVERY_FAILED', `the lab's restores did not give the expected rows (${failed.map((c) => `${c.restored}: ${c.rows}/${c.expectedRows}`).join(', ')})`, `Inspect the sandbox with --keep; the report is in ${o.reportDir}`);
      }
      return { steps, strategies, summary, files, keptDir: o.keep ? sandbox : undefined };
    } finally {
      await sql.close();
      await repo.close();
    }
  } finally {
    for (const s of servers.reverse()) await s.stop('immediate').catch(() => undefined);
    if (!o.keep) await rm(sandbox, { recursive: true, force: true });
  }
}

async function writeReport(dir: string, strategies: LabStrategy[], steps: LabStep[], summary: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const [md, json, svg] = REPORT_FILES.map((f) => join(dir, f)) as [string, string, string];
  await writeFile(md, labMarkdown(strategies, summary));
  await writeFile(json, `${JSON.stringify({ summary, strategies, steps }, null, 2)}\n`);
  await writeFile(svg, labSvg(strategies));
  return [md, json, svg];
}

