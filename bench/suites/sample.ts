// Suite `sample` (issue 6): `dbtool sample-data --rows N --batch-size 10000 --json` into a fresh
// database each round (warm-up + BENCH_RUNS), median rows/s (target ≥ 100 000 for N = 1 000 000),
// alternating with an `INSERT … SELECT generate_series` of the same shape as a ceiling for
// reference. Knob: BENCH_SAMPLE_ROWS (default 1 000 000).

import { BOOKS_DDL_POSTGRES } from '../../src/command/sample-data/books.js';
import { pgBin } from '../../src/engine/postgres/binaries.js';
import { stageDbtool, startCluster } from '../../test/harness/pg-cluster.js';
import { alternate, log, mdTable, median, round, timed } from '../lib.js';
import type { Step, SuiteResult } from '../lib.js';
import { BENCH_CLUSTER_SETTINGS, libpqEnv } from '../pgbench-cluster.js';

const ROWS = Number(process.env.BENCH_SAMPLE_ROWS ?? 1_000_000);
const BATCH = 10_000;
const TARGET = 100_000;

/** The ceiling: the same columns, filled by the server itself in one statement. */
const CEILING_SQL = `INSERT INTO books (title, author, published_year, isbn, price, stock)
  SELECT 'The Quiet Library of ' || g, 'Author ' || (g % 997), 1900 + g % 126, lpad((9780000000000 + g)::text, 13, '0'),
         ((g % 9000) + 100) / 100.0, g % 501
    FROM generate_series(1, ${ROWS}) g`;

export async function sampleSuite(): Promise<SuiteResult> {
  const bin = await stageDbtool();
  const db = await startCluster({ settings: BENCH_CLUSTER_SETTINGS });
  const env = libpqEnv(db);
  const fresh = async (name: string) => {
    await db.query(`DROP DATABASE IF EXISTS ${name}`);
    await db.query(`CREATE DATABASE ${name}`);
  };
  const wall: number[] = [];
  const own: number[] = [];
  const ceiling: number[] = [];
  const reset = () => {
    for (const xs of [wall, own, ceiling]) xs.length = 0;
  };
  try {
    const steps: Step[] = [
      [
        'dbtool sample-data',
        async (n) => {
          const name = `sample_${n}`;
          await fresh(name);
          try {
            const t = await timed([process.execPath, bin, '--json', '--database', name, 'sample-data', '--rows', String(ROWS), '--batch-size', String(BATCH)], env);
            const r = JSON.parse(t.stdout) as { rows: number; rowsPerSecond: number; tableRows: number };
            if (r.tableRows !== ROWS) throw new Error(`sample-data left ${r.tableRows} rows, expected ${ROWS}`);
            wall.push(ROWS / t.seconds);
            own.push(r.rowsPerSecond);
          } finally {
            await db.query(`DROP DATABASE IF EXISTS ${name}`);
          }
        },
      ],
      [
        'INSERT … SELECT generate_series',
        async (n) => {
          const name = `ceiling_${n}`;
          await fresh(name);
          try {
            await db.query(BOOKS_DDL_POSTGRES, [], name);
            const t = await timed([pgBin('psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-d', name, '-c', CEILING_SQL]);
            ceiling.push(ROWS / t.seconds);
          } finally {
            await db.query(`DROP DATABASE IF EXISTS ${name}`);
          }
        },
      ],
    ];
    await alternate('sample', steps, reset);
  } finally {
    await db.destroy();
  }
  const rowsPerSecond = round(median(wall), 0);
  const json = {
    rows: ROWS,
    batchSize: BATCH,
    runs: wall.length,
    rowsPerSecond,
    rowsPerSecondOwn: round(median(own), 0),
    rowsPerSecondRuns: wall.map((x) => round(x, 0)),
    ceilingRowsPerSecond: round(median(ceiling), 0),
    vsCeiling: round(median(wall) / median(ceiling)),
    target: `sample-data --rows 1000000 ≥ ${TARGET} rows/s (wall time of the command)`,
    pass: ROWS >= 1_000_000 ? rowsPerSecond >= TARGET : null,
  };
  log(`sample: ${rowsPerSecond} rows/s (own ${json.rowsPerSecondOwn}), ceiling ${json.ceilingRowsPerSecond}`);
  const verdict = json.pass === null ? `not judged: BENCH_SAMPLE_ROWS < 1 000 000` : json.pass ? 'met' : 'NOT met';
  const md =
    `${ROWS} rows, batches of ${BATCH}, each into a fresh database; median of ${json.runs}\n\n` +
    mdTable(
      ['load', 'rows/s'],
      [
        ['dbtool sample-data (wall time of the command)', rowsPerSecond],
        ['dbtool sample-data (its own --json figure: the load only)', json.rowsPerSecondOwn],
        ['INSERT … SELECT generate_series (ceiling, one statement)', json.ceilingRowsPerSecond],
      ],
    ) +
    `\n\ntarget ≥ ${TARGET} rows/s: ${verdict}\n`;
  return { json, md };
}
