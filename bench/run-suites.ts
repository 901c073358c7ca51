// The bench's dispatcher: BENCH_SUITES (comma list, default all) picks the suites, each runs in
// turn (a failing suite is recorded and the others still run), and their parts become one JSON
// line on stdout plus bench/results/<time>.json and .md.

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { RUNS, SCALE, log } from './lib.js';
import type { Suite, SuiteResult } from './lib.js';
import { closePgbenchCluster } from './pgbench-cluster.js';
import { cryptoSuite } from './suites/crypto.js';
import { labSuite } from './suites/lab.js';
import { logicalSuite } from './suites/logical.js';
import { mysqlSuite } from './suites/mysql.js';
import { s3Suite } from './suites/s3.js';
import { sampleSuite } from './suites/sample.js';
import { walSuite } from './suites/wal.js';

/** Every suite in the order `all` runs them; `pg` is bench/run.ts's own. */
export const SUITE_NAMES = ['pg', 's3', 'crypto', 'logical', 'wal', 'sample', 'lab', 'mysql'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

const suites: Record<Exclude<SuiteName, 'pg'>, Suite | undefined> = {
  s3: s3Suite,
  crypto: cryptoSuite,
  logical: logicalSuite,
  wal: walSuite,
  sample: sampleSuite,
  lab: labSuite,
  mysql: mysqlSuite,
};

export function selectedSuites(spec = process.env.BENCH_SUITES): SuiteName[] {
  const wanted = (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!wanted.length || wanted.includes('all')) return [...SUITE_NAMES];
  const unknown = wanted.filter((w) => !(SUITE_NAMES as readonly string[]).includes(w));
  if (unknown.length) throw new Error(`unknown suite(s) in BENCH_SUITES: ${unknown.join(', ')} (known: ${SUITE_NAMES.join(', ')}, all)`);
  return SUITE_NAMES.filter((n) => wanted.includes(n));
}

/** Run the selected suites (`pg` given by bench/run.ts), write the report; exit code 1 if any failed. */
export async function runSuites(pg: Suite): Promise<void> {
  const names = selectedSuites();
  const explicit = !!process.env.BENCH_SUITES && !process.env.BENCH_SUITES.split(',').includes('all');
  const when = new Date().toISOString();
  const report: Record<string, unknown> = { machine: `${cpus().length} cores`, when, scale: SCALE, runs: RUNS, suites: names };
  const sections: string[] = [];
  let failed = false;
  try {
    for (const name of names) {
      const suite = name === 'pg' ? pg : suites[name];
      if (!suite) {
        const why = `suite '${name}' is not implemented yet (the MySQL engine branch fills it)`;
        if (explicit) log(why);
        report[name] = { skipped: why };
        sections.push(`## ${name}\n\nskipped: ${why}\n`);
        continue;
      }
      log(`suite ${name}`);
      const started = performance.now();
      let r: SuiteResult;
      try {
        r = await suite();
      } catch (e) {
        failed = true;
        const message = (e as Error).message;
        log(`suite ${name} failed: ${message}`);
        r = { json: { error: message }, md: `FAILED: ${message.replaceAll('\n', ' ')}\n` };
      }
      const minutes = +((performance.now() - started) / 60_000).toFixed(1);
      report[name] = { ...r.json, suiteMinutes: minutes };
      // A suite's own headings (pg's datasets) go one level under the suite's.
      sections.push(`## ${name} (${minutes} min)\n\n${r.md.replace(/^(#+) /gm, '#$1 ')}`);
    }
  } finally {
    await closePgbenchCluster();
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const stamp = when.replace(/[:.]/g, '-');
  await writeFile(new URL(`${stamp}.json`, dir), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(new URL(`${stamp}.md`, dir), `# bench ${when} (${report.machine}, BENCH_SCALE=${SCALE}, BENCH_RUNS=${RUNS})\n\n${sections.join('\n')}`);
  if (failed) process.exitCode = 1;
}
