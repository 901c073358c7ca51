// npm run bench: dbtool against pg_basebackup and pgBackRest on the same throw-away cluster, in
// the same run, alternating tools, medians of BENCH_RUNS. Prints one JSON line; writes JSON and
// Markdown to bench/results/. Knobs: BENCH_SCALE (pgbench scale, default 100 ≈ 1.6 GB),
// BENCH_RUNS (default 3), BENCH_DATASETS (default "pgbench,random"), BENCH_RANDOM_MB (default 1000),
// BENCH_INCR (default 1: also time incremental backups after two loads), BENCH_ONLY_INCR. This is
// suite `pg`; BENCH_SUITES picks suites (bench/run-suites.ts), the others live in bench/suites/.

import { existsSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pgBin } from '../src/engine/postgres/binaries.js';
import { makeTempDir, stageDbtool, startCluster } from '../test/harness/pg-cluster.js';
import type { TestCluster } from '../test/harness/pg-cluster.js';
import { du, log, median, RUNS, runAs, SCALE, timed } from './lib.js';
import type { SuiteResult, Timed } from './lib.js';
import { runSuites } from './run-suites.js';

const DATASETS = (process.env.BENCH_DATASETS ?? 'pgbench,random').split(',').map((s) => s.trim()).filter(Boolean);
const RANDOM_MB = Number(process.env.BENCH_RANDOM_MB ?? 1000);
const INCR = (process.env.BENCH_INCR ?? '1') !== '0';
/** BENCH_ONLY_INCR=1: skip the full-backup rounds (to rerun just the incremental part) */
const ONLY_INCR = process.env.BENCH_ONLY_INCR === '1';

/** Run a command as the server's OS user under GNU time; wall seconds and peak RSS. */
const run = (argv: string[], env: Record<string, string> = {}): Promise<Timed> => timed(argv, env);

interface ToolResult {
  backupSeconds: number[];
  restoreSeconds: number[];
  backupRssMb: number[];
  restoreRssMb: number[];
  storedBytes: number;
}

