// `dbtool lab --rows 20000`: the four strategies measured, every restore checked by row count,
// the report written as Markdown, JSON and SVG; run as root it relaunches itself as postgres.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { makeTempDir, runDbtool } from '../harness/pg-cluster.js';
import type { LabStrategy } from '../../src/command/lab/report.js';
import { mariadbAvailable } from '../../src/command/lab/mariadb.js';

describe('lab', () => {
  let dir: string | undefined;
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--rows 20000: four strategies, a logical dump and the MariaDB strategies (when installed) with measured sizes and times, every restore as expected', { timeout: 300_000 }, async () => {
    dir = await makeTempDir('dbtool-lab-report-');
    const r = await runDbtool(['lab', '--rows', '20000', '--batch-size', '5000', '--report-dir', dir], { asUser: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(dir)).sort(), ['dbtool-lab.json', 'dbtool-lab.md', 'dbtool-lab.svg']);
    assert.match(r.stdout, /^strategy\s+backup time\s+size stored/m);
    assert.match(r.stdout, new RegExp(`report: ${dir}/dbtool-lab`));
    assert.doesNotMatch(r.stdout, /dbtool-staged-/, 'the scratch copy of the report is not named');

    const report = JSON.parse(await readFile(join(dir, 'dbtool-lab.json'), 'utf8')) as { strategies: LabStrategy[] };
    // MariaDB rows come when its server, installer and backup tool are installed (they are in CI).
    const withMariadb = mariadbAvailable();
    const mariadbRows = withMariadb ? ['MariaDB full', 'MariaDB differential', 'MariaDB incremental', 'MariaDB binlog + PITR'] : [];
    assert.deepEqual(report.strategies.map((s) => s.name), ['full (physical)', 'WAL + PITR', 'differential', 'reverse delta', 'full (logical)', ...mariadbRows]);
    for (const s of report.strategies) {
      assert.ok(s.backupMs > 0 && s.restoreMs > 0 && s.storedBytes > 0 && s.restoreBytes > 0, `${s.name}: measured numbers`);
      assert.ok(s.checks.length > 0 && s.checks.every((c) => c.ok && c.rows === c.expectedRows), `${s.name}: checked restores`);
    }
    const expected = Object.fromEntries(report.strategies.map((s) => [s.name, s.checks.map((c) => c.expectedRows)]));
    assert.deepEqual(expected, {
      'full (physical)': [20000],
      'WAL + PITR': [27000, 28000],
      differential: [25000],
      'reverse delta': [28000, 25000, 20000],
      'full (logical)': [28000],
      ...(withMariadb ? { 'MariaDB full': [20000], 'MariaDB differential': [25000], 'MariaDB incremental': [28000], 'MariaDB binlog + PITR': [27000] } : {}),
    });
    const md = await readFile(join(dir, 'dbtool-lab.md'), 'utf8');
    assert.equal(md.split('\n').filter((l) => /^\| (full|WAL|differential|reverse)/.test(l)).length, 5);
    assert.equal(md.split('\n').filter((l) => /^\| MariaDB /.test(l)).length, mariadbRows.length);
    assert.match(await readFile(join(dir, 'dbtool-lab.svg'), 'utf8'), /^<svg [^>]*>[\s\S]*all as expected[\s\S]*<\/svg>\n$/);
    const sandbox = /lab: sandbox (\S+)/.exec(r.stderr)?.[1];
    assert.ok(sandbox, r.stderr);
    assert.ok(!existsSync(sandbox), 'the sandbox is removed');
  });
});
