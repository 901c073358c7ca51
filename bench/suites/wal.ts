// Suite `wal`: how fast the archiver drains a backlog of WAL segments through `dbtool wal-push`,
// one call per segment as PostgreSQL makes them, plain and with --async. Per round: archiving
// fails on purpose (archive_command = false) while a load writes BENCH_WAL_SEGMENTS segments of
// real WAL (pgbench-like rows, not switched-away empty files); then archive_command is set to
// dbtool (a fresh repository) and the wall time until nothing is left ready is measured.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dbtoolCommand, makeTempDir, stageDbtool, startCluster } from '../../test/harness/pg-cluster.js';
import type { TestCluster } from '../../test/harness/pg-cluster.js';
import { alternate, log, mdTable, median, round, runAs, settle, timed } from '../lib.js';
import type { Step, SuiteResult } from '../lib.js';
import { BENCH_CLUSTER_SETTINGS, libpqEnv } from '../pgbench-cluster.js';

const SEGMENTS = Number(process.env.BENCH_WAL_SEGMENTS ?? 48);
const SEGMENT_MB = 16;

async function readyCount(db: TestCluster): Promise<number> {
  const [r] = await db.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_ls_archive_statusdir() WHERE name ~ '^[0-9A-F]{24}[.]ready$'");
  return Number(r!.n);
}

async function setArchiveCommand(db: TestCluster, command: string): Promise<void> {
  await db.query(`ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
  await db.query('SELECT pg_reload_conf()');
}

/** Write WAL until `count` more segments are ready (archiving fails meanwhile, so they stay). */
async function backlog(db: TestCluster, count: number): Promise<void> {
  const target = (await readyCount(db)) + count;
  await db.query('CREATE TABLE IF NOT EXISTS wal_load (id bigint, payload text)');
  while ((await readyCount(db)) < target) {
    await db.query("INSERT INTO wal_load SELECT g, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 100000) g");
    await db.query('TRUNCATE wal_load');
  }
}

export async function walSuite(): Promise<SuiteResult> {
  const bin = await stageDbtool();
  const db = await startCluster({ archiveCommand: 'false', settings: { ...BENCH_CLUSTER_SETTINGS, max_wal_size: '8GB', checkpoint_timeout: '30min' } });
  const env = libpqEnv(db);
  const work = await makeTempDir('dbtool-bench-wal-', runAs);
  const perSecond: Record<string, number[]> = { sync: [], async: [] };
  const reset = () => {
    for (const xs of Object.values(perSecond)) xs.length = 0;
  };
  const drain = (mode: 'sync' | 'async') => async (n: number) => {
    const repo = join(work, `repo-${mode}-${n}`);
    const spool = join(work, `spool-${mode}-${n}`);
    await timed([process.execPath, bin, '--quiet', '--repo', repo, 'repo', 'init'], env);
    await backlog(db, SEGMENTS);
    const ready = await readyCount(db);
    await settle();
    const started = performance.now();
    await setArchiveCommand(db, `${dbtoolCommand(bin)} --repo ${repo} wal-push ${mode === 'async' ? `--async --spool ${spool} ` : ''}%p`);
    while ((await readyCount(db)) > 0) await new Promise((r) => setTimeout(r, 50));
    const seconds = (performance.now() - started) / 1000;
    await setArchiveCommand(db, 'false');
    perSecond[mode]!.push(ready / seconds);
    log(`wal: ${mode} drained ${ready} segments in ${round(seconds)} s`);
    await rm(repo, { recursive: true, force: true });
    await rm(spool, { recursive: true, force: true });
  };
  try {
    const steps: Step[] = [
      ['wal-push', drain('sync')],
      ['wal-push --async', drain('async')],
    ];
    await alternate('wal', steps, reset);
  } finally {
    await db.destroy();
    await rm(work, { recursive: true, force: true });
  }
  const sync = round(median(perSecond.sync!), 1);
  const asyncRate = round(median(perSecond.async!), 1);
  const json = {
    segments: SEGMENTS,
    segmentsPerSecond: { sync, async: asyncRate },
    mbPerSecond: { sync: round(sync * SEGMENT_MB, 0), async: round(asyncRate * SEGMENT_MB, 0) },
    runs: { sync: perSecond.sync!.map((x) => round(x, 1)), async: perSecond.async!.map((x) => round(x, 1)) },
    asyncVsSync: round(asyncRate / sync),
    target: null,
    pass: null,
  };
  log(`wal: ${JSON.stringify(json)}`);
  const md =
    `a backlog of ${SEGMENTS} WAL segments drained by the archiver, median of ${perSecond.sync!.length}\n\n` +
    mdTable(
      ['archive_command', 'segments/s', 'MB/s of WAL'],
      [
        ['dbtool wal-push %p', sync, json.mbPerSecond.sync],
        ['dbtool wal-push --async --spool DIR %p', asyncRate, json.mbPerSecond.async],
      ],
    ) +
    '\n';
  return { json, md };
}
