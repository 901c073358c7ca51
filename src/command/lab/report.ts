// The lab's comparison table (the seed's: size, restore speed, rollback ability, cost) as
// Markdown, and as an SVG bar chart a person would rather look at. Pure: strategies in, text out.

export interface LabCheck {
  /** what was restored, e.g. `backup 20261124T…-D`, `time 2026-11-24T…Z` */
  restored: string;
  expectedRows: number;
  rows: number;
  ok: boolean;
  ms: number;
}

export interface LabStrategy {
  name: string;
  /** what the strategy's backup step was, e.g. `full backup 2026…-F` */
  backup: string;
  backupMs: number;
  /** bytes this strategy added to the repository (compressed) */
  storedBytes: number;
  /** size of the database the backups were taken of */
  databaseBytes: number;
  /** the strategy's main restore: time and plaintext bytes written */
  restoreMs: number;
  restoreBytes: number;
  rollback: string;
  cost: string;
  checks: LabCheck[];
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}

function secs(ms: number): string {
  return (ms / 1000).toFixed(2);
}

export function restoreSpeed(s: Pick<LabStrategy, 'restoreBytes' | 'restoreMs'>): number {
  return s.restoreBytes / 1048576 / Math.max(s.restoreMs / 1000, 0.001);
}

export function labMarkdown(strategies: LabStrategy[], context: string): string {
  const esc = (t: string) => t.replace(/\|/g, '\\|');
  const lines = [
    '# dbtool lab: backup strategies compared',
    '',
    context,
    '',
    '| strategy | backup | backup time (s) | size stored (MiB) | restore time (s) | restore speed (MiB/s) | rollback ability | cost | checked restores |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |',
    ...strategies.map((s) =>
      `| ${esc(s.name)} | ${esc(s.backup)} | ${secs(s.backupMs)} | ${mib(s.storedBytes)} | ${secs(s.restoreMs)} | ${restoreSpeed(s).toFixed(0)} | ${esc(s.rollback)} | ${esc(s.cost)} | ${s.checks.map((c) => `${esc(c.restored)}: ${c.rows}/${c.expectedRows} rows ${c.ok ? '✓' : '✗'}`).join('; ')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

function xmlEscape(t: string): string {
  return t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Two panels of horizontal bars: size stored and restore time, one bar per strategy. */
export function labSvg(strategies: LabStrategy[]): string {
  const rowH = 28;
  const labelW = 150;
  const barW = 260;
  const panelW = labelW + barW + 90;
  const top = 50;
  const height = top + strategies.length * rowH + 30;
  const panel = (x0: number, title: string, values: number[], unit: string, color: string) => {
    const max = Math.max(...values, 1e-9);
    const bars = strategies.map((s, i) => {
      const y = top + i * rowH;
      const w = Math.max(1, (values[i]! / max) * barW);
      return [
        `<text x="${x0 + labelW - 8}" y="${y + 17}" text-anchor="end">${xmlEscape(s.name)}</text>`,
        `<rect x="${x0 + labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${color}"/>`,
        `<text x="${(x0 + labelW + w + 6).toFixed(1)}" y="${y + 17}">${values[i]!.toFixed(values[i]! >= 10 ? 0 : 1)} ${unit}</text>`,
      ].join('');
    });
    return `<text x="${x0 + labelW}" y="30" font-weight="bold">${xmlEscape(title)}</text>${bars.join('')}`;
  };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${panelW * 2}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(0, 'size stored (MiB)', strategies.map((s) => s.storedBytes / 1048576), 'MiB', '#4e79a7'),
    panel(panelW, 'restore time (s)', strategies.map((s) => s.restoreMs / 1000), 's', '#f28e2b'),
    `<text x="10" y="${height - 8}" fill="#666">every restore checked by row count: ${strategies.every((s) => s.checks.every((c) => c.ok)) ? 'all as expected' : 'SOME FAILED'}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
