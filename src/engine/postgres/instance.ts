// Control of a PostgreSQL data directory on this host: initdb, start, wait until ready, stop, pg_controldata.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { chown, mkdir, open } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientConfig, QueryResult, QueryResultRow } from 'pg';
import { dbtoolError } from '../../core/errors.js';
import { resolveRunAs, spawnOptionsFor } from '../../core/os-user.js';
import type { OsUser } from '../../core/os-user.js';
import { pgBin } from './binaries.js';
import { mapPgError, pgClientClass } from './connection.js';

/** A running (or at least started) PostgreSQL server on this host, reachable on 127.0.0.1. */
export interface PgInstance {
  dataDir: string;
  port: number;
  socketDir: string;
  host: '127.0.0.1';
  logFile: string;
  /** the OS user the server runs as; undefined: as this process */
  runAs: OsUser | undefined;
  clientConfig(database?: string): ClientConfig;
  /** one statement (or several, without params) on a short-lived connection; rows of the last one */
  query<T extends QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  stop(mode?: StopMode): Promise<void>;
}

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface InitClusterOptions {
  dataDir: string;
  /** default: resolveRunAs() (postgres when root, else ourselves) */
  runAs?: OsUser;
  /** default C with UTF8 encoding: byte-order collation, the same on every host */
  locale?: string;
  /** name of the bootstrap superuser (default postgres) */
  superuser?: string;
  /** skip initdb's fsync: fine for throw-away clusters only */
  noSync?: boolean;
  extraArgs?: string[];
}

export interface StartInstanceOptions {
  dataDir: string;
  port: number;
  /** where the Unix socket goes (default: the data directory); must exist and be writable by runAs */
  socketDir?: string;
  /** default: resolveRunAs() */
  runAs?: OsUser;
  /** default: <dataDir>.log, outside the data directory so a backup never carries it */
  logFile?: string;
  /** passed as `-c key=value`, overriding postgresql.conf */
  settings?: Record<string, string>;
  /** role for clientConfig/query (default postgres) */
  user?: string;
  /** the server's environment, which archive_command/restore_command inherit (default: ours without libpq's PG* variables) */
  env?: NodeJS.ProcessEnv;
  /** 'ready' (default): wait until it accepts connections; 'none': return once spawned */
  wait?: 'ready' | 'none';
  /** for wait 'ready'; default 120 s */
  timeoutMs?: number;
}

interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Strip libpq variables: PGDATA/PGPORT of the caller must not leak into a server we control; nor
 * may a repository passphrase given as a value (its commands read DBTOOL_PASSPHRASE_FILE instead).
 */
function serverEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith('PG') && k !== 'DBTOOL_PASSPHRASE' && k !== 'DBTOOL_NEW_PASSPHRASE'));
}

