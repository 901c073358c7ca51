// Replay binlog files into a running server: mariadb-binlog/mysqlbinlog (from a start position, up
// to a stop time or position) piped into the mariadb/mysql client.

import { spawn } from 'node:child_process';
import { dbtoolError } from '../../core/errors.js';
import { requireTool } from './binaries.js';
import { writeToolOptionFile } from './connection.js';
import type { MysqlConnectionOptions } from './connection.js';
import { FLAVOURS } from './flavours.js';
import type { MysqlFlavour } from './flavours.js';

export interface ReplayOptions {
  /** local binlog files in order */
  files: string[];
  /** position in the first file */
  startPosition: number;
  /** stop before the first event at or after this time, or at this position of the last file */
  stop: { kind: 'time'; time: Date } | { kind: 'position'; position: number } | { kind: 'gtid'; gtid: string };
  /** the server to apply to */
  connection: MysqlConnectionOptions;
  flavour: MysqlFlavour;
}

/** The --stop-datetime for a target, 'YYYY-MM-DD hh:mm:ss' in UTC (the tool runs with TZ=UTC). */
export function binlogDatetime(t: Date): string {
  // Event times are whole seconds: every event logged in the target's second or before is applied
  // (the tool stops at the first event at or after this instant).
  const up = new Date((Math.floor(t.getTime() / 1000) + 1) * 1000);
  return up.toISOString().slice(0, 19).replace('T', ' ');
}

export async function replayBinlogs(o: ReplayOptions): Promise<void> {
  const fl = FLAVOURS[o.flavour];
  const pkg = fl.clientPackage;
  const binlogTool = requireTool(fl.binlog, 'the binlog tool', pkg);
  const client = requireTool(fl.client, 'the client', pkg);
  const optionFile = await writeToolOptionFile(o.connection);
  try {
    // A GTID stop is inclusive (MariaDB 10.8+); a numeric one applies to the last file.
    const stop = o.stop.kind === 'time' ? `--stop-datetime=${binlogDatetime(o.stop.time)}` : o.stop.kind === 'gtid' ? `--stop-position=${o.stop.gtid}` : `--stop-position=${o.stop.position}`;
    const reader = spawn(binlogTool, ['--no-defaults', `--start-position=${o.startPosition}`, stop, ...o.files], { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const writer = spawn(client, [optionFile.arg, '--binary-mode'], { stdio: ['pipe', 'ignore', 'pipe'] });
    const collect = (s: NodeJS.ReadableStream) => {
      let text = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (text = (text + d).slice(-16384)));
      return () => text.trim().split('\n').slice(-2).join(' | ');
    };
    const readerErr = collect(reader.stderr);
    const writerErr = collect(writer.stderr);
    reader.stdout.pipe(writer.stdin);
    writer.stdin.on('error', () => undefined);
    const done = (c: ReturnType<typeof spawn>, name: string) =>
      new Promise<number | null>((resolve, reject) => {
        c.on('error', (e) => reject(dbtoolError('TOOL_MISSING', `cannot run ${name} (${e.message})`, `Install the ${pkg} package`, e)));
        c.on('close', (code) => resolve(code));
      });
    const [rc, wc] = await Promise.all([done(reader, binlogTool), done(writer, client)]);
    if (rc !== 0) throw dbtoolError('RECOVERY_FAILED', `reading the archived binlogs failed (${binlogTool}, exit ${rc}): ${readerErr()}`, 'Run `dbtool verify`; the archive may be damaged');
    if (wc !== 0) throw dbtoolError('RECOVERY_FAILED', `applying the archived binlogs failed (${client}, exit ${wc}): ${writerErr()}`, 'The restored server is running but stopped short of the target; check its log');
  } finally {
    await optionFile.remove();
  }
}
