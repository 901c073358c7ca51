// Logical backups of PostgreSQL: pg_dumpall --globals-only and pg_dump -Fd -j per database
// (the LogicalDumper), pg_restore -j into a database on a running server (the LogicalLoader).

import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { dbtoolError, isDbtoolError, messageOf } from '../../core/errors.js';
import { makePrivateTempDir } from '../../core/private-temp-dir.js';
import type { PrivateTempDir } from '../../core/private-temp-dir.js';
import { databaseDir } from '../logical.js';
import type { DumpEntry, LogicalDumpInfo, LogicalDumper, LogicalLoadOptions, LogicalLoader } from '../logical.js';
import { pgBin } from './binaries.js';
import { connectPg, describeTarget, mapPgError } from './connection.js';
import { followDump } from './follow-dump.js';
import type { PgConnectionOptions } from './connection.js';

export interface PgDumpOptions {
  connection: PgConnectionOptions;
  /** dump only this database (default: every connectable non-template database) */
  database?: string;
  /** pg_dump -j (default 2) */
  jobs?: number;
  /** where the private temp directory of pg_dump -Fd goes (default: the system temp dir) */
  tempParent?: string;
}

export interface PgRestoreOptions {
  connection: PgConnectionOptions;
  /** pg_restore --no-owner --no-privileges: for a server that lacks the dump's roles */
  noOwner?: boolean;
  /** where the materialised dump for pg_restore goes (default: the system temp dir) */
  tempParent?: string;
}

/** The libpq variables we set for the child; any others of ours (PGSSLMODE, PGPASSFILE …) pass through. */
const OURS = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSERVICE'];

/** The child's environment: where and as whom to connect, never on its command line (ps shows argv). */
export function libpqEnv(c: PgConnectionOptions, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(base).filter(([k]) => !OURS.includes(k)));
  if (c.host !== undefined) env.PGHOST = c.host;
  if (c.port !== undefined) env.PGPORT = String(c.port);
  if (c.user !== undefined) env.PGUSER = c.user;
  if (c.password !== undefined) env.PGPASSWORD = c.password;
  env.PGAPPNAME = 'dbtool';
  return env;
}

