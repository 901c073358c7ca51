// Text and JSON renderings of command results for stdout.

import type { ExpireResult } from '../command/expire/index.js';
import type { InfoReport } from '../command/info/index.js';
import type { LabResult } from '../command/lab/index.js';
import type { RestoreResult } from '../command/restore/index.js';
import type { VerifyReport } from '../command/verify/index.js';
import type { RestoreTestReport } from '../command/verify/restore-test.js';
import { formatBytes, formatDuration, formatTable } from './format.js';

type Out = (text: string) => void;

export function printInfo(r: InfoReport, json: boolean, out: Out): void {
  if (json) {
    out(JSON.stringify(r, null, 2));
    return;
  }
  out(`repository ${r.repository}${r.encrypted ? ' (encrypted)' : ''}, source ${r.source}`);
  if (r.backups.length === 0) out('no backups yet');
  else {
    out(
      formatTable(
        ['label', 'type', 'parent', 'stop time (UTC)', 'start LSN', 'stop LSN', 'database', 'new', 'stored', 'unique'],
        r.backups.map((b) => [b.label, b.type, b.parent ?? '-', b.stopTime, b.startLsn ?? b.mysql?.fromLsn ?? '-', b.stopLsn ?? b.mysql?.toLsn ?? '-', formatBytes(b.databaseBytes), formatBytes(b.newBytes), formatBytes(b.storedBytes), formatBytes(b.uniqueBytes)]),
      ),
    );
  }
  for (const c of r.chains) out(`chain ${c.root}${c.members.length ? ` → ${c.members.join(' → ')}` : ''}`);
  if (r.archive.length === 0) out('archive: empty');
  for (const a of r.archive) {
    const gaps = a.gaps.length ? `; gaps: ${a.gaps.map((g) => (g.from === g.to ? g.from : `${g.from}..${g.to}`)).join(', ')}` : '';
    out(`archive timeline ${a.timeline}: ${a.segments ? `${a.from} .. ${a.to} (${a.segments} segments)` : 'no segments'}${a.histories.length ? `, history ${a.histories.join(' ')}` : ''}${gaps}`);
  }
  const w = r.restorableWindow;
  if (r.binlogWindow !== undefined) {
    const b = r.binlogs;
    out(b ? `binlogs ${b.from} .. ${b.to} (${b.files} files, events ${b.firstTime} .. ${b.lastTime})${b.gaps.length ? `; gaps: ${b.gaps.join(', ')}` : ''}` : 'binlogs: none archived');
    out(r.binlogWindow ? `restorable: ${r.binlogWindow.from} .. ${r.binlogWindow.to}` : 'restorable: nothing yet');
    return;
  }
  out(w ? `restorable: ${w.from} (LSN ${w.fromLsn}) .. ${w.to} (LSN ${w.toLsn}, timeline ${w.timeline})` : 'restorable: nothing yet');
}

export function printRestore(r: RestoreResult, json: boolean, out: Out): void {
  if (json) {
    out(JSON.stringify(r));
    return;
  }
  out(`restored backup ${r.label} into ${r.targetDir} (${r.files} files, ${formatBytes(r.bytes)}), recovery target: ${r.target}`);
  if (r.recovery) {
    const rec = r.recovery;
    out(`recovery ${rec.state}: stopped at LSN ${rec.lsn ?? '?'}${rec.lastTransactionTime ? `, last transaction ${rec.lastTransactionTime}` : ''}, timeline ${rec.timeline ?? '?'}`);
  } else out('start it with: pg_ctl start -D ' + r.targetDir);
}

