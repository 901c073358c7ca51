// Text for the console's results: SQL rows as an aligned table (long values cut, line breaks
// shown as ↵), backups, extracts; info/verify/restore reuse the CLI's renderings.

import type { ConsoleResult, SqlTable } from '../../command/console/session.js';
import { helpText } from '../../command/console/grammar.js';
import type { SqlValue } from '../../engine/sql-session.js';
import { formatBytes, formatDuration, formatTable } from '../format.js';
import { printInfo, printRestore, printVerify } from '../output.js';
import { printMysqlRestore } from '../mysql-output.js';

/** Longest value shown in a cell; longer ones end in an ellipsis. */
export const CELL_WIDTH = 40;

export function cell(v: SqlValue, width = CELL_WIDTH): string {
  if (v === null) return 'NULL';
  const flat = v.replace(/\r\n|\r|\n/g, '↵').replace(/\t/g, ' ');
  const chars = [...flat];
  return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : flat;
}

export function renderSqlTable(t: SqlTable): string {
  const time = formatDuration(t.ms);
  if (t.columns.length === 0) return `${t.command}${t.rowCount ? ` ${t.rowCount}` : ''} (${time})`;
  const table = formatTable(t.columns.map((c) => cell(c)), t.rows.map((r) => r.map((v) => cell(v))));
  const more = t.rowCount > t.rows.length ? `, first ${t.rows.length} shown` : '';
  return `${table}\n(${t.rowCount} ${t.rowCount === 1 ? 'row' : 'rows'}${more}, ${time})`;
}

export function renderResult(r: ConsoleResult, out: (text: string) => void): void {
  switch (r.kind) {
    case 'none':
    case 'exit':
      return;
    case 'help':
      out(helpText(r.topic));
      return;
    case 'backup': {
      const m = r.manifest;
      out(`${m.type} backup ${m.label} done in ${r.repo}${m.parent ? ` (parent ${m.parent})` : ''}: ${formatBytes(m.bytes.database)} database, ${formatBytes(m.bytes.new)} new, ${formatBytes(m.bytes.stored)} stored`);
      return;
    }
    case 'sql':
      out(renderSqlTable(r.table));
      return;
    case 'extract':
      out(`wrote ${r.extract.rows} ${r.extract.rows === 1 ? 'row' : 'rows'} (${r.extract.columns.length} columns) to ${r.extract.file} in ${formatDuration(r.extract.ms)}`);
      return;
    case 'restore':
      printRestore(r.result, false, out);
      return;
    case 'mysql-restore':
      printMysqlRestore(r.result, false, out);
      return;
    case 'info':
      printInfo(r.report, false, out);
      return;
    case 'verify':
      printVerify(r.report, false, out);
      return;
  }
}