/** A libpq connection string naming only the database: `-d` treats a bare name with '=' as one. */
export function dbnameConninfo(database: string): string {
  return `dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A tool's stderr on one line for an error message: its first error (the cause; parallel workers
 * add follow-up errors after it, in any order) and its last line.
 */
export function stderrSummary(stderr: string): string {
  const lines = stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const first = lines.find((l) => /\b(error|fatal|panic):/i.test(l));
  const picked = first ? [first, lines[lines.length - 1]!] : lines.slice(-2);
  return [...new Set(picked)].join(' / ').replace(/\s+/g, ' ').slice(0, 600);
}

interface Tool {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** resolves when the tool exited 0; rejects with TOOL_FAILED/TOOL_MISSING otherwise */
  done: Promise<void>;
}

/** Start a client tool; stdout is the caller's to read (or is drained), stderr is collected. */
function startTool(bin: string, args: string[], env: NodeJS.ProcessEnv, drainStdout: boolean): Tool {
  const name = bin.split('/').pop() ?? bin;
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    // Only the end matters for the message; keep memory bounded.
    stderr = (stderr + d).slice(-8192);
  });
  if (drainStdout) child.stdout.resume();
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      reject(missing ? dbtoolError('TOOL_MISSING', `${name} cannot be run (${messageOf(e)})`, 'Install the PostgreSQL client tools or set PG_BINDIR') : dbtoolError('TOOL_FAILED', `${name} failed to start (${messageOf(e)})`, 'Check the PostgreSQL client installation', e));
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(dbtoolError('TOOL_FAILED', `${name} failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${stderrSummary(stderr) || 'no message'}`, `Fix the cause above and retry; ${name} ran against the server the settings point at`));
    });
  });
  done.catch(() => undefined);
  return { child, done };
}

async function runTool(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await startTool(bin, args, env, true).done;
}

async function toolVersion(bin: string): Promise<string> {
  const t = startTool(bin, ['--version'], process.env, false);
  let out = '';
  t.child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  await t.done;
  return out.trim();
}

async function withClient<T>(c: PgConnectionOptions, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPg({ ...c, database }, 'sql');
  try {
    return await fn(client);
  } catch (e) {
    throw mapPgError(e, { ...c, database });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The database to connect to for catalogue queries and CREATE/DROP DATABASE of `other`. */
function maintenanceDb(c: PgConnectionOptions, other?: string): string {
  const preferred = c.database ?? 'postgres';
  return preferred === other ? (other === 'postgres' ? 'template1' : 'postgres') : preferred;
}

/**
 * pg_dumpall --globals-only, then pg_dump -Fd -j N of each database through a private temp dir,
 * whose files are yielded while pg_dump writes them.
 */
export class PgLogicalDumper implements LogicalDumper {
  private facts: LogicalDumpInfo | undefined;
  private major = 0;

  constructor(private readonly o: PgDumpOptions) {}

  async info(): Promise<LogicalDumpInfo> {
    if (this.facts) return this.facts;
    const c = this.o.connection;
    const facts = await withClient(c, maintenanceDb(c), async (client) => {
      const v = (await client.query<{ v: string; n: string }>("SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n")).rows[0]!;
      let systemId = '';
      try {
        systemId = (await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')).rows[0]?.id ?? '';
      } catch {
        // pg_control_system() may be denied to a non-superuser: the source is then not claimed.
      }
      const dbs = (await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname')).rows.map((r) => r.datname);
      return { version: v.v, versionNum: Number(v.n), systemId, dbs };
    });
    let databases = facts.dbs;
    if (this.o.database !== undefined) {
      if (!databases.includes(this.o.database)) {
        throw dbtoolError('DATABASE_NOT_FOUND', `database '${this.o.database}' does not exist on ${describeTarget(c)} (or does not allow connections)`, `Choose one of: ${databases.join(', ') || '(none)'}`);
      }
      databases = [this.o.database];
    }
    this.major = Math.floor(facts.versionNum / 10000);
    const estimatedBytes = await withClient(c, maintenanceDb(c), async (client) => {
      try {
        // On-disk size: indexes and free space make it larger than the dump; good enough for a bar.
        const r = await client.query<{ n: string | null }>('SELECT sum(pg_database_size(datname))::text AS n FROM pg_database WHERE datname = ANY($1)', [databases]);
        return r.rows[0]?.n ? Number(r.rows[0].n) : undefined;
      } catch {
        return undefined; // needs CONNECT on each database
      }
    });
    this.facts = {
      estimatedBytes,
      serverVersion: facts.version,
      serverVersionNum: facts.versionNum,
      systemId: facts.systemId,
      databases,
      tool: await toolVersion(pgBin('pg_dump', this.major)),
    };
    return this.facts;
  }

  async *entries(): AsyncGenerator<DumpEntry> {
    const facts = await this.info();
    const env = libpqEnv(this.o.connection);
    // The first pg_dump starts at once: it reads the catalogue while the globals are stored.
    const first = facts.databases[0];
    let dump = first === undefined ? undefined : await this.startDump(first, env);
    try {
      // Roles, tablespaces and their settings: one script on stdout, streamed as it comes.
      const globals = startTool(pgBin('pg_dumpall', this.major), ['--globals-only', '--no-password', '-d', dbnameConninfo(maintenanceDb(this.o.connection))], env, false);
      try {
        yield { path: 'globals.sql', data: globals.child.stdout };
        await globals.done;
      } finally {
        // The consumer stopped early (a failed chunk write): do not leave the tool running.
        if (globals.child.exitCode === null) globals.child.kill('SIGTERM');
      }

      for (const db of facts.databases) {
        dump ??= await this.startDump(db, env);
        // The files are stored while pg_dump writes them: complete ones whole, a growing one
        // followed piece by piece, the rest once pg_dump has exited.
        for await (const f of followDump({ dir: dump.dir, pid: dump.tool.child.pid, exited: dump.tool.done, removeRead: true })) {
          yield { path: `${databaseDir(db)}${f.name}`, size: f.size, data: f.data };
        }
        await stopDump(dump);
        dump = undefined;
      }
    } finally {
      if (dump) await stopDump(dump);
    }
  }

  /**
   * pg_dump -j writes only the directory format, so this is the one place a backup is copied to
   * local disk first: a private directory, removed whatever happens (stopDump).
   */
  private async startDump(db: string, env: NodeJS.ProcessEnv): Promise<RunningDump> {
    const tmp = await makePrivateTempDir('dbtool-pgdump-', this.o.tempParent);
    try {
      // Made here, not by pg_dump (which accepts an empty one), so it can be listed from the start.
      const dir = join(tmp.path, 'dump');
      await mkdir(dir, { mode: 0o700 });
      // -Z 0: unchanged tables dump to identical bytes, so their chunks deduplicate across
      // backups; the repository compresses chunks with zstd anyway. --no-sync: the copy is
      // temporary, the repository makes the backup durable.
      const tool = startTool(pgBin('pg_dump', this.major), ['--format=directory', `--jobs=${this.o.jobs ?? 2}`, '--compress=0', '--no-sync', '--no-password', '--file', dir, '-d', dbnameConninfo(db)], env, true);
      return { tmp, dir, tool };
    } catch (e) {
      await tmp.remove();
      throw e;
    }
  }
}

interface RunningDump {
  tmp: PrivateTempDir;
  dir: string;
  tool: Tool;
}

/** Stop pg_dump if it still runs (its workers with it), wait until it is gone, remove its directory. */
async function stopDump(d: RunningDump): Promise<void> {
  const c = d.tool.child;
  const settled = d.tool.done.catch(() => undefined);
  if (c.exitCode === null && c.signalCode === null) {
    // pg_dump's leader passes SIGTERM on to its workers; SIGKILL if it does not go in time.
    c.kill('SIGTERM');
    const gone = await Promise.race([settled.then(() => true), sleep(10_000, false, { ref: false })]);
    if (!gone) c.kill('SIGKILL');
  }
  await Promise.race([settled, sleep(10_000, undefined, { ref: false })]);
  await d.tmp.remove();
}

/** pg_restore -j into a database on the running server the connection points at. */
export class PgLogicalLoader implements LogicalLoader {
  constructor(private readonly o: PgRestoreOptions) {}

  private async exists(database: string): Promise<boolean> {
    const c = this.o.connection;
    return withClient(c, maintenanceDb(c, database), async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rows.length > 0);
  }

  /** The database exists and holds a user relation (table, view, sequence …) or a large object. */
  async isNonEmpty(database: string): Promise<boolean> {
    if (!(await this.exists(database))) return false;
    return withClient(this.o.connection, database, async (client) => {
      const r = await client.query<{ n: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                           AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)')
             OR EXISTS (SELECT 1 FROM pg_largeobject_metadata) AS n`,
      );
      return r.rows[0]?.n === true;
    });
  }

  /**
   * --clean drops the whole database and creates it again (as pg_restore --clean --create does),
   * so the result holds exactly what the backup holds; a missing database is created.
   */
  private async prepare(database: string, clean: boolean): Promise<void> {
    const c = this.o.connection;
    const exists = await this.exists(database);
    await withClient(c, maintenanceDb(c, database), async (client) => {
      if (exists && clean) {
        try {
          await client.query(`DROP DATABASE ${quoteIdent(database)}`);
        } catch (e) {
          if ((e as { code?: string }).code === '55006') {
            throw dbtoolError('TARGET_DB_IN_USE', `database '${database}' cannot be dropped for --clean: other sessions are connected to it`, 'Disconnect them (or stop the application) and retry');
          }
          throw e;
        }
      }
      // template0: nothing of template1's additions can collide with the dump's objects.
      if (!exists || clean) await client.query(`CREATE DATABASE ${quoteIdent(database)} TEMPLATE template0`);
    });
  }

  async load(o: LogicalLoadOptions): Promise<void> {
    const prefix = databaseDir(o.fromDatabase);
    if (!o.paths.some((p) => p.startsWith(prefix))) {
      throw dbtoolError('DATABASE_NOT_FOUND', `the backup holds no database '${o.fromDatabase}'`, 'See `dbtool info --json` for the databases of each logical backup');
    }
    // pg_restore -j reads only a directory (or a custom-format file): the dump is materialised
    // into a private temp dir first, verified chunk by chunk, and removed afterwards.
    const tmp = await makePrivateTempDir('dbtool-pgrestore-', this.o.tempParent);
    try {
      const dir = join(tmp.path, 'dump');
      await o.materialise(prefix, dir);
      // Only now, with every chunk read and verified, is the target dropped (--clean) or created.
      await this.prepare(o.intoDatabase, o.clean);
      const major = Math.floor((await this.serverVersionNum()) / 10000);
      const ownership = this.o.noOwner ? ['--no-owner', '--no-privileges'] : [];
      await runTool(pgBin('pg_restore', major), ['--format=directory', `--jobs=${o.jobs}`, '--exit-on-error', '--no-password', ...ownership, '-d', dbnameConninfo(o.intoDatabase), dir], libpqEnv(this.o.connection));
    } catch (e) {
      if (isDbtoolError(e)) throw e;
      throw mapPgError(e, this.o.connection);
    } finally {
      await tmp.remove();
    }
  }

  private async serverVersionNum(): Promise<number> {
    const c = this.o.connection;
    return withClient(c, maintenanceDb(c), async (client) => Number((await client.query<{ n: string }>("SELECT current_setting('server_version_num') AS n")).rows[0]?.n ?? 0));
  }
}
