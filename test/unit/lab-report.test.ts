import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { labMarkdown, labSvg, restoreSpeed } from '../../src/command/lab/report.js';
import type { LabStrategy } from '../../src/command/lab/report.js';

const s = (name: string, ok = true): LabStrategy => ({
  name,
  backup: `${name} | backup`,
  backupMs: 1500,
  storedBytes: 3 * 1048576,
  databaseBytes: 40 * 1048576,
  restoreMs: 2000,
  restoreBytes: 40 * 1048576,
  rollback: 'somewhere',
  cost: 'some',
  checks: [{ restored: 'x', expectedRows: 10, rows: ok ? 10 : 9, ok, ms: 2000 }],
});

describe('lab report', () => {
  it('a Markdown table with a row per strategy and the measured numbers', () => {
    const md = labMarkdown([s('full (physical)'), s('WAL + PITR'), s('differential'), s('reverse delta')], 'context line');
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| strategy') && !l.startsWith('| ---'));
    assert.equal(rows.length, 4);
    assert.match(rows[0]!, /^\| full \(physical\) \| full \(physical\) \\\| backup \| 1\.50 \| 3\.0 \| 2\.00 \| 20 \| somewhere \| some \| x: 10\/10 rows ✓ \|$/);
    assert.match(md, /context line/);
    assert.equal(restoreSpeed(s('a')), 20);
  });

  it('an SVG with a bar per strategy in each panel, and failures visible', () => {
    const svg = labSvg([s('a'), s('b <&>', false)]);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/<rect x=/g) ?? []).length, 4);
    assert.match(svg, /b &lt;&amp;&gt;/);
    assert.match(svg, /SOME FAILED/);
    assert.match(labSvg([s('a')]), /all as expected/);
  });
});
