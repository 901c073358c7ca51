// Suite `mysql` (issue 4, MySQL/MariaDB part): on a throw-away MariaDB with a sysbench-style
// database (BENCH_MYSQL_MB), side by side in alternating rounds: dbtool full vs
// `mariadb-backup --stream=mbstream | zstd -1` (and plain `--target-dir`), dbtool incr vs
// `--incremental-basedir` after a 1 % update, dbtool restore (materialise + prepare) vs
// `--prepare` + `--copy-back`, and dbtool logical vs `mariadb-dump`. Medians, ratios, targets.

import { writeFile, rm, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireTool } from '../../src/engine/mysql/binaries.js';
import { FLAVOURS } from '../../src/engine/mysql/flavours.js';
import { mysqlRunAs, startMariadb } from '../../test/harness/mariadb-instance.js';
import type { TestMariadb } from '../../test/harness/mariadb-instance.js';
import { makeTempDir, stageDbtool } from '../../test/harness/pg-cluster.js';
import { RUNS, WARMUP, du, log, mb, mdTable, median, round, timed } from '../lib.js';
import type { SuiteResult, Timed } from '../lib.js';

/** ≈ size of the sysbench database in MB (the issue's figures are for ≈ 1000) */
const SIZE_MB = Number(process.env.BENCH_MYSQL_MB ?? 1000);
const TABLES = 4;
/** bytes one sysbench row takes in InnoDB with its secondary index (measured: the log shows the real size) */
const ROW_BYTES = 250;
const BATCH = 100_000;

const TARGETS = { full: 1.0, incr: 1.1, restore: 1.2, logical: 1.1 } as const;
export type Phase = keyof typeof TARGETS;

// The contenders of each phase; the first is dbtool, the second the reference of the target.
export const TOOLS: Record<Phase, string[]> = {
  full: ['dbtool', 'mariadb-backup --stream | zstd -1', 'mariadb-backup --target-dir'],
  incr: ['dbtool', 'mariadb-backup --incremental-basedir'],
  restore: ['dbtool', 'mariadb-backup --prepare + --copy-back'],
  logical: ['dbtool', 'mariadb-dump'],
};

