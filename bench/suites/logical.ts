// Suite `logical` (issue 4, PostgreSQL part): `dbtool backup --type logical --jobs 2` into a fresh
// repository vs `pg_dump -Fd -j 2` into a directory (target: dbtool ≤ 1.1× pg_dump), and
// `restore --into-database --jobs 2` vs `pg_restore -j 2` into a new database (for information);
// `pg_dump -Fd -j 2 -Z0` (what dbtool runs under the hood) is timed too. Alternating, medians.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pgBin } from '../../src/engine/postgres/binaries.js';
import { makeTempDir, stageDbtool } from '../../test/harness/pg-cluster.js';
import { alternate, du, log, mb, mdTable, median, round, runAs, timed } from '../lib.js';
import type { Step, SuiteResult } from '../lib.js';
import { pgbenchCluster } from '../pgbench-cluster.js';

const TARGET = 1.1;
const JOBS = '2';

interface Figures {
  backup: number[];
  restore: number[];
  rss: number[];
  stored: number;
}

export async function logicalSuite(): Promise<SuiteResult> {
  const { db, env } = await pgbenchCluster();
  // The dumped database alone (the cluster's figure would count the template databases too).
  const [size] = await db.query<{ b: string }>("SELECT pg_database_size('postgres')::text AS b");
  const dbBytes = Number(size!.b);
  const bin = await stageDbtool();
  const work = await makeTempDir('dbtool-bench-logical-', runAs);
  const conn = ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres'];
  const dropDb = (name: string) => db.query(`DROP DATABASE IF EXISTS ${name}`);
  const names = ['dbtool', 'pg_dump -Fd -j 2', 'pg_dump -Fd -j 2 -Z0'];
  const figs: Record<string, Figures> = {};
  const reset = () => {
    for (const n of names) figs[n] = { backup: [], restore: [], rss: [], stored: 0 };
  };
  reset();
  try {
    const steps: Step[] = [
      [
        'dbtool',
        async (n) => {
          const repo = join(work, `repo-${n}`);
          const dbtool = (args: string[]) => timed([process.execPath, bin, '--quiet', '--repo', repo, ...args], env);
          try {
            await dbtool(['repo', 'init']);
            const b = await dbtool(['backup', '--type', 'logical', '--database', 'postgres', '--jobs', JOBS]);
            const r = await dbtool(['restore', '--into-database', 'bench_restore_dbtool', '--from-database', 'postgres', '--jobs', JOBS]);
            const f = figs.dbtool!;
            f.backup.push(b.seconds);
            f.restore.push(r.seconds);
            f.rss.push(b.rssMb, r.rssMb);
            f.stored = await du(join(repo, 'chunks'));
          } finally {
            await dropDb('bench_restore_dbtool');
            await rm(repo, { recursive: true, force: true });
          }
        },
      ],
      [
        'pg_dump -Fd -j 2',
        async (n) => {
          const out = join(work, `dump-${n}`);
          try {
            const b = await timed([pgBin('pg_dump'), ...conn, '-Fd', '-j', JOBS, '-f', out, 'postgres']);
            await db.query('CREATE DATABASE bench_restore_pg TEMPLATE template0');
            const r = await timed([pgBin('pg_restore'), ...conn, '-j', JOBS, '--exit-on-error', '-d', 'bench_restore_pg', out]);
            const f = figs['pg_dump -Fd -j 2']!;
            f.backup.push(b.seconds);
            f.restore.push(r.seconds);
            f.rss.push(b.rssMb, r.rssMb);
            f.stored = await du(out);
          } finally {
            await dropDb('bench_restore_pg');
            await rm(out, { recursive: true, force: true });
          }
        },
      ],
      [
        'pg_dump -Fd -j 2 -Z0',
        async (n) => {
          const out = join(work, `dump0-${n}`);
          try {
            const b = await timed([pgBin('pg_dump'), ...conn, '-Fd', '-j', JOBS, '-Z0', '-f', out, 'postgres']);
            const f = figs['pg_dump -Fd -j 2 -Z0']!;
            f.backup.push(b.seconds);
            f.rss.push(b.rssMb);
            f.stored = await du(out);
          } finally {
            await rm(out, { recursive: true, force: true });
          }
        },
      ],
    ];
    await alternate('logical', steps, reset);
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const tools: Record<string, Record<string, number | number[] | null>> = {};
  for (const n of names) {
    const f = figs[n]!;
    tools[n] = {
      backupSeconds: round(median(f.backup)),
      restoreSeconds: f.restore.length ? round(median(f.restore)) : null,
      storedMB: mb(f.stored),
      peakRssMB: round(Math.max(0, ...f.rss), 0),
      backupRuns: f.backup.map((x) => round(x)),
      restoreRuns: f.restore.map((x) => round(x)),
    };
  }
  const ratio = (a: number[], b: number[]) => round(median(a) / median(b));
  const backupRatio = ratio(figs.dbtool!.backup, figs['pg_dump -Fd -j 2']!.backup);
  const restoreRatio = ratio(figs.dbtool!.restore, figs['pg_dump -Fd -j 2']!.restore);
  const json = {
    databaseMB: round(dbBytes / 1e6, 0),
    runs: figs.dbtool!.backup.length,
    jobs: Number(JOBS),
    tools,
    ratios: { backupVsPgDump: backupRatio, restoreVsPgRestore: restoreRatio, backupVsPgDumpZ0: ratio(figs.dbtool!.backup, figs['pg_dump -Fd -j 2 -Z0']!.backup) },
    target: `dbtool backup --type logical ≤ ${TARGET}× pg_dump -Fd -j 2`,
    pass: backupRatio <= TARGET,
  };
  log(`logical: backup vs pg_dump ${backupRatio}, restore vs pg_restore ${restoreRatio}`);
  const md =
    `pgbench database \`postgres\` (${json.databaseMB} MB), jobs ${JOBS}, median of ${json.runs}; restore = into a new database\n\n` +
    mdTable(
      ['tool', 'backup s', 'restore s', 'stored MB', 'peak RSS MB'],
      Object.entries(tools).map(([n, t]) => [n, ...(['backupSeconds', 'restoreSeconds', 'storedMB', 'peakRssMB'] as const).map((k) => (typeof t[k] === 'number' ? t[k] : null))]),
    ) +
    `\n\ndbtool/pg_dump backup: ${backupRatio} (target ≤ ${TARGET}: ${json.pass ? 'met' : 'NOT met'}); dbtool/pg_restore restore: ${restoreRatio} (for information)\n`;
  return { json, md };
}
