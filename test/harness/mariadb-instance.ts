// Test harness: throw-away MariaDB instances (mariadb-install-db in a temp dir, mariadbd on a free
// port with binlogs on), and CHECKSUM TABLE of every user table.

import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from 'mysql2/promise';
import { freePort } from '../../src/core/free-port.js';
import { onProcessExit } from '../../src/core/on-process-exit.js';
import { resolveRunAs, spawnOptionsFor } from '../../src/core/os-user.js';
import type { OsUser } from '../../src/core/os-user.js';
import { requireTool } from '../../src/engine/mysql/binaries.js';
import { connectMysql } from '../../src/engine/mysql/connection.js';
import type { MysqlConnectionOptions } from '../../src/engine/mysql/connection.js';
import { FLAVOURS } from '../../src/engine/mysql/flavours.js';
import { startMysqld } from '../../src/engine/mysql/instance.js';
import type { MysqldHandle } from '../../src/engine/mysql/instance.js';
import { killAndRemove } from './kill-and-remove.js';
import { makeTempDir } from './pg-cluster.js';

const run = promisify(execFile);

export interface TestMariadb {
  baseDir: string;
  dataDir: string;
  port: number;
  socket: string;
  runAs: OsUser | undefined;
  handle: MysqldHandle;
  /** root over the socket */
  connection: MysqlConnectionOptions;
  /** run SQL (several statements allowed) on a short-lived root connection; rows of the last one */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** what the staged CLI needs to reach this server as root over TCP */
  env: Record<string, string>;
  destroy(): Promise<void>;
}

export interface StartMariadbOptions {
  /** default true */
  binlog?: boolean;
  /** more server options, after the harness's own (so they win), e.g. a bigger buffer pool */
  args?: string[];
}

// Servers are detached (they outlive us): at exit, those still here are stopped and their dirs deleted.
const live = new Map<string, string>(); // baseDir → pid file
let hooked = false;

/** SIGKILL the server, wait briefly, delete the dir. */
function stopAndRemove(baseDir: string, pidFile: string): void {
  killAndRemove(baseDir, pidFile, 'SIGKILL');
  live.delete(baseDir);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  onProcessExit(() => {
    for (const [dir, pidFile] of [...live]) stopAndRemove(dir, pidFile);
  });
}

/** Register another server's dir (e.g. a restored one started by the CLI) for cleanup on exit. */
export function trackServerDir(baseDir: string, pidFile: string): void {
  hook();
  live.set(baseDir, pidFile);
}

export async function stopServerDir(baseDir: string): Promise<void> {
  const pidFile = live.get(baseDir);
  if (pidFile) stopAndRemove(baseDir, pidFile);
  else await rm(baseDir, { recursive: true, force: true });
}

/** The unprivileged OS user servers run as: `mysql` when we are root. */
export function mysqlRunAs(): OsUser | undefined {
  return resolveRunAs('mysql');
}

export async function startMariadb(opts: StartMariadbOptions = {}): Promise<TestMariadb> {
  hook();
  const runAs = mysqlRunAs();
  const baseDir = await makeTempDir('dbtool-my-', runAs);
  const dataDir = join(baseDir, 'data');
  const pidFile = join(baseDir, 'mysqld.pid');
  const socket = join(baseDir, 'mysqld.sock');
  live.set(baseDir, pidFile);
  try {
    const installDb = requireTool(FLAVOURS.mariadb.installDb, 'mariadb-install-db', 'mariadb-server');
    await run(installDb, ['--no-defaults', `--datadir=${dataDir}`, ...(runAs ? [`--user=${runAs.name}`] : []), '--auth-root-authentication-method=normal', '--skip-test-db', '--innodb-log-file-size=16M'], {
      ...spawnOptionsFor(undefined),
      cwd: '/',
    });
    const port = await freePort();
    const binlog = opts.binlog ?? true;
    const handle = await startMysqld({
      dataDir,
      port,
      socket,
      pidFile,
      logFile: join(baseDir, 'error.log'),
      runAs,
      args: [
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--max-connections=30',
        ...(binlog ? [`--log-bin=${join(dataDir, 'binlog')}`, '--server-id=1', '--binlog-format=ROW'] : []),
        ...(opts.args ?? []),
      ],
    });
    const connection: MysqlConnectionOptions = { socket, user: 'root' };
    const server: TestMariadb = {
      baseDir,
      dataDir,
      port,
      socket,
      runAs,
      handle,
      connection,
      env: { DB_ENGINE: 'mysql', DB_HOST: '127.0.0.1', DB_PORT: String(port), DB_USER: 'root' },
      async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
        const conn = await connectMysql(connection);
        try {
          const [rows] = await conn.query(sql, params);
          // Several statements: one result per statement; the last is the answer.
          const list = rows as unknown[];
          const last = sql.includes(';') && Array.isArray(list[0]) ? list[list.length - 1] : rows;
          return (Array.isArray(last) ? last : []) as T[];
        } finally {
          await conn.end();
        }
      },
      async destroy() {
        if (!live.has(baseDir)) return;
        await handle.stop().catch(() => undefined);
        await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
        live.delete(baseDir);
      },
    };
    return server;
  } catch (e) {
    stopAndRemove(baseDir, pidFile);
    throw e;
  }
}

/** `{ 'db.table': checksum }` for every base table of every user database (CHECKSUM TABLE). */
export async function checksumTables(conn: Connection): Promise<Record<string, string>> {
  const [tables] = await conn.query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES
      WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
      ORDER BY 1, 2`,
  );
  const out: Record<string, string> = {};
  for (const t of tables as Array<{ db: string; name: string }>) {
    const [rows] = await conn.query(`CHECKSUM TABLE \`${t.db.replace(/`/g, '``')}\`.\`${t.name.replace(/`/g, '``')}\` EXTENDED`);
    const row = (rows as Array<{ Checksum: string | number | null }>)[0];
    out[`${t.db}.${t.name}`] = String(row?.Checksum ?? 'missing');
  }
  return out;
}

/** checksumTables on a fresh connection. */
export async function checksums(o: MysqlConnectionOptions): Promise<Record<string, string>> {
  const conn = await connectMysql(o);
  try {
    return await checksumTables(conn);
  } finally {
    await conn.end();
  }
}