/** Run a PostgreSQL tool as `runAs`, in `/` (our cwd may be unreadable for that user), collecting output. */
function runTool(bin: string, args: string[], runAs: OsUser | undefined, env: NodeJS.ProcessEnv): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { ...spawnOptionsFor(runAs, env), cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => reject(dbtoolError('TOOL_MISSING', `cannot run ${bin} (${e.message})`, 'Check the PostgreSQL installation, or set PG_BINDIR', e)));
    child.on('close', (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** C-locale output so pg_controldata keys and pg_ctl messages can be parsed. */
function cLocaleEnv(): NodeJS.ProcessEnv {
  const env = serverEnv(process.env);
  delete env.LANGUAGE;
  return { ...env, LC_ALL: 'C' };
}

function lastLines(text: string, n: number): string {
  return text.split('\n').map((l) => l.trimEnd()).filter(Boolean).slice(-n).join('\n');
}

/** The major version a data directory was made by, so we pick matching binaries. */
export function dataDirMajor(dataDir: string): number | undefined {
  try {
    const v = Number.parseInt(readFileSync(join(dataDir, 'PG_VERSION'), 'utf8'), 10);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The last `n` non-empty lines of a (possibly large) log file, written after byte `from`; '' if unreadable. */
export async function logTail(logFile: string, n = 5, from = 0): Promise<string> {
  try {
    const fh = await open(logFile, 'r');
    try {
      const { size } = await fh.stat();
      const len = Math.max(0, Math.min(size - from, 64 * 1024));
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, size - len);
      return lastLines(buf.toString('utf8'), n);
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** Create a new cluster with initdb (trust authentication: for sandboxes and tests). */
export async function initCluster(opts: InitClusterOptions): Promise<void> {
  const dataDir = resolve(opts.dataDir);
  const runAs = opts.runAs ?? resolveRunAs();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
  const args = ['-D', dataDir, '-U', opts.superuser ?? 'postgres', '--auth=trust'];
  args.push(...(opts.locale ? [`--locale=${opts.locale}`] : ['--locale=C', '--encoding=UTF8']));
  if (opts.noSync) args.push('--no-sync');
  args.push(...(opts.extraArgs ?? []));
  const r = await runTool(pgBin('initdb'), args, runAs, serverEnv(process.env));
  if (r.code !== 0) {
    throw dbtoolError(
      'TOOL_FAILED',
      `initdb of ${dataDir} failed (exit ${r.code}): ${lastLines(r.stderr || r.stdout, 5)}`,
      `Check that ${runAs ? `user ${runAs.name}` : 'this user'} can write ${dirname(dataDir)} and that the directory is empty`,
    );
  }
}

/** A handle on a server that is already running (e.g. started earlier by startInstance). */
export function openInstance(opts: { dataDir: string; port: number; socketDir?: string; logFile?: string; runAs?: OsUser; user?: string }): PgInstance {
  const dataDir = resolve(opts.dataDir);
  const port = opts.port;
  const user = opts.user ?? 'postgres';
  const runAs = opts.runAs ?? resolveRunAs();
  const clientConfig = (database?: string): ClientConfig => ({ host: '127.0.0.1', port, user, database: database ?? 'postgres' });
  return {
    dataDir,
    port,
    socketDir: resolve(opts.socketDir ?? dataDir),
    host: '127.0.0.1',
    logFile: resolve(opts.logFile ?? `${dataDir}.log`),
    runAs,
    clientConfig,
    async query<T extends QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<T[]> {
      const cfg = clientConfig(database);
      const client = new (await pgClientClass())({ ...cfg, connectionTimeoutMillis: 15_000 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const res: unknown = await client.query<T>(sql, params);
        // A multi-statement string yields one result per statement: the last one is the answer.
        const last = (Array.isArray(res) ? res[res.length - 1] : res) as QueryResult<T> | undefined;
        return last?.rows ?? [];
      } catch (e) {
        throw mapPgError(e, { host: cfg.host, port, user, database: cfg.database });
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    stop: (mode?: StopMode) => stopInstance(dataDir, runAs, mode),
  };
}

/** postmaster.pid: line 1 the postmaster's pid, line 8 its state (starting/ready/standby/stopping). */
function readPidFile(dataDir: string): { pid: number; status: string | undefined } | undefined {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), status: lines[7]?.trim() || undefined };
  } catch {
    return undefined;
  }
}

type Probe = 'ready' | 'not-ready';

/** Like pg_isready: any answer from the server except "starting up / not accepting yet" means it is up. */
async function probe(cfg: ClientConfig): Promise<Probe> {
  const client = new (await pgClientClass())({ ...cfg, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return 'ready';
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // 57P03 cannot_connect_now: starting up, in recovery without hot standby, or shutting down.
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && code !== '57P03') return 'ready';
    return 'not-ready';
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Start the server on a data directory, detached (it outlives this process, like pg_ctl start),
 * listening on 127.0.0.1:port and a Unix socket in socketDir.
 */
export async function startInstance(opts: StartInstanceOptions): Promise<PgInstance> {
  const dataDir = resolve(opts.dataDir);
  const runAs = opts.runAs ?? resolveRunAs();
  const socketDir = resolve(opts.socketDir ?? dataDir);
  const logFile = resolve(opts.logFile ?? `${dataDir}.log`);
  const major = dataDirMajor(dataDir);
  if (major === undefined) {
    throw dbtoolError('SERVER_START_FAILED', `cannot start PostgreSQL: ${dataDir} is not a data directory (no readable PG_VERSION)`, 'Point at a directory made by initdb or by a restore');
  }
  const socketPath = join(socketDir, `.s.PGSQL.${opts.port}`);
  if (Buffer.byteLength(socketPath) >= 108) {
    throw dbtoolError('USAGE', `the Unix socket path ${socketPath} is longer than the 107 bytes the OS allows`, 'Use a shorter socket directory');
  }

  const args = ['-D', dataDir, '-p', String(opts.port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1'];
  // Later -c options win, so caller settings may override the defaults above.
  for (const [k, v] of Object.entries(opts.settings ?? {})) args.push('-c', `${k}=${v}`);

  // We open the log ourselves and hand the fd over: no shell quoting (pg_ctl -o goes through sh).
  const fd = openSync(logFile, 'a', 0o600);
  const logStart = fstatSync(fd).size; // report only this start's lines from an appended log
  let child;
  try {
    if (runAs) await chown(logFile, runAs.uid, runAs.gid);
    child = spawn(pgBin('postgres', major), args, {
      ...spawnOptionsFor(runAs, serverEnv(opts.env ?? process.env)),
      cwd: dataDir,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  let exited: string | undefined;
  let spawnError: Error | undefined;
  child.on('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit code ${code}`));
  child.on('error', (e) => (spawnError = e));
  child.unref();

  const instance = openInstance({ dataDir, port: opts.port, socketDir, logFile, runAs, user: opts.user });
  if ((opts.wait ?? 'ready') === 'none') return instance;

  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const failed = async (why: string): Promise<Error> => {
    const tail = await logTail(logFile, 5, logStart);
    return dbtoolError(
      'SERVER_START_FAILED',
      `PostgreSQL on ${dataDir} (port ${opts.port}) ${why}${tail ? `; server log ${logFile} ends with:\n${tail}` : ''}`,
      `Read ${logFile}; fix the cause (port in use, permissions, settings) and start it again`,
    );
  };
  for (;;) {
    if (spawnError) throw await failed(`could not be started (${spawnError.message})`);
    if (exited !== undefined) throw await failed(`exited during startup (${exited})`);
    // Ours, not whatever else answers on the port: the pid file names our child and says "ready"
    // (or "standby": a hot standby in recovery takes read-only connections), as pg_ctl -w checks.
    const pidFile = readPidFile(dataDir);
    if (pidFile && pidFile.pid === child.pid) {
      if (pidFile.status === 'ready' || pidFile.status === 'standby') return instance;
      if (pidFile.status === undefined && (await probe(instance.clientConfig())) === 'ready') return instance;
    }
    if (Date.now() > deadline) {
      throw await failed(`did not accept connections within ${Math.round(timeoutMs / 1000)} s (still running: stop it with pg_ctl stop -D ${dataDir})`);
    }
    await sleep(150);
  }
}

/** pg_ctl stop -w; a server that is not running is not an error. */
export async function stopInstance(dataDir: string, runAs?: OsUser, mode: StopMode = 'fast'): Promise<void> {
  const dir = resolve(dataDir);
  if (!existsSync(join(dir, 'postmaster.pid'))) return;
  const user = runAs ?? resolveRunAs();
  const r = await runTool(pgBin('pg_ctl', dataDirMajor(dir)), ['stop', '-D', dir, '-m', mode, '-w', '-t', '120'], user, cLocaleEnv());
  if (r.code === 0) return;
  const out = `${r.stdout}\n${r.stderr}`;
  if (/PID file .* does not exist|Is server running\?|No such process|no server running/i.test(out)) return;
  throw dbtoolError('TOOL_FAILED', `pg_ctl stop of ${dir} failed (exit ${r.code}): ${lastLines(out, 3)}`, `See the server log (${basename(dir)}.log next to it); stop it with pg_ctl stop -m immediate -D ${dir}`);
}

/** `pg_controldata` as key → value (C locale), e.g. "Latest checkpoint location" → "0/3000060". */
export async function readControlData(dataDir: string, runAs?: OsUser): Promise<Record<string, string>> {
  const dir = resolve(dataDir);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw dbtoolError('USAGE', `cannot read the control file: ${dir} is not a directory`, 'Point at a PostgreSQL data directory');
  }
  const r = await runTool(pgBin('pg_controldata', dataDirMajor(dir)), ['-D', dir], runAs ?? resolveRunAs(), cLocaleEnv());
  if (r.code !== 0) {
    throw dbtoolError('TOOL_FAILED', `pg_controldata on ${dir} failed (exit ${r.code}): ${lastLines(r.stderr || r.stdout, 3)}`, 'Check that it is a PostgreSQL data directory and readable');
  }
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    // Keys have no colon; values (times) may.
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}
