// `dbtool binlog-archive --once`: rotate the server's binlog, then copy every complete binlog file
// not yet in the repository into it (write-once objects, each with its index entry written last).

import { stat } from 'node:fs/promises';
import { dbtoolError } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import { fetchBinlog, listServerBinlogs, rotateBinlog } from '../../engine/mysql/binlog-source.js';
import { connectMysql, mapMysqlError } from '../../engine/mysql/connection.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { serverFacts } from '../../engine/mysql/server-facts.js';
import { BinlogScanner } from '../../engine/mysql/binlog-file.js';
import { listBinlogs, putBinlogFile } from '../../repo/binlog-archive.js';
import type { Repository } from '../../repo/repository.js';
import { claimSource } from '../../repo/source-identity.js';

export interface BinlogArchiveOptions {
  repo: Repository;
  source: string;
  connection: MysqlConnectionOptions;
  reporter: Reporter;
}

export interface BinlogArchiveResult {
  archived: string[];
  /** complete files already in the repository */
  skipped: number;
  /** the file the server writes now (archived by the next run) */
  current: string | undefined;
}

export async function binlogArchiveOnce(o: BinlogArchiveOptions): Promise<BinlogArchiveResult> {
  const conn = await connectMysql(o.connection);
  try {
    const facts = await serverFacts(conn);
    if (!facts.logBin) {
      throw dbtoolError('SERVER_CONFIG', 'binary logging is off on this server: there are no binlogs to archive', 'Start the server with log-bin (and a server-id), then take a new full backup');
    }
    await claimSource(o.repo, o.source, 'mysql', facts.systemId);
    // Rotating first makes everything written so far part of a complete file.
    await rotateBinlog(conn).catch((e: unknown) => {
      throw mapMysqlError(e, o.connection);
    });
    const onServer = await listServerBinlogs(conn);
    const have = new Set((await listBinlogs(o.repo, o.source)).map((b) => b.name));
    const complete = onServer.slice(0, -1);
    const result: BinlogArchiveResult = { archived: [], skipped: 0, current: onServer[onServer.length - 1]?.name };
    for (const b of complete) {
      if (have.has(b.name)) {
        result.skipped++;
        continue;
      }
      const { binlog } = await fetchBinlog(o.connection, facts.flavour, b.name, async (path) => {
        const copied = (await stat(path)).size;
        if (copied !== b.size) throw dbtoolError('TOOL_FAILED', `binlog ${b.name} copied as ${copied} bytes, but the server lists ${b.size}`, 'Retry; check the server log');
        return putBinlogFile(o.repo, o.source, b.name, path, new BinlogScanner());
      });
      result.archived.push(b.name);
      o.reporter.info(`binlog-archive: ${b.name} (${binlog.size} bytes, events ${binlog.firstTime} .. ${binlog.lastTime})`);
    }
    return result;
  } finally {
    await conn.end().catch(() => undefined);
  }
}