export interface Figures {
  s: number[];
  rss: number[];
  stored: number;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** sysbench's table, filled server-side from the sequence engine with hex strings (little redundancy). */
export async function loadSysbench(my: TestMariadb, rowsPerTable: number): Promise<void> {
  await my.query('CREATE DATABASE sbtest');
  const hex = (n: number) => Array.from({ length: Math.ceil(n / 32) }, () => 'MD5(RAND())').join(', ');
  for (let t = 1; t <= TABLES; t++) {
    await my.query(`CREATE TABLE sbtest.sbtest${t} (id INT NOT NULL, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id)) ENGINE=InnoDB`);
    for (let a = 1; a <= rowsPerTable; a += BATCH) {
      const b = Math.min(rowsPerTable, a + BATCH - 1);
      await my.query(
        `INSERT INTO sbtest.sbtest${t} (id, k, c, pad)
         SELECT seq, FLOOR(1 + RAND() * ${rowsPerTable}), LEFT(CONCAT(${hex(120)}), 120), LEFT(CONCAT(${hex(60)}), 60) FROM sbtest.seq_${a}_to_${b}`,
      );
    }
    // As sysbench does by default: the secondary index after the load.
    await my.query(`ALTER TABLE sbtest.sbtest${t} ADD INDEX k_${t} (k)`);
  }
}

/** Flush every dirty page (a checkpoint), so each round starts from the same on-disk state. */
export async function flushDirty(my: TestMariadb): Promise<void> {
  await my.query('SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001; SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    const until = Date.now() + 300_000;
    while (Date.now() < until) {
      const [r] = await my.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'");
      if (Number(r?.Value ?? 0) === 0) return;
      await sleep(200);
    }
    log('mysql: dirty pages not flushed after 5 minutes, going on');
  } finally {
    await my.query('SET GLOBAL innodb_max_dirty_pages_pct = 90; SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0');
  }
}

/** The write load before the incrementals: 1 % of each table's rows, a contiguous range that moves every round. */
export async function writeLoad(my: TestMariadb, rowsPerTable: number, n: number): Promise<void> {
  const span = Math.max(1, Math.floor(rowsPerTable / 100));
  const from = ((n * 37) % 99) * span + 1;
  for (let t = 1; t <= TABLES; t++) {
    await my.query(`UPDATE sbtest.sbtest${t} SET c = LEFT(CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND())), 120), k = k + 1 WHERE id BETWEEN ${from} AND ${from + span - 1}`);
  }
}

export async function mysqlSuite(): Promise<SuiteResult> {
  const backupTool = requireTool(FLAVOURS.mariadb.backup, 'the backup tool', 'mariadb-backup');
  const dumpTool = requireTool(FLAVOURS.mariadb.dump, 'the dump tool', 'mariadb-client');
  requireTool(['zstd'], 'zstd', 'zstd');
  const rowsPerTable = Math.max(1000, Math.round((SIZE_MB * 1e6) / TABLES / ROW_BYTES));
  // Room for the database in the buffer pool (as on a server sized for it); a redo log that holds a round's writes.
  const poolMb = Math.max(128, Math.ceil(SIZE_MB * 1.2 / 128) * 128);
  const my = await startMariadb({ binlog: false, args: [`--innodb-buffer-pool-size=${poolMb}M`, '--innodb-log-file-size=512M', '--innodb-flush-log-at-trx-commit=2'] });
  const user = mysqlRunAs();
  const work = await makeTempDir('dbtool-bench-mysql-', user);
  try {
    log(`mysql: loading ${TABLES} sbtest tables × ${rowsPerTable} rows (≈ ${SIZE_MB} MB)`);
    const loadStart = performance.now();
    await loadSysbench(my, rowsPerTable);
    await my.query('ANALYZE TABLE ' + Array.from({ length: TABLES }, (_, i) => `sbtest.sbtest${i + 1}`).join(', '));
    await flushDirty(my);
    const dbBytes = await du(join(my.dataDir, 'sbtest'));
    const dataDirBytes = await du(my.dataDir);
    log(`mysql: loaded ${mb(dbBytes)} MB (data directory ${mb(dataDirBytes)} MB) in ${round((performance.now() - loadStart) / 1000, 0)} s`);

    const bin = await stageDbtool();
    // The competitors' connection, as dbtool gives it to the tools: an option file, TCP to 127.0.0.1.
    const cnf = join(work, 'bench.cnf');
    const values = ['user=root', 'host=127.0.0.1', 'protocol=tcp', `port=${my.port}`];
    await writeFile(cnf, ['[client]', ...values, '[mariadb-backup]', ...values, '[mariabackup]', ...values, ''].join('\n'), { mode: 0o600 });
    if (user) await chown(cnf, user.uid, user.gid);
    const defaults = `--defaults-file=${cnf}`;
    const run = (argv: string[], env: Record<string, string> = {}): Promise<Timed> => timed(argv, env, [0], user);
    const dbtool = (repo: string, args: string[]) => run([process.execPath, bin, '--quiet', '--repo', repo, ...args], my.env);

    const figs = {} as Record<Phase, Record<string, Figures>>;
    const reset = () => {
      for (const p of Object.keys(TOOLS) as Phase[]) figs[p] = Object.fromEntries(TOOLS[p].map((t) => [t, { s: [], rss: [], stored: 0 }]));
    };
    reset();
    const record = (p: Phase, tool: string, t: Timed[], stored: number) => {
      const f = figs[p][tool]!;
      f.s.push(t.reduce((a, x) => a + x.seconds, 0));
      f.rss.push(...t.map((x) => x.rssMb));
      f.stored = stored;
    };
    /** Each contender of a phase in turn, the order reversed every other round. */
    const phase = async (p: Phase, n: number, steps: Record<string, () => Promise<void>>) => {
      const names = n % 2 === 1 ? TOOLS[p] : [...TOOLS[p]].reverse();
      for (const name of names) {
        log(`mysql ${p}: ${n === 0 ? 'warm-up' : `run ${n}/${RUNS}`} ${name}`);
        await steps[name]!();
      }
    };

    for (let n = WARMUP ? 0 : 1; n <= RUNS; n++) {
      const repo = join(work, `repo-${n}`);
      const plainFull = join(work, `full-${n}`);
      let fullLabel = '';
      let fullDoneAt = 0;
      try {
        await dbtool(repo, ['repo', 'init']);
        // (1) Full backups.
        await phase('full', n, {
          dbtool: async () => {
            const b = await dbtool(repo, ['--json', 'backup', '--type', 'full']);
            fullLabel = (JSON.parse(b.stdout) as { label: string }).label;
            fullDoneAt = Date.now();
            record('full', 'dbtool', [b], await du(repo));
          },
          'mariadb-backup --stream | zstd -1': async () => {
            const file = join(work, `full-${n}.mbstream.zst`);
            const scratch = join(work, `scratch-${n}`);
            try {
              const sh = `set -o pipefail; ${shq(backupTool)} ${shq(defaults)} --backup --stream=mbstream --target-dir=${shq(scratch)} | zstd -1 -q -o ${shq(file)}`;
              const b = await run(['bash', '-c', sh]);
              record('full', 'mariadb-backup --stream | zstd -1', [b], await du(file));
            } finally {
              await rm(file, { force: true });
              await rm(scratch, { recursive: true, force: true });
            }
          },
          'mariadb-backup --target-dir': async () => {
            const b = await run([backupTool, defaults, '--backup', `--target-dir=${plainFull}`]);
            record('full', 'mariadb-backup --target-dir', [b], await du(plainFull));
          },
        });
        // (2) The same 1 % change seen by both incrementals.
        await writeLoad(my, rowsPerTable, n);
        await phase('incr', n, {
          dbtool: async () => {
            const before = await du(repo);
            // A new label is a second after the newest one: wait here, untimed, rather than inside the backup.
            await sleep(Math.max(0, fullDoneAt + 1000 - Date.now()));
            const b = await dbtool(repo, ['backup', '--type', 'incr']);
            record('incr', 'dbtool', [b], (await du(repo)) - before);
          },
          'mariadb-backup --incremental-basedir': async () => {
            const inc = join(work, `inc-${n}`);
            try {
              const b = await run([backupTool, defaults, '--backup', `--incremental-basedir=${plainFull}`, `--target-dir=${inc}`]);
              record('incr', 'mariadb-backup --incremental-basedir', [b], await du(inc));
            } finally {
              await rm(inc, { recursive: true, force: true });
            }
          },
        });
        // (3) Restores of the full into an empty directory, no server start.
        await phase('restore', n, {
          dbtool: async () => {
            const target = join(work, `restore-dbtool-${n}`);
            try {
              const r = await dbtool(repo, ['restore', '--backup', fullLabel, '--target-dir', target]);
              record('restore', 'dbtool', [r], await du(target));
            } finally {
              await rm(target, { recursive: true, force: true });
            }
          },
          'mariadb-backup --prepare + --copy-back': async () => {
            const target = join(work, `restore-mb-${n}`);
            try {
              const prep = await run([backupTool, '--no-defaults', '--prepare', `--target-dir=${plainFull}`]);
              const copy = await run([backupTool, '--no-defaults', '--copy-back', `--target-dir=${plainFull}`, `--datadir=${target}`]);
              record('restore', 'mariadb-backup --prepare + --copy-back', [prep, copy], await du(target));
            } finally {
              await rm(target, { recursive: true, force: true });
            }
          },
        });
      } finally {
        await rm(repo, { recursive: true, force: true });
        await rm(plainFull, { recursive: true, force: true });
      }
      // (4) Logical dumps of the same database.
      await phase('logical', n, {
        dbtool: async () => {
          const lrepo = join(work, `lrepo-${n}`);
          try {
            await dbtool(lrepo, ['repo', 'init']);
            const b = await dbtool(lrepo, ['backup', '--type', 'logical', '--database', 'sbtest']);
            record('logical', 'dbtool', [b], await du(lrepo));
          } finally {
            await rm(lrepo, { recursive: true, force: true });
          }
        },
        'mariadb-dump': async () => {
          const file = join(work, `dump-${n}.sql`);
          try {
            const b = await run([dumpTool, defaults, '--single-transaction', '--routines', '--events', '--triggers', `--result-file=${file}`, 'sbtest']);
            record('logical', 'mariadb-dump', [b], await du(file));
          } finally {
            await rm(file, { force: true });
          }
        },
      });
      await flushDirty(my);
      if (n === 0) reset();
    }

    return mysqlReport({ sizeMb: SIZE_MB, dbBytes, dataDirBytes, rowsPerTable, poolMb, figs });
  } finally {
    await rm(work, { recursive: true, force: true });
    await my.destroy();
  }
}

export interface MysqlReportInput {
  /** BENCH_MYSQL_MB as asked */
  sizeMb: number;
  dbBytes: number;
  dataDirBytes: number;
  rowsPerTable: number;
  poolMb: number;
  /** per phase, per tool (every name of TOOLS): the timed rounds' seconds, peak RSS, stored bytes */
  figs: Record<Phase, Record<string, Figures>>;
}

/** Pure: medians, MB/s, ratios dbtool/reference and the verdicts, as JSON and Markdown. */
export function mysqlReport({ sizeMb, dbBytes, dataDirBytes, rowsPerTable, poolMb, figs }: MysqlReportInput): SuiteResult {
  const dbMb = dbBytes / 1e6;
  // The issue's targets are for ≈ 1 GB: a smaller database is a smoke run, not judged.
  const judged = sizeMb >= 1000;
  const phases = {} as Record<Phase, unknown>;
  const ratios = {} as Record<Phase, number>;
  const passes = {} as Record<Phase, boolean | null>;
  const rows: Array<Array<string | number | null>> = [];
  for (const p of Object.keys(TOOLS) as Phase[]) {
    const tools: Record<string, unknown> = {};
    for (const t of TOOLS[p]) {
      const f = figs[p][t]!;
      const s = median(f.s);
      const fig = { seconds: round(s), MBps: s > 0 ? round(dbMb / s, 0) : null, storedMB: mb(f.stored), peakRssMB: round(Math.max(0, ...f.rss), 0), runs: f.s.map((x) => round(x)) };
      tools[t] = fig;
      // A `|` in a tool's name would end the Markdown cell.
      rows.push([p, t.replaceAll('|', '\\|'), fig.seconds, fig.MBps, fig.storedMB, fig.peakRssMB]);
    }
    const ref = TOOLS[p][1]!;
    ratios[p] = round(median(figs[p].dbtool!.s) / median(figs[p][ref]!.s));
    passes[p] = judged ? ratios[p] <= TARGETS[p] : null;
    phases[p] = { tools, vs: ref, ratio: ratios[p], target: TARGETS[p], pass: passes[p] };
  }
  const all = Object.values(passes);
  const pass = all.includes(null) ? null : all.every(Boolean);
  const json = {
    databaseMB: round(dbMb, 0),
    dataDirMB: round(dataDirBytes / 1e6, 0),
    tables: TABLES,
    rowsPerTable,
    bufferPoolMB: poolMb,
    runs: figs.full.dbtool!.s.length,
    phases,
    ratios,
    target: `dbtool/mariadb-backup: full ≤ ${TARGETS.full}× (vs --stream | zstd -1), incr ≤ ${TARGETS.incr}×, restore ≤ ${TARGETS.restore}× (vs --prepare + --copy-back); logical ≤ ${TARGETS.logical}× mariadb-dump`,
    passes,
    pass,
  };
  log(`mysql: ratios ${JSON.stringify(ratios)}, pass ${String(pass)}`);
  const verdict = (p: Phase) => `${ratios[p]} (target ≤ ${TARGETS[p]}: ${passes[p] === null ? 'not judged below 1000 MB' : passes[p] ? 'met' : 'NOT met'})`;
  const md =
    `MariaDB, sysbench-style database \`sbtest\` ${json.databaseMB} MB (${TABLES} tables × ${rowsPerTable} rows; data directory ${json.dataDirMB} MB), ` +
    `buffer pool ${poolMb} MB, median of ${json.runs}; MB/s = database MB / seconds; incr after a 1 % update; restore = of the full, no start (its "stored MB" = the restored directory)\n\n` +
    mdTable(['phase', 'tool', 's', 'MB/s', 'stored MB', 'peak RSS MB'], rows) +
    `\n\ndbtool/reference: full ${verdict('full')}; incr ${verdict('incr')}; restore ${verdict('restore')}; logical ${verdict('logical')}\n`;
  return { json, md };
}
