// Suite `lab` (issue 6): the wall time of `dbtool lab` with its default sizes (target < 2 minutes),
// once, as the servers' OS user, with the lab's own checks. Knob: BENCH_LAB_ROWS (default: the
// lab's default, 100 000).

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, stageDbtool } from '../../test/harness/pg-cluster.js';
import { log, mdTable, round, runAs, timed } from '../lib.js';
import type { SuiteResult } from '../lib.js';

const ROWS = process.env.BENCH_LAB_ROWS;
const TARGET_SECONDS = 120;

interface LabJson {
  strategies?: Array<{ name: string; backupMs: number; storedBytes: number; restoreMs: number; checks: Array<{ ok: boolean }> }>;
}

export async function labSuite(): Promise<SuiteResult> {
  const bin = await stageDbtool();
  const work = await makeTempDir('dbtool-bench-lab-', runAs);
  try {
    const args = [process.execPath, bin, '--json', 'lab', '--report-dir', join(work, 'report'), ...(ROWS ? ['--rows', ROWS] : [])];
    log(`lab: ${ROWS ?? 'default'} rows`);
    const t = await timed(args);
    const lab = JSON.parse(t.stdout) as LabJson;
    const strategies = (lab.strategies ?? []).map((s) => ({
      name: s.name,
      backupSeconds: round(s.backupMs / 1000),
      storedMB: round(s.storedBytes / 1e6, 1),
      restoreSeconds: round(s.restoreMs / 1000),
      checksOk: s.checks.every((c) => c.ok),
    }));
    const seconds = round(t.seconds, 1);
    const json = {
      rows: ROWS ? Number(ROWS) : 'default',
      seconds,
      peakRssMB: round(t.rssMb, 0),
      strategies,
      target: `dbtool lab with default sizes < ${TARGET_SECONDS} s`,
      pass: ROWS ? null : seconds < TARGET_SECONDS,
    };
    log(`lab: ${seconds} s`);
    const verdict = json.pass === null ? 'not judged: BENCH_LAB_ROWS set' : json.pass ? 'met' : 'NOT met';
    const md =
      `\`dbtool lab\` (${ROWS ? `--rows ${ROWS}` : 'default sizes'}), once: ${seconds} s wall, peak RSS ${json.peakRssMB} MB; target < ${TARGET_SECONDS} s: ${verdict}\n\n` +
      mdTable(
        ['strategy', 'backup s', 'stored MB', 'restore s', 'checks'],
        strategies.map((s) => [s.name, s.backupSeconds, s.storedMB, s.restoreSeconds, s.checksOk ? 'ok' : 'WRONG']),
      ) +
      '\n';
    return { json, md };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