async function benchDataset(name: string, db: TestCluster, work: string, bin: string): Promise<Record<string, unknown>> {
  const env = { PGHOST: '127.0.0.1', PGPORT: String(db.port), PGUSER: 'postgres' };
  const node = process.execPath;
  const dbtool = (args: string[]) => run([node, bin, '--quiet', ...args], env);
  const [size] = await db.query<{ b: string }>('SELECT sum(pg_database_size(oid))::text AS b FROM pg_database');
  const dbBytes = Number(size!.b);
  const conf = join(work, 'pgbackrest.conf');
  const hasPgbr = existsSync('/usr/bin/pgbackrest');
  if (hasPgbr) {
    await writeFile(
      conf,
      `[global]\nrepo1-path=${work}/pgbr-repo\ncompress-type=zst\ncompress-level=1\nprocess-max=2\nstart-fast=y\narchive-check=n\n` +
        `log-level-console=warn\nlog-level-file=off\nlock-path=${work}/pgbr-lock\nspool-path=${work}/pgbr-spool\n` +
        `[bench]\npg1-path=${db.dataDir}\npg1-port=${db.port}\npg1-socket-path=${db.socketDir}\npg1-user=postgres\n`,
    );
    if (runAs) await chown(conf, runAs.uid, runAs.gid);
  }

  const tools: Record<string, ToolResult> = {};
  const note = (tool: string) => (tools[tool] ??= { backupSeconds: [], restoreSeconds: [], backupRssMb: [], restoreRssMb: [], storedBytes: 0 });
  const clean = (...paths: string[]) => Promise.all(paths.map((p) => rm(p, { recursive: true, force: true })));

  const steps: Array<[string, () => Promise<void>]> = [
    [
      'dbtool',
      async () => {
        const repo = join(work, 'dbtool-repo');
        const target = join(work, 'dbtool-restore');
        await clean(repo, target);
        await dbtool(['--repo', repo, 'repo', 'init']);
        const b = await dbtool(['--repo', repo, 'backup', '--type', 'full']);
        const r = await dbtool(['--repo', repo, 'restore', '--immediate', '--target-dir', target]);
        const t = note('dbtool');
        t.backupSeconds.push(b.seconds);
        t.backupRssMb.push(b.rssMb);
        t.restoreSeconds.push(r.seconds);
        t.restoreRssMb.push(r.rssMb);
        t.storedBytes = await du(join(repo, 'chunks'));
        await clean(target);
      },
    ],
    [
      'pg_basebackup -Ft -z',
      async () => {
        const out = join(work, 'pgbb-gzip');
        await clean(out);
        const b = await run([pgBin('pg_basebackup'), '-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-D', out, '-Ft', '-z', '-X', 'fetch', '-c', 'fast']);
        const t = note('pg_basebackup -Ft -z');
        t.backupSeconds.push(b.seconds);
        t.backupRssMb.push(b.rssMb);
        t.storedBytes = await du(out);
        await clean(out);
      },
    ],
    [
      'pg_basebackup server-zstd',
      async () => {
        const out = join(work, 'pgbb-zstd');
        const target = join(work, 'pgbb-zstd-restore');
        await clean(out, target);
        const b = await run([pgBin('pg_basebackup'), '-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-D', out, '-Ft', '--compress=server-zstd:level=1,workers=2', '-X', 'fetch', '-c', 'fast']);
        await mkdir(target);
        if (runAs) await chown(target, runAs.uid, runAs.gid);
        // Its "restore" is unpacking the tar: the closest thing pg_basebackup offers.
        const r = await run(['tar', '-I', 'zstd', '-xf', join(out, 'base.tar.zst'), '-C', target]);
        const t = note('pg_basebackup server-zstd');
        t.backupSeconds.push(b.seconds);
        t.backupRssMb.push(b.rssMb);
        t.restoreSeconds.push(r.seconds);
        t.restoreRssMb.push(r.rssMb);
        t.storedBytes = await du(out);
        await clean(out, target);
      },
    ],
  ];
  if (hasPgbr) {
    steps.push([
      'pgbackrest',
      async () => {
        const repo = join(work, 'pgbr-repo');
        const target = join(work, 'pgbr-restore');
        await clean(repo, target);
        const pgbr = (args: string[]) => run(['pgbackrest', `--config=${conf}`, '--stanza=bench', ...args]);
        await pgbr(['stanza-create']);
        const b = await pgbr(['--type=full', 'backup']);
        await mkdir(target, { mode: 0o700 });
        if (runAs) await chown(target, runAs.uid, runAs.gid);
        const r = await pgbr([`--pg1-path=${target}`, '--type=immediate', 'restore']);
        const t = note('pgbackrest');
        t.backupSeconds.push(b.seconds);
        t.backupRssMb.push(b.rssMb);
        t.restoreSeconds.push(r.seconds);
        t.restoreRssMb.push(r.rssMb);
        t.storedBytes = await du(join(repo, 'backup'));
        await clean(target);
      },
    ]);
  }

  if (ONLY_INCR) return { dataset: name, databaseMB: +(dbBytes / 1e6).toFixed(0), incremental: await benchIncr(db, work, bin, env, hasPgbr ? conf : undefined) };
  log(`${name}: warm-up`);
  for (const [, step] of steps) await step();
  for (const t of Object.values(tools)) Object.assign(t, { backupSeconds: [], restoreSeconds: [], backupRssMb: [], restoreRssMb: [] });
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so no tool always runs first (or last) in a round.
    const order = i % 2 === 0 ? steps : [...steps].reverse();
    for (const [tool, step] of order) {
      log(`${name}: run ${i + 1}/${RUNS} ${tool}`);
      await step();
    }
  }

  const summary: Record<string, unknown> = {};
  for (const [tool, t] of Object.entries(tools)) {
    const b = median(t.backupSeconds);
    const r = median(t.restoreSeconds);
    summary[tool] = {
      backupSeconds: +b.toFixed(2),
      backupMBps: +(dbBytes / 1e6 / b).toFixed(0),
      restoreSeconds: t.restoreSeconds.length ? +r.toFixed(2) : null,
      storedMB: +(t.storedBytes / 1e6).toFixed(1),
      peakRssMB: +Math.max(...t.backupRssMb, ...t.restoreRssMb).toFixed(0),
    };
  }
  const ratio = (a?: number, b?: number) => (a && b ? +(a / b).toFixed(2) : null);
  const dt = tools['dbtool'];
  const pb = tools['pgbackrest'];
  const zs = tools['pg_basebackup server-zstd'];
  const result: Record<string, unknown> = {
    dataset: name,
    databaseMB: +(dbBytes / 1e6).toFixed(0),
    runs: RUNS,
    tools: summary,
    ratios: {
      backupVsPgbackrest: ratio(median(dt!.backupSeconds), pb && median(pb.backupSeconds)),
      restoreVsPgbackrest: ratio(median(dt!.restoreSeconds), pb && median(pb.restoreSeconds)),
      backupVsBasebackupServerZstd: ratio(median(dt!.backupSeconds), zs && median(zs.backupSeconds)),
    },
  };

  if (INCR && name === 'pgbench') result.incremental = await benchIncr(db, work, bin, env, hasPgbr ? conf : undefined);
  return result;
}

