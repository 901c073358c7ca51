// The mysql bench suite's report: medians, ratios dbtool/reference per phase, verdicts only at ≥ 1000 MB.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TOOLS, mysqlReport } from '../../bench/suites/mysql.js';
import type { Figures, Phase } from '../../bench/suites/mysql.js';

/** Every tool of every phase with the given seconds (dbtool's from `dbtool`, the others from `other`). */
function figs(dbtool: Record<Phase, number[]>, other: number[]): Record<Phase, Record<string, Figures>> {
  const out = {} as Record<Phase, Record<string, Figures>>;
  for (const p of Object.keys(TOOLS) as Phase[]) {
    out[p] = Object.fromEntries(TOOLS[p].map((t) => [t, { s: t === 'dbtool' ? dbtool[p] : other, rss: [10, 30], stored: 5e6 }]));
  }
  return out;
}

const input = { dbBytes: 1e9, dataDirBytes: 1.5e9, rowsPerTable: 1_000_000, poolMb: 1280 };

describe('mysqlReport', () => {
  it('gives each phase the median ratio and judges it against its target', () => {
    const r = mysqlReport({ ...input, sizeMb: 1000, figs: figs({ full: [9, 10, 50], incr: [11, 11, 11], restore: [13, 12, 1], logical: [11, 12, 10] }, [10, 10, 10]) });
    const j = r.json as { ratios: Record<Phase, number>; passes: Record<Phase, boolean>; pass: boolean; phases: Record<Phase, { tools: Record<string, { seconds: number; MBps: number; peakRssMB: number }> }> };
    assert.deepEqual(j.ratios, { full: 1, incr: 1.1, restore: 1.2, logical: 1.1 });
    assert.deepEqual(j.passes, { full: true, incr: true, restore: true, logical: true });
    assert.equal(j.pass, true);
    assert.deepEqual(j.phases.full.tools.dbtool, { seconds: 10, MBps: 100, storedMB: 5, peakRssMB: 30, runs: [9, 10, 50] });
    // A `|` in a tool's name is escaped so the Markdown table keeps its columns.
    assert.match(r.md, /mariadb-backup --stream \\\| zstd -1 \| 10 \|/);
  });

  it('fails the run when one phase misses its target', () => {
    const r = mysqlReport({ ...input, sizeMb: 1000, figs: figs({ full: [10.5], incr: [1], restore: [1], logical: [1] }, [10]) });
    const j = r.json as { passes: Record<Phase, boolean>; pass: boolean };
    assert.equal(j.passes.full, false);
    assert.equal(j.pass, false);
    assert.match(r.md, /full 1\.05 \(target ≤ 1: NOT met\)/);
  });

  it('judges nothing below 1000 MB (a smoke run)', () => {
    const r = mysqlReport({ ...input, sizeMb: 50, figs: figs({ full: [50], incr: [50], restore: [50], logical: [50] }, [1]) });
    const j = r.json as { passes: Record<Phase, boolean | null>; pass: boolean | null };
    assert.deepEqual(j.passes, { full: null, incr: null, restore: null, logical: null });
    assert.equal(j.pass, null);
  });
});
