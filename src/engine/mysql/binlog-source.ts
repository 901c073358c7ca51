// Binlogs of a live server: rotate, list, and copy one file byte for byte over the replication
// protocol (mariadb-binlog/mysqlbinlog --read-from-remote-server --raw).

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { dbtoolError } from '../../core/errors.js';
import { requireTool } from './binaries.js';
import { writeToolOptionFile } from './connection.js';
import type { MysqlConnectionOptions } from './connection.js';
import { FLAVOURS } from './flavours.js';
import type { MysqlFlavour } from './flavours.js';

export interface ServerBinlog {
  name: string;
  size: number;
}

/** Close the current binlog and open a new one, so every earlier file is complete. */
export async function rotateBinlog(conn: Connection): Promise<void> {
  await conn.query('FLUSH BINARY LOGS');
}

/** The server's binlogs, oldest first; the last one is the one being written. */
export async function listServerBinlogs(conn: Connection): Promise<ServerBinlog[]> {
  const [rows] = await conn.query('SHOW BINARY LOGS');
  return (rows as Array<{ Log_name: string; File_size: number | string }>).map((r) => ({ name: r.Log_name, size: Number(r.File_size) }));
}

/** One binlog file copied from the server into a private temporary file, handed to `use`, then removed. */
export async function fetchBinlog<T>(o: MysqlConnectionOptions, flavour: MysqlFlavour, name: string, use: (path: string) => Promise<T>): Promise<T> {
  const tool = requireTool(FLAVOURS[flavour].binlog, 'the binlog tool', FLAVOURS[flavour].clientPackage);
  const optionFile = await writeToolOptionFile(o);
  const dir = await mkdtemp(join(tmpdir(), 'dbtool-binlog-'));
  try {
    const args = [optionFile.arg, '--read-from-remote-server', '--raw', `--result-file=${dir}/`, name];
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(tool, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-16384)));
      child.on('error', (e) => reject(dbtoolError('TOOL_MISSING', `cannot run ${tool} (${e.message})`, 'Install the MariaDB/MySQL client package', e)));
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    if (code !== 0) throw dbtoolError('TOOL_FAILED', `copying binlog ${name} failed (exit ${code}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`, 'The user needs the REPLICATION SLAVE privilege; check the server log');
    return await use(join(dir, name));
  } finally {
    await optionFile.remove();
    await rm(dir, { recursive: true, force: true });
  }
}