/**
 * Two loads, each after a fresh full of both tools on a settled database (VACUUM FREEZE and a
 * checkpoint, so neither backup pays for hint bits set by an earlier load): (a) uniform pgbench
 * writes, (b) 1 % of rows updated in one range and 1 % appended; an incr of each tool after it.
 */
async function benchIncr(db: TestCluster, work: string, bin: string, env: Record<string, string>, pgbrConf: string | undefined): Promise<Record<string, unknown>> {
  const repo = join(work, 'dbtool-incr-repo');
  await rm(repo, { recursive: true, force: true });
  const dbtool = (args: string[]) => run([process.execPath, bin, '--quiet', '--repo', repo, ...args], env);
  const pgbr = (args: string[]) => run(['pgbackrest', `--config=${pgbrConf}`, '--stanza=bench', ...args]);
  await dbtool(['repo', 'init']);
  if (pgbrConf) {
    await rm(join(work, 'pgbr-repo'), { recursive: true, force: true });
    await pgbr(['stanza-create']);
  }
  const out: Record<string, unknown> = {};
  const loads: Array<[string, () => Promise<void>]> = [
    ['uniform pgbench -t 20000 -c 4', async () => void (await run([pgBin('pgbench'), '-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-t', '20000', '-c', '4', '-n', 'postgres']))],
    [
      'skewed: 1% updated in one range, 1% appended',
      async () => {
        // max(aid) comes from the index: a count(*) would read (and set hint bits on) every page.
        const [n] = await db.query<{ n: string }>('SELECT max(aid)::text AS n FROM pgbench_accounts');
        const rows = Number(n!.n);
        const pct = Math.floor(rows / 100);
        await db.query(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN ${Math.floor(rows / 2)} AND ${Math.floor(rows / 2) + pct}`);
        await db.query(`INSERT INTO pgbench_accounts SELECT aid + ${rows}, bid, 0, filler FROM pgbench_accounts WHERE aid <= ${pct}`);
      },
    ],
  ];
  for (const [name, load] of loads) {
    log(`incremental: settle, fresh full of both tools, then ${name}`);
    await db.query('VACUUM (FREEZE)');
    await db.query('CHECKPOINT');
    await dbtool(['backup', '--type', 'full']);
    if (pgbrConf) await pgbr(['--type=full', 'backup']);
    await load();
    // Untimed: whichever incr ran first would otherwise also pay for writing out the buffers the
    // load dirtied (its backup starts with a checkpoint), and the second would find them clean.
    await db.query('CHECKPOINT');
    const before = await du(join(repo, 'chunks'));
    const d = await dbtool(['backup', '--type', 'incr']);
    const dStored = (await du(join(repo, 'chunks'))) - before;
    let p: Timed | undefined;
    let pStored = 0;
    if (pgbrConf) {
      const pbBefore = await du(join(work, 'pgbr-repo', 'backup'));
      p = await pgbr(['--type=incr', 'backup']);
      pStored = (await du(join(work, 'pgbr-repo', 'backup'))) - pbBefore;
    }
    out[name] = {
      dbtool: { seconds: +d.seconds.toFixed(2), storedMB: +(dStored / 1e6).toFixed(1) },
      pgbackrest: p ? { seconds: +p.seconds.toFixed(2), storedMB: +(pStored / 1e6).toFixed(1) } : null,
      storedVsPgbackrest: p && pStored ? +(dStored / pStored).toFixed(2) : null,
      wallVsPgbackrest: p ? +(d.seconds / p.seconds).toFixed(2) : null,
    };
  }
  // The bench cluster does not archive WAL, so verify reports the backups' WAL as missing (exit 1);
  // the chunk check it times is complete either way.
  const v = await timed([process.execPath, bin, '--json', '--repo', repo, 'verify'], env, [0, 1]);
  const report = JSON.parse(v.stdout) as { referencedBytes: number; storedBytes: number; seconds: number };
  const bytes = report.referencedBytes + report.storedBytes;
  out.verify = { seconds: +v.seconds.toFixed(2), referencedMB: +(report.referencedBytes / 1e6).toFixed(0), storedMB: +(report.storedBytes / 1e6).toFixed(0), MBps: +(bytes / 1e6 / report.seconds).toFixed(0) };
  return out;
}

/** Suite `pg` (BENCH_SUITES): the datasets above; bench/run-suites.ts writes the report. */
async function main(): Promise<SuiteResult> {
  const bin = await stageDbtool();
  const results: Array<Record<string, unknown>> = [];
  for (const name of DATASETS) {
    const work = await makeTempDir(`dbtool-bench-${name}-`, runAs);
    const db = await startCluster({ settings: { shared_buffers: '256MB', max_wal_senders: '10', checkpoint_timeout: '30min', max_wal_size: '8GB', wal_level: 'replica' } });
    try {
      if (name === 'pgbench') {
        log(`pgbench -i -s ${SCALE}`);
        await run([pgBin('pgbench'), '-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-q', '-s', String(SCALE), 'postgres']);
      } else if (name === 'random') {
        const rows = Math.round((RANDOM_MB * 1e6) / 230);
        log(`random: ${rows} rows of hashed text (≈ ${RANDOM_MB} MB)`);
        await db.query(
          `CREATE TABLE noise AS SELECT g AS id, encode(sha256(g::text::bytea), 'base64') || encode(sha256((g * 7)::text::bytea), 'base64') ||
             encode(sha256((g * 13)::text::bytea), 'base64') || encode(sha256((g * 31)::text::bytea), 'base64') AS payload FROM generate_series(1, ${rows}) g`,
        );
      } else throw new Error(`unknown dataset ${name}`);
      await db.query('VACUUM (FREEZE, ANALYZE)');
      await db.query('CHECKPOINT');
      results.push(await benchDataset(name, db, work, bin));
    } finally {
      await db.destroy();
      await rm(work, { recursive: true, force: true });
    }
  }
  const md = results
    .map((r) => {
      const rows = Object.entries((r.tools ?? {}) as Record<string, Record<string, unknown>>).map(
        ([tool, t]) => `| ${tool} | ${t.backupSeconds} | ${t.backupMBps} | ${t.restoreSeconds ?? '-'} | ${t.storedMB} | ${t.peakRssMB} |`,
      );
      return `## ${r.dataset} (${r.databaseMB} MB, median of ${r.runs})\n\n| tool | backup s | MB/s | restore s | stored MB | peak RSS MB |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n\nratios: ${JSON.stringify(r.ratios)}\n${r.incremental ? `\nincremental: ${JSON.stringify(r.incremental)}\n` : ''}`;
    })
    .join('\n');
  return { json: { scale: SCALE, results }, md };
}

runSuites(main).catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exit(1);
});
