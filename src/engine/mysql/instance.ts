// Control of a MySQL/MariaDB data directory on this host: start mysqld detached on 127.0.0.1 with
// its socket in a given place, wait until it answers, stop it.

import { spawn } from 'node:child_process';
import { chownSync, openSync, closeSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError } from '../../core/errors.js';
import { spawnOptionsFor } from '../../core/os-user.js';
import type { OsUser } from '../../core/os-user.js';
import { requireTool } from './binaries.js';
import { connectMysql } from './connection.js';
import { FLAVOURS } from './flavours.js';
import type { MysqlFlavour } from './flavours.js';

export interface MysqldOptions {
  dataDir: string;
  port: number;
  socket: string;
  pidFile: string;
  logFile: string;
  runAs: OsUser | undefined;
  flavour?: MysqlFlavour;
  /** extra server options, e.g. ['--log-bin=…', '--server-id=1'] */
  args?: string[];
  /** default 120 s */
  timeoutMs?: number;
  /** read server options from this file (e.g. a restored backup's backup-my.cnf) instead of none */
  defaultsFile?: string;
}

export interface MysqldHandle {
  pid: number;
  port: number;
  socket: string;
  stop(): Promise<void>;
}

function tail(path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-n).join(' | ');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server's own arguments: no option files, only what we say. */
export function mysqldArgs(o: MysqldOptions): string[] {
  return [
    o.defaultsFile ? `--defaults-file=${o.defaultsFile}` : '--no-defaults',
    `--datadir=${o.dataDir}`,
    `--port=${o.port}`,
    '--bind-address=127.0.0.1',
    `--socket=${o.socket}`,
    `--pid-file=${o.pidFile}`,
    `--log-error=${o.logFile}`,
    '--skip-name-resolve',
    ...(o.args ?? []),
  ];
}

/** Start mysqld detached (it outlives us) and wait until it answers on its socket. */
export async function startMysqld(o: MysqldOptions): Promise<MysqldHandle> {
  const bin = requireTool(FLAVOURS[o.flavour ?? 'mariadb'].server, 'the MySQL/MariaDB server', 'mariadb-server');
  const out = openSync(o.logFile, 'a');
  // The server reopens its log as itself.
  if (o.runAs) chownSync(o.logFile, o.runAs.uid, o.runAs.gid);
  const child = spawn(bin, mysqldArgs(o), { ...spawnOptionsFor(o.runAs), cwd: '/', detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = -1));
  child.unref();
  const pid = child.pid ?? -1;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    if (exited !== undefined) {
      throw dbtoolError('SERVER_START_FAILED', `the server in ${o.dataDir} exited at startup (code ${exited}): ${tail(o.logFile, 3)}`, `See ${o.logFile}`);
    }
    try {
      const conn = await connectMysql({ socket: o.socket, user: 'root', connectTimeout: 2 });
      await conn.end();
      break;
    } catch (e) {
      // Any answer but "not there yet" means it is up (e.g. root needs a password there).
      if ((e as { code?: string }).code === 'SERVER_AUTH') break;
    }
    if (Date.now() > deadline) {
      throw dbtoolError('SERVER_START_FAILED', `the server in ${o.dataDir} did not answer within ${Math.round((o.timeoutMs ?? 120_000) / 1000)} s: ${tail(o.logFile, 3)}`, `See ${o.logFile}`);
    }
    await sleep(200);
  }
  return { pid, port: o.port, socket: o.socket, stop: () => stopMysqld(pid) };
}

/** SIGTERM (a clean shutdown) and wait until the process is gone. */
export async function stopMysqld(pid: number, timeoutMs = 60_000): Promise<void> {
  if (pid <= 0 || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await sleep(100);
  }
}
