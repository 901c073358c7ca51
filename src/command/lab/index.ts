// `dbtool lab`: a sandbox that shows the spine working, measured: a throwaway PostgreSQL with
// WAL archiving into a fresh repository, sample rows, a full backup, more changes, then a
// point-in-time restore and a latest restore, each checked by counting rows.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
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
import { listArchive } from '../../repo/archive.js';
import { Repository } from '../../repo/repository.js';
import { PosixStorage } from '../../storage/posix/posix-storage.js';
import { backup } from '../backup/index.js';
import { restore } from '../restore/index.js';
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
}

export interface LabStep {
  step: string;
  ms: number;
  bytes?: number;
  check?: string;
}

export interface LabResult {
  steps: LabStep[];
  summary: string;
  keptDir?: string;
  /** the lab ran in a child process as another user, which printed its own report */
  delegated?: boolean;
}

const BOOKS_DDL = `CREATE TABLE IF NOT EXISTS books (
  id bigserial PRIMARY KEY,
  title text NOT NULL,
  author text NOT NULL,
  published_year int NOT NULL,
  isbn text NOT NULL,
  price numeric(8,2) NOT NULL,
  stock int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now())`;

/** Insert `rows` books in batches of `batch`, generated server-side. */
async function insertBooks(db: PgInstance, rows: number, batch: number): Promise<void> {
  for (let done = 0; done < rows; done += batch) {
    const n = Math.min(batch, rows - done);
    await db.query(
      `INSERT INTO books (title, author, published_year, isbn, price, stock)
       SELECT 'Title ' || md5(random()::text), 'Author ' || (random() * 5000)::int, 1900 + (random() * 125)::int,
              lpad(((random() * 1e12)::bigint)::text, 13, '9'), round((random() * 90 + 5)::numeric, 2), (random() * 300)::int
       FROM generate_series(1, $1::int)`,
      [n],
    );
  }
}

async function count(db: PgInstance): Promise<number> {
  const [r] = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM books');
  return Number(r?.n ?? -1);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const v = await fn();
  return [v, performance.now() - t];
}

/** Re-run the lab as the unprivileged user, from a copy of dbtool that user can read. */
async function relaunchAs(o: LabOptions, argv: string[]): Promise<LabResult> {
  const staged = await stageSelf(o.entry, o.runAs!);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [staged.entry, ...argv], { ...spawnOptionsFor(o.runAs, process.env), cwd: staged.dir, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  await rm(staged.dir, { recursive: true, force: true });
  if (code !== 0) throw dbtoolError('TOOL_FAILED', `the lab, run as ${o.runAs!.name}, failed (exit ${code})`, 'See its message above');
  return { steps: [], summary: '', delegated: true };
}

export async function lab(o: LabOptions): Promise<LabResult> {
  if (o.runAs) {
    const argv = process.argv.slice(2).filter((a, i, all) => a !== '--run-as' && all[i - 1] !== '--run-as');
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
    const repo = await Repository.init(new PosixStorage(repoDir));
    try {
      await db.query(BOOKS_DDL);
      say(`loading ${o.rows} rows in batches of ${o.batchSize}`);
      const [, loadMs] = await timed(() => insertBooks(db, o.rows, o.batchSize));
      steps.push({ step: `load ${o.rows} rows`, ms: loadMs, check: `${await count(db)} rows` });

      const conn = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
      const [m, backupMs] = await timed(() => backup({ repo, source, type: 'full', connection: conn, checkpoint: 'fast', reporter: o.reporter }));
      steps.push({ step: `full backup ${m.label}`, ms: backupMs, bytes: m.bytes.stored, check: `${(m.bytes.database / 1048576).toFixed(0)} MiB database` });

      await insertBooks(db, 5000, o.batchSize);
      const rowsAtPoint = await count(db);
      await sleep(1100);
      const [pointRow] = await db.query<{ t: Date }>('SELECT now() AS t');
      const point = pointRow!.t.toISOString();
      await sleep(1100);
      await insertBooks(db, 2000, o.batchSize);
      const rowsLatest = await count(db);
      const [sw] = await db.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f');
      say(`changed data: ${rowsAtPoint} rows at ${point}, ${rowsLatest} now; waiting for WAL ${sw!.f} to be archived`);
      const deadline = Date.now() + 60_000;
      while (!(await listArchive(repo, source)).some((f) => f.name === sw!.f)) {
        if (Date.now() > deadline) throw dbtoolError('TOOL_FAILED', `WAL ${sw!.f} was not archived within 60 s`, `See the sandbox server log in ${sandbox}`);
        await sleep(200);
      }

      const restoreCommand = `${self} wal-get --repo '${repoDir}' --source ${source} %f "%p"`;
      const doRestore = async (name: string, target: { toTime?: string }) => {
        const rport = await freePort();
        const [r, ms] = await timed(() =>
          restore({
            repo,
            source,
            targetDir: join(sandbox, name),
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
        const handle = openInstance({ dataDir: join(sandbox, name), port: rport });
        servers.push(handle);
        return { r, ms, rows: await count(handle) };
      };

      const pitr = await doRestore('restore-pitr', { toTime: point });
      steps.push({ step: `restore to ${point}`, ms: pitr.ms, bytes: pitr.r.bytes, check: pitr.rows === rowsAtPoint ? `${pitr.rows} rows, as expected` : `${pitr.rows} rows, EXPECTED ${rowsAtPoint}` });
      const latest = await doRestore('restore-latest', {});
      steps.push({ step: 'restore to latest', ms: latest.ms, bytes: latest.r.bytes, check: latest.rows === rowsLatest ? `${latest.rows} rows, as expected` : `${latest.rows} rows, EXPECTED ${rowsLatest}` });
      if (pitr.rows !== rowsAtPoint || latest.rows !== rowsLatest) {
        throw dbtoolError('RECOVERY_FAILED', `the lab's restores did not give the expected rows (point-in-time ${pitr.rows}/${rowsAtPoint}, latest ${latest.rows}/${rowsLatest})`, `Inspect the sandbox with --keep`);
      }
      return {
        steps,
        summary: `full backup of ${o.rows} rows, WAL archived continuously, restored to a point in time and to the latest point; every restore checked by row count.`,
        keptDir: o.keep ? sandbox : undefined,
      };
    } finally {
      await repo.close();
    }
  } finally {
    for (const s of servers.reverse()) await s.stop('immediate').catch(() => undefined);
    if (!o.keep) await rm(sandbox, { recursive: true, force: true });
  }
}