export function printLab(r: LabResult, json: boolean, out: Out): void {
  if (r.delegated) {
    if (!json) out(`report: ${r.files.join(', ')}`);
    return;
  }
  if (json) {
    out(JSON.stringify(r, null, 2));
    return;
  }
  out('');
  out(formatTable(['step', 'time', 'size', 'check'], r.steps.map((s) => [s.step, formatDuration(s.ms), s.bytes !== undefined ? formatBytes(s.bytes) : '', s.check ?? ''])));
  out('');
  out(
    formatTable(
      ['strategy', 'backup time', 'size stored', 'restore time', 'restore speed', 'rollback ability', 'checked restores'],
      r.strategies.map((s) => [s.name, formatDuration(s.backupMs), formatBytes(s.storedBytes), formatDuration(s.restoreMs), `${formatBytes(s.restoreBytes / Math.max(s.restoreMs / 1000, 0.001))}/s`, s.rollback, s.checks.map((c) => `${c.rows}/${c.expectedRows} ${c.ok ? 'ok' : 'WRONG'}`).join(', ')]),
    ),
  );
  out('');
  out(r.summary);
  if (r.files.length) out(`report: ${r.files.join(', ')}`);
  if (r.keptDir) out(`sandbox kept in ${r.keptDir}`);
}

export function printVerify(r: VerifyReport, json: boolean, out: Out): void {
  if (json) {
    out(JSON.stringify(r, null, 2));
    return;
  }
  const rate = r.seconds > 0 ? `, ${formatBytes((r.referencedBytes + r.storedBytes) / r.seconds)}/s` : '';
  out(`verified ${r.backups.length} backup(s): ${r.chunksChecked} chunks, ${formatBytes(r.referencedBytes)} referenced, ${formatBytes(r.storedBytes)} stored, in ${formatDuration(r.seconds * 1000)}${rate}`);
  for (const c of r.badChunks) out(`chunk ${c.id} ${c.problem}: breaks backup(s) ${c.backups.join(', ')}; files ${c.files.join(', ')}`);
  for (const m of r.badManifests) out(`manifest ${m.label}: ${m.problems.join('; ')}`);
  for (const w of r.missingWal) out(`backup ${w.label}: WAL not archived: ${w.segments.join(', ')}`);
  for (const g of r.gaps) out(`archive gap on timeline ${g.timeline}: ${g.from === g.to ? g.from : `${g.from} .. ${g.to}`}`);
  for (const p of r.binlogProblems ?? []) out(p);
  if (r.ok) out('everything verified');
}

export function printRestoreTest(r: RestoreTestReport, json: boolean, out: Out): void {
  if (json) {
    out(JSON.stringify(r, null, 2));
    return;
  }
  out(`restore test of ${r.backup}: restored and recovered in ${formatDuration(r.restoreSeconds * 1000)}; ${r.checker ?? 'pg_amcheck'} ${r.amcheck.ok ? 'clean' : 'FAILED'}`);
  if (r.amcheck.output) out(r.amcheck.output);
  if (r.tables.length) {
    out(formatTable(['database', 'table', 'rows'], r.tables.map((t) => [t.database, t.table, String(t.rows)])));
    out(`read ${r.totalRows} rows in ${r.tables.length} tables in ${formatDuration(r.readSeconds * 1000)}`);
  }
  if (r.ok) out('restore test passed');
}

export function printExpire(r: ExpireResult, json: boolean, out: Out): void {
  if (json) {
    out(JSON.stringify(r, null, 2));
    return;
  }
  const verb = r.dryRun ? 'would remove' : 'removed';
  out(`${r.dryRun ? 'dry run: ' : ''}${verb} ${r.plan.expire.length} backup(s)${r.plan.expire.length ? `: ${r.plan.expire.join(', ')}` : ''}`);
  for (const label of r.plan.keep) out(`keep ${label}: ${r.plan.reasons[label]!.join('; ')}`);
  out(`${verb} ${r.archive.files} archive file(s) (${formatBytes(r.archive.bytes)})${r.archive.first ? `: ${r.archive.first} .. ${r.archive.last}` : ''}`);
  if (r.binlogs) out(`${verb} ${r.binlogs.files} binlog(s) (${formatBytes(r.binlogs.bytes)})${r.binlogs.first ? `: ${r.binlogs.first} .. ${r.binlogs.last}` : ''}`);
  out(`${verb} ${r.chunks.count} chunk(s) no kept backup references (${formatBytes(r.chunks.bytes)})${r.gcSkipped ? `; chunk collection skipped: ${r.gcSkipped}` : ''}`);
}
