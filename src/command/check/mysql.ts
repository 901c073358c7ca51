// `dbtool check` for a MySQL/MariaDB source: binlogs on with a server id, the backup tool
// installed, then the proof: one binlog-archive pass (rotate, copy) must land in the repository.

import { basename } from 'node:path';
import { dbtoolError } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import { connectMysql } from '../../engine/mysql/connection.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { backupTool } from '../../engine/mysql/physical-backup.js';
import { serverFacts } from '../../engine/mysql/server-facts.js';
import type { MysqlServerFacts } from '../../engine/mysql/server-facts.js';
import type { Repository } from '../../repo/repository.js';
import { binlogArchiveOnce } from '../binlog-archive/index.js';

export interface MysqlCheckResult {
  version: string;
  logBin: boolean;
  binlogFormat: string;
  serverId: number;
  backupTool: string;
  /** the newest archived binlog after the proof pass */
  archived: string;
  warnings: string[];
}

export interface MysqlServerSettings {
  logBin: boolean;
  binlogFormat: string;
  serverId: number;
}

/** Pure: what stops PITR (errors) and what weakens it (warnings). */
export function mysqlSettingsProblems(s: MysqlServerSettings): { errors: Array<{ message: string; hint: string }>; warnings: string[] } {
  const errors: Array<{ message: string; hint: string }> = [];
  const warnings: string[] = [];
  if (!s.logBin) errors.push({ message: 'binary logging is off on this server (log_bin OFF), so there is no point-in-time recovery', hint: 'Start the server with log-bin and server-id set, then take a new full backup' });
  if (s.logBin && s.serverId === 0) errors.push({ message: 'server_id is 0, so the server refuses binlog clients', hint: 'Set server-id to a non-zero value and restart' });
  if (s.binlogFormat.toUpperCase() !== 'ROW') warnings.push(`binlog_format is ${s.binlogFormat}: replay of non-deterministic statements may differ; ROW is safest`);
  return { errors, warnings };
}

export async function checkMysql(o: { repo: Repository; source: string; connection: MysqlConnectionOptions; reporter: Reporter }): Promise<MysqlCheckResult> {
  const conn = await connectMysql(o.connection);
  let facts: MysqlServerFacts;
  let settings: MysqlServerSettings;
  try {
    facts = await serverFacts(conn);
    const [rows] = await conn.query('SELECT @@binlog_format AS fmt, @@server_id AS id');
    const row = (rows as Array<{ fmt: string; id: number }>)[0]!;
    settings = { logBin: facts.logBin, binlogFormat: String(row.fmt), serverId: Number(row.id) };
  } finally {
    await conn.end().catch(() => undefined);
  }
  const { errors, warnings } = mysqlSettingsProblems(settings);
  const first = errors[0];
  if (first) throw dbtoolError('SERVER_CONFIG', first.message, first.hint);
  for (const w of warnings) o.reporter.warn(w);
  const tool = backupTool(facts.flavour);
  const pass = await binlogArchiveOnce({ repo: o.repo, source: o.source, connection: o.connection, reporter: o.reporter });
  const archived = pass.archived[pass.archived.length - 1];
  if (!archived) throw dbtoolError('ARCHIVE_MISSING', 'the rotated binlog did not reach the repository', 'Run `dbtool binlog-archive --once` and read its error');
  return { version: facts.version, ...settings, backupTool: basename(tool), archived, warnings };
}
