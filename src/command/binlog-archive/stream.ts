// `dbtool binlog-archive` (continuous): mariadb-binlog --read-from-remote-server --raw --stop-never
// spools the binlogs from the first one not yet archived; each spooled file is archived once the
// next one appears (it is complete then). A restart starts again from the first unarchived file,
// so a file that was partly spooled is fetched whole, and an archived one is never fetched again.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import { requireTool } from '../../engine/mysql/binaries.js';
import { listServerBinlogs } from '../../engine/mysql/binlog-source.js';
import { connectMysql, writeToolOptionFile } from '../../engine/mysql/connection.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { FLAVOURS } from '../../engine/mysql/flavours.js';
import type { MysqlFlavour } from '../../engine/mysql/flavours.js';
import { serverFacts } from '../../engine/mysql/server-facts.js';
import { BinlogScanner } from '../../engine/mysql/binlog-file.js';
import { binlogSeq, listBinlogs, putBinlogFile } from '../../repo/binlog-archive.js';
import type { Repository } from '../../repo/repository.js';
import { claimSource } from '../../repo/source-identity.js';

export interface BinlogStreamOptions {
  repo: Repository;
  source: string;
  connection: MysqlConnectionOptions;
  reporter: Reporter;
  /** stops the stream; complete spooled files are archived before returning */
  signal: AbortSignal;
  /** ms between looks at the spool (default 500) */
  pollMs?: number;
}

export async function binlogArchiveStream(o: BinlogStreamOptions): Promise<{ archived: string[] }> {
  const conn = await connectMysql(o.connection);
  let start: string;
  let flavour: MysqlFlavour;
  try {
    const facts = await serverFacts(conn);
    flavour = facts.flavour;
    if (!facts.logBin) throw dbtoolError('SERVER_CONFIG', 'binary logging is off on this server: there are no binlogs to archive', 'Start the server with log-bin (and a server-id), then take a new full backup');
    await claimSource(o.repo, o.source, 'mysql', facts.systemId);
    const archived = await listBinlogs(o.repo, o.source);
    const lastSeq = archived.length ? archived[archived.length - 1]!.seq : -1;
    const onServer = await listServerBinlogs(conn);
    const next = onServer.find((b) => (binlogSeq(b.name) ?? -1) > lastSeq);
    if (!next) throw dbtoolError('SERVER_CONFIG', 'the server lists no binlog after the last archived one', 'Check SHOW BINARY LOGS');
    if (lastSeq >= 0 && binlogSeq(next.name) !== lastSeq + 1) o.reporter.warn(`binlogs after ${archived[archived.length - 1]!.name} up to ${next.name} are gone from the server: the archive has a gap`);
    start = next.name;
  } finally {
    await conn.end().catch(() => undefined);
  }

  const tool = requireTool(FLAVOURS[flavour].binlog, 'the binlog tool', FLAVOURS[flavour].clientPackage);
  const optionFile = await writeToolOptionFile(o.connection);
  const spool = await mkdtemp(join(tmpdir(), 'dbtool-binlog-spool-'));
  const done: string[] = [];
  const archiveComplete = async () => {
    const names = (await readdir(spool)).filter((n) => binlogSeq(n) !== undefined).sort((a, b) => binlogSeq(a)! - binlogSeq(b)!);
    // The newest spooled file may still grow; the ones before it are complete.
    for (const name of names.slice(0, -1)) {
      const { binlog } = await putBinlogFile(o.repo, o.source, name, join(spool, name), new BinlogScanner());
      await rm(join(spool, name));
      done.push(name);
      o.reporter.info(`binlog-archive: ${name} (${binlog.size} bytes, events ${binlog.firstTime} .. ${binlog.lastTime})`);
    }
  };
  try {
    o.reporter.info(`binlog-archive: streaming from ${start}`);
    const child = spawn(tool, [optionFile.arg, '--read-from-remote-server', '--raw', '--stop-never', `--result-file=${spool}/`, start], { cwd: spool, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-16384)));
    let exited: number | null | undefined;
    child.on('close', (code) => (exited = code));
    child.on('error', () => (exited = -1));
    const stop = () => child.kill('SIGTERM');
    o.signal.addEventListener('abort', stop, { once: true });
    try {
      while (!o.signal.aborted && exited === undefined) {
        await archiveComplete();
        await sleep(o.pollMs ?? 500);
      }
      if (exited !== undefined && !o.signal.aborted) {
        throw dbtoolError('TOOL_FAILED', `${tool} stopped (exit ${exited}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`, 'Check the server and the REPLICATION SLAVE privilege; restart binlog-archive (it resumes)');
      }
    } finally {
      o.signal.removeEventListener('abort', stop);
      if (exited === undefined) child.kill('SIGTERM');
      await archiveComplete();
    }
    return { archived: done };
  } finally {
    await optionFile.remove();
    await rm(spool, { recursive: true, force: true });
  }
}
