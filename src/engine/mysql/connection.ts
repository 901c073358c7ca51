// Connecting to MySQL/MariaDB (mysql2), option files for its command-line tools, and mapping
// failures to clear errors.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { dbtoolError, isDbtoolError, messageOf } from '../../core/errors.js';
import type { DbtoolError } from '../../core/errors.js';
import { readOptionFile } from './option-file.js';

/** Where and as whom to connect. The password comes from config or env, never argv. */
export interface MysqlConnectionOptions {
  host?: string;
  port?: number;
  /** Unix socket; wins over host/port */
  socket?: string;
  user?: string;
  password?: string;
  database?: string;
  /** a MySQL option file the tools read first (`!include`d into the one dbtool writes) */
  defaultsFile?: string;
  /** seconds to wait for the connection */
  connectTimeout?: number;
}

export function describeMysql(o: MysqlConnectionOptions): string {
  return o.socket ? `socket ${o.socket}` : `${o.host ?? 'localhost'}:${o.port ?? 3306}`;
}

/**
 * The connection as the tools will see it: values from the option file's client groups, under
 * the ones given explicitly (a socket given explicitly wins over a host from the file, and back).
 */
export function effectiveConnection(o: MysqlConnectionOptions): MysqlConnectionOptions {
  if (!o.defaultsFile) return o;
  const f = readOptionFile(o.defaultsFile);
  const explicitTcp = o.host !== undefined || o.port !== undefined;
  return {
    ...o,
    user: o.user ?? f.user,
    password: o.password ?? f.password,
    socket: o.socket ?? (explicitTcp ? undefined : f.socket),
    host: o.host ?? (o.socket !== undefined ? undefined : f.host),
    port: o.port ?? (o.socket !== undefined ? undefined : f.port),
  };
}

export async function connectMysql(given: MysqlConnectionOptions): Promise<Connection> {
  const o = effectiveConnection(given);
  // Loaded here, not at start-up: most commands never talk to MySQL (≈ 75 ms of every start).
  const { default: mysql } = await import('mysql2/promise');
  try {
    return await mysql.createConnection({
      host: o.socket ? undefined : (o.host ?? '127.0.0.1'),
      port: o.socket ? undefined : (o.port ?? 3306),
      socketPath: o.socket,
      user: o.user ?? 'root',
      password: o.password,
      database: o.database,
      connectTimeout: (o.connectTimeout ?? 15) * 1000,
      multipleStatements: true,
    });
  } catch (e) {
    throw mapMysqlError(e, o);
  }
}

/** Run one statement on a short-lived connection; its rows. */
export async function queryMysql<T = Record<string, unknown>>(o: MysqlConnectionOptions, sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await connectMysql(o);
  try {
    const [rows] = await conn.query(sql, params);
    return rows as T[];
  } catch (e) {
    throw mapMysqlError(e, o);
  } finally {
    await conn.end().catch(() => undefined);
  }
}

interface MysqlErrorLike {
  code?: string;
  errno?: number;
}

export function mapMysqlError(e: unknown, o: MysqlConnectionOptions): DbtoolError {
  if (isDbtoolError(e)) return e;
  const err = e as MysqlErrorLike;
  const msg = messageOf(e);
  const where = describeMysql(o);
  const user = o.user ?? 'root';
  if (err.code === 'ER_ACCESS_DENIED_ERROR' || err.errno === 1045 || err.errno === 1698) {
    return dbtoolError('SERVER_AUTH', `authentication as '${user}' to MySQL at ${where} failed`, 'Check the user and password (DB_USER, DB_PASSWORD or the config file)', e);
  }
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'EHOSTUNREACH' || err.code === 'ETIMEDOUT') {
    return dbtoolError('SERVER_UNREACHABLE', `cannot reach MySQL at ${where} (${msg})`, 'Check that the server runs and that DB_HOST/DB_PORT or DB_SOCKET (or the config file) are right', e);
  }
  if (err.code === 'ER_BAD_DB_ERROR') {
    return dbtoolError('SERVER_CONFIG', `database '${o.database}' does not exist on ${where}`, 'Set DB_NAME to an existing database', e);
  }
  if (err.code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || err.code === 'ER_DBACCESS_DENIED_ERROR' || err.code === 'ER_TABLEACCESS_DENIED_ERROR') {
    return dbtoolError('SERVER_PRIVILEGE', `user '${user}' lacks a privilege on ${where} (${msg})`, 'Grant it the privileges a backup needs (RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR/REPLICATION CLIENT, SELECT)', e);
  }
  return dbtoolError('SERVER_PROTOCOL', `MySQL at ${where}: ${msg}`, 'Check the server log; then retry', e);
}

function optionValue(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A private option file for the command-line tools; `remove()` deletes it. */
export interface ToolOptionFile {
  /** pass as the first argument of every tool */
  arg: string;
  remove(): Promise<void>;
}

/**
 * Write the connection as an option file (mode 0600 in a private temp dir) so the password never
 * shows in argv. A user option file is `!include`d first; our values win.
 */
export async function writeToolOptionFile(given: MysqlConnectionOptions): Promise<ToolOptionFile> {
  const o = effectiveConnection(given);
  const dir = await mkdtemp(join(tmpdir(), 'dbtool-my-'));
  const lines: string[] = [];
  if (o.defaultsFile) lines.push(`!include ${o.defaultsFile}`);
  const values: string[] = [];
  if (o.user !== undefined) values.push(`user=${optionValue(o.user)}`);
  if (o.password !== undefined) values.push(`password=${optionValue(o.password)}`);
  if (o.socket !== undefined) values.push(`socket=${optionValue(o.socket)}`, 'protocol=socket');
  else {
    values.push(`host=${optionValue(o.host ?? '127.0.0.1')}`, 'protocol=tcp');
    if (o.port !== undefined) values.push(`port=${o.port}`);
  }
  // The client tools read [client]; the backup tools read their own groups.
  for (const group of ['client', 'mariadb-backup', 'mariabackup', 'xtrabackup']) lines.push(`[${group}]`, ...values);
  const path = join(dir, 'dbtool.cnf');
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { arg: `--defaults-file=${path}`, remove: () => rm(dir, { recursive: true, force: true }) };
}
