// Suite `wal`: WAL through dbtool one call per segment, as PostgreSQL makes the calls, plain and
// with --async. Per round, into a fresh repository: a full backup; then archiving fails on purpose
// (archive_command = false) while a load writes BENCH_WAL_SEGMENTS segments of real WAL (rows of
// hashes, not switched-away empty files); then archive_command is set to `wal-push` (or `wal-push
// --async`) and the wall time until nothing is left ready is measured (archiving); then
// `restore --start` to the end of the archive, whose recovery fetches every one of those segments
// through restore_command (`wal-get --async` by default, `--no-prefetch`: plain `wal-get`).

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dbtoolCommand, makeTempDir, stageDbtool, startCluster } from '../../test/harness/pg-cluster.js';
import type { TestCluster } from '../../test/harness/pg-cluster.js';
import { alternate, log, mdTable, median, round, runAs, settle, timed } from '../lib.js';
import type { Step, SuiteResult } from '../lib.js';
import { BENCH_CLUSTER_SETTINGS, libpqEnv } from '../pgbench-cluster.js';
import { freePort } from '../../src/core/free-port.js';
import { openInstance } from '../../src/engine/postgres/instance.js';

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
  const recovery: Record<string, number[]> = { sync: [], async: [] };
  const reset = () => {
    for (const xs of [...Object.values(perSecond), ...Object.values(recovery)]) xs.length = 0;
  };
  const drain = (mode: 'sync' | 'async') => async (n: number) => {
    const repo = join(work, `repo-${mode}-${n}`);
    const spool = join(work, `spool-${mode}-${n}`);
    const dbtool = (args: string[]) => timed([process.execPath, bin, '--quiet', '--repo', repo, ...args], env);
    await dbtool(['repo', 'init']);
    await setArchiveCommand(db, `${dbtoolCommand(bin)} --repo ${repo} wal-push %p`);
    await dbtool(['backup', '--type', 'full']);
    await setArchiveCommand(db, 'false');
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
    const target = join(work, `restored-${mode}-${n}`);
    const port = await freePort();
    await settle();
    const r = await dbtool(['restore', '--target-dir', target, '--start', '--port', String(port), '--archive-mode', 'off', ...(mode === 'sync' ? ['--no-prefetch'] : [])]);
    recovery[mode]!.push(r.seconds);
    log(`wal: ${mode} restore --start to the end of the archive: ${round(r.seconds)} s`);
    await openInstance({ dataDir: target, port }).stop('immediate');
    await rm(target, { recursive: true, force: true });
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
    restoreSeconds: { plain: round(median(recovery.sync!)), prefetch: round(median(recovery.async!)) },
    restoreRuns: { plain: recovery.sync!.map((x) => round(x)), prefetch: recovery.async!.map((x) => round(x)) },
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
    `\n\nrestore --start to the end of the archive (recovery fetches every segment): ${json.restoreSeconds.plain} s with --no-prefetch, ${json.restoreSeconds.prefetch} s with wal-get --async\n`;
  return { json, md };
}
