// The command line: argv → settings → a command, and its result → text or JSON on stdout.
// Each command's modules (and through them pg, mysql2, the console …) are imported when that
// command runs: loading all of them cost every call about 150 ms, restore_command's included.

import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { dbtoolError, EXIT_ABORT_RECOVERY, isDbtoolError, messageOf } from '../core/errors.js';
import { resolveRunAs } from '../core/os-user.js';
import type { Reporter } from '../core/reporter.js';
import { resolveSettings, requireRepo } from '../config/settings.js';
import type { GlobalFlags, Settings } from '../config/settings.js';
import type { PgConnectionOptions } from '../engine/postgres/connection.js';
import { engineFor } from '../engine/engine.js';
import type { MysqlConnectionOptions } from '../engine/mysql/connection.js';
import { parseBinlogPosition, parseGtidList } from '../command/restore/mysql-plan.js';
import type { MysqlTarget } from '../command/restore/mysql-plan.js';
import { parseZonedTime } from '../core/time.js';
import { absoluteLocation } from '../core/repo-location.js';
import { spoolIdentity } from '../core/fast-line.js';
import { Repository } from '../repo/repository.js';
import { openStorage } from '../storage/open-storage.js';
import { restoreMode } from '../command/restore/plan.js';
import { sourceEngine } from '../command/restore/source-engine.js';
import type { LogicalDumper, LogicalLoader } from '../engine/logical.js';
import { walGet } from '../command/wal-get/index.js';
import { PREFETCH_MAX, PREFETCH_SPOOL, asyncGetOfProcess, prefetchAfter } from '../command/wal-get/prefetch.js';
import { getArchiveFile } from '../repo/archive.js';
import { walPush } from '../command/wal-push/index.js';
import { AHEAD_MAX, walPushAhead } from '../command/wal-push/ahead.js';
import { asyncPushOfProcess, prepareSpool } from '../command/wal-push/spool.js';
import type { AsyncPushArgs } from '../command/wal-push/spool.js';
import { settingsView } from '../command/config-show/index.js';
import type { SqlSession } from '../engine/sql-session.js';
import { formatBytes, formatTable } from './format.js';
import { printExpire, printInfo, printLab, printRestore, printRestoreTest, printVerify } from './output.js';
import { printMysqlRestore } from './mysql-output.js';
import { makeReporter } from './progress.js';
import { choosePassphrase, passphraseProvider } from './passphrase.js';

interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

function intArg(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

function pgConnection(s: Settings): PgConnectionOptions {
  if (s.connection.engine !== 'postgres') {
    throw dbtoolError('USAGE', `this command supports only PostgreSQL sources in this version of dbtool (the engine is '${s.connection.engine}')`, 'Use a PostgreSQL source');
  }
  const { host, port, user, password, database } = s.connection;
  return { host, port, user, password, database };
}

/** The LogicalDumper of the source's engine. */
async function logicalDumper(s: Settings, o: { database?: string; jobs?: number }): Promise<LogicalDumper> {
  // The one place an engine's name picks its implementation (mariadb-dump has no --jobs).
  if (s.connection.engine === 'mysql') {
    const { MysqlLogicalDumper } = await import('../engine/mysql/logical.js');
    return new MysqlLogicalDumper(mysqlConnection(s), o.database === undefined ? undefined : [o.database]);
  }
  const { PgLogicalDumper } = await import('../engine/postgres/logical.js');
  return new PgLogicalDumper({ connection: pgConnection(s), database: o.database, jobs: o.jobs });
}

/** The LogicalLoader of the source's engine. */
async function logicalLoader(s: Settings, o: { noOwner?: boolean }): Promise<LogicalLoader> {
  if (s.connection.engine === 'mysql') {
    const { MysqlLogicalLoader } = await import('../engine/mysql/logical.js');
    return new MysqlLogicalLoader(mysqlConnection(s));
  }
  const { PgLogicalLoader } = await import('../engine/postgres/logical.js');
  return new PgLogicalLoader({ connection: pgConnection(s), noOwner: o.noOwner });
}

function mysqlConnection(s: Settings): MysqlConnectionOptions {
  const { host, port, user, password, database, socket, defaultsFile } = s.connection;
  return { host, port, user, password, database, socket, defaultsFile };
}

/** The SqlSession of the source's engine (console, sample-data). */
async function openSqlSession(s: Settings): Promise<SqlSession> {
  if (s.connection.engine === 'mysql') {
    const c = mysqlConnection(s);
    // MySQL has no default database to land in: a table needs one named.
    if (c.database === undefined) throw dbtoolError('USAGE', 'a MySQL/MariaDB source needs a database for SQL and sample data, and none is set', 'Set DB_NAME (or --database) to an existing database');
    const { MysqlSqlSession } = await import('../engine/mysql/sql-session.js');
    return MysqlSqlSession.open(c);
  }
  const { PgSqlSession } = await import('../engine/postgres/sql-session.js');
  return PgSqlSession.open(pgConnection(s));
}

/** The recovery target of a MySQL restore: a time (zone required) or a binlog position. */
function mysqlTarget(o: { toTime?: string; toPosition?: string; toGtid?: string; toLsn?: string; toXid?: string; toName?: string; immediate?: boolean }): MysqlTarget {
  const pgOnly = [o.toLsn !== undefined && '--to-lsn', o.toXid !== undefined && '--to-xid', o.toName !== undefined && '--to-name', o.immediate && '--immediate'].filter(Boolean);
  if (pgOnly.length) throw dbtoolError('USAGE', `${pgOnly.join(', ')} applies to PostgreSQL sources only`, 'For MySQL/MariaDB use --to-time or --to-position FILE:POS');
  const given = [o.toTime !== undefined && '--to-time', o.toPosition !== undefined && '--to-position', o.toGtid !== undefined && '--to-gtid'].filter(Boolean);
  if (given.length > 1) throw dbtoolError('TARGET_INVALID', `${given.join(' and ')} were both given`, 'Choose one recovery target');
  if (o.toGtid !== undefined) {
    const gtids = parseGtidList(o.toGtid);
    if (gtids.size === 0) throw dbtoolError('TARGET_INVALID', '--to-gtid is empty', 'Write e.g. --to-gtid 0-1-42');
    return { kind: 'gtid', gtids, text: o.toGtid.trim() };
  }
  if (o.toTime !== undefined) return { kind: 'time', time: parseZonedTime(o.toTime).date, text: o.toTime };
  if (o.toPosition !== undefined) return { kind: 'position', point: parseBinlogPosition(o.toPosition), text: o.toPosition };
  return { kind: 'none' };
}

/**
 * What `wal-push --async` needs, read as the fast path in bin.ts reads it (command line and
 * environment), and refused unless that names the repository and source the settings name.
 */
function asyncPushFor(s: Settings, spool: string | undefined): AsyncPushArgs {
  const hint = "Write archive_command = 'dbtool --repo REPO [--source NAME] wal-push --async --spool DIR %p'";
  if (spool === undefined) throw dbtoolError('USAGE', '--async needs --spool DIR, where it notes the segments it pushed ahead', hint);
  const args = asyncPushOfProcess();
  const settled = spoolIdentity(absoluteRepo(requireRepo(s)), s.source);
  if (!args || args.identity !== settled) {
    // Its notes must stay valid for the repository they were written for: a file can change between calls.
    throw dbtoolError('USAGE', `--async needs the repository and source on the command line or in DBTOOL_REPO/DBTOOL_SOURCE, with no config or .env file (here: repository from ${s.origins.repo}, source from ${s.origins.source ?? 'the default'})`, hint);
  }
  return args;
}

/** The repository location as other processes (archive/restore_command) must see it. */
function absoluteRepo(location: string): string {
  return absoluteLocation(location, process.cwd());
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * How a server calls this very dbtool: node and the entry point by absolute path, repo and source
 * named. For an encrypted repository the command names the passphrase FILE (never the secret: it
 * lands in postgresql.auto.conf), so a passphrase given only as DBTOOL_PASSPHRASE is refused.
 */
export function selfCommand(settings: Settings, sub: string[], repo?: Pick<Repository, 'encrypted'>): string {
  const entry = realpathSync(process.argv[1] ?? '');
  const env: string[] = [];
  if (repo?.encrypted) {
    if (settings.passphrase.file === undefined) {
      throw dbtoolError(
        'PASSPHRASE_MISSING',
        "the repository is encrypted and the server's restore_command needs the passphrase, but only DBTOOL_PASSPHRASE (or a prompt) gave it; dbtool never writes the passphrase into postgresql.auto.conf",
        'Put the passphrase in a file the server user can read and set DBTOOL_PASSPHRASE_FILE to it instead',
      );
    }
    env.push(`DBTOOL_PASSPHRASE_FILE=${shellQuote(settings.passphrase.file)}`);
  }
  const parts = [process.execPath, entry];
  if (settings.configFile) parts.push('--config', resolve(settings.configFile));
  parts.push('--repo', absoluteRepo(requireRepo(settings)), '--source', settings.source);
  return [...env, ...parts.map(shellQuote), ...sub].join(' ');
}

/** withRepo, with the passphrase asked through `passphrase` (repo passwd keeps the one it was given). */
async function withRepoUsing<T>(settings: Settings, passphrase: () => Promise<string>, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(openStorage(requireRepo(settings), undefined, { s3: settings.s3 }), { passphrase });
  try {
    return await fn(repo);
  } finally {
    await repo.close();
  }
}

async function withRepo<T>(settings: Settings, fn: (repo: Repository) => Promise<T>): Promise<T> {
  return withRepoUsing(settings, passphraseProvider(settings.passphrase), fn);
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Commander's usage errors as dbtool's one line: `dbtool: error: … (Did you mean …?)`. */
export function oneLineUsageError(text: string): string {
  if (!text.startsWith('error:')) return text;
  return `dbtool: ${text.replace(/\s*\n\s*(?=\S)/g, ' ').trimEnd().replace(/\.$/, '')}. See dbtool --help\n`;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('dbtool')
    .description('Backup and point-in-time recovery for PostgreSQL into a deduplicated repository')
    .version('0.1.0')
    .option('--config <file>', "config file (YAML or JSON): a path, 'file' (./dbtool.yaml, .yml or .json) or 'env' (none); env DBTOOL_CONFIG")
    .option('--repo <location>', 'repository: a path, file:// or s3://BUCKET/PREFIX?endpoint=…&region=… URL; env DBTOOL_REPO')
    .option('--source <name>', 'which source (database cluster) in the repository; env DBTOOL_SOURCE (default main)')
    .option('--db <engine>', 'database engine: postgres or mysql (MariaDB too); env DB_ENGINE')
    .option('--database <name>', 'database to connect to (console, sample-data), or the one database a logical backup dumps; env PGDATABASE / DB_NAME')
    .option('--json', 'machine-readable output on stdout')
    .option('--quiet', 'no progress or messages, only errors')
    .option('--debug', 'stack traces on errors')
    .showSuggestionAfterError(true)
    // Set before subcommands are added: they copy these settings when created.
    .configureOutput({ writeErr: (text) => process.stderr.write(oneLineUsageError(text)) })
    .exitOverride();

  const globals = (): GlobalFlags & OutputFlags => program.opts();
  const settings = (): Settings => resolveSettings(globals());
  const reporter = (): Reporter => makeReporter({ quiet: !!globals().quiet || !!globals().json, tty: !!process.stderr.isTTY });

  const repoCmd = program.command('repo').description('manage the repository');
  repoCmd
    .command('init')
    .description('create an empty repository at --repo')
    .option('--chunk-size <bytes>', 'chunk size in bytes (default 1048576)', intArg('--chunk-size', 65536, 64 * 1024 * 1024))
    .option('--compress-level <n>', 'zstd level, 0 = off (default 1)', intArg('--compress-level', 0, 19))
    .option('--encrypt', 'encrypt every object; passphrase from DBTOOL_PASSPHRASE, DBTOOL_PASSPHRASE_FILE or a prompt')
    .action(async (o) => {
      const s = settings();
      const storage = openStorage(requireRepo(s), undefined, { s3: s.s3 });
      const { repoInit } = await import('../command/repo-init/index.js');
      const passphrase = o.encrypt ? await choosePassphrase('DBTOOL_PASSPHRASE', 'DBTOOL_PASSPHRASE_FILE', s.passphrase.value, s.passphrase.file) : undefined;
      const repo = await repoInit({ storage, chunkSize: o.chunkSize, compressionLevel: o.compressLevel ?? s.compressLevel, passphrase });
      try {
        if (globals().json) out(JSON.stringify({ repository: repo.storage.description, id: repo.config.id, chunkSize: repo.chunkSize, encrypted: repo.encrypted }));
        else out(`created ${repo.encrypted ? 'encrypted ' : ''}repository ${repo.config.id} at ${repo.storage.description}`);
      } finally {
        await repo.close();
      }
    });

  repoCmd
    .command('passwd')
    .description('change the passphrase of an encrypted repository (no data is rewritten; needs delete rights)')
    .action(async () => {
      const s = settings();
      const current = passphraseProvider(s.passphrase);
      let old: string | undefined;
      const remember = async () => (old ??= await current());
      const fresh = () => choosePassphrase('DBTOOL_NEW_PASSPHRASE', 'DBTOOL_NEW_PASSPHRASE_FILE', s.passphrase.newValue, s.passphrase.newFile);
      const { repoPasswd } = await import('../command/repo-passwd/index.js');
      const r = await withRepoUsing(s, remember, (repo) => repoPasswd({ repo, oldPassphrase: remember, newPassphrase: fresh }));
      if (globals().json) out(JSON.stringify(r));
      else out(`passphrase changed: ${r.keyFile} written, ${r.removed.length} old key file(s) removed`);
    });

  program
    .command('backup')
    .description('back up the source into the repository')
    .addOption(new Option('--type <type>', 'backup type (default full)').choices(['full', 'diff', 'incr', 'logical'] as const))
    .addOption(new Option('--storage <kind>', "the seed's start form: with --storage and no --type, open the console (only 'local' for now)").choices(['local'] as const))
    .addOption(new Option('--checkpoint <mode>', 'checkpoint at start: fast, or spread over checkpoint_completion_target').choices(['fast', 'spread'] as const).default('fast' as const))
    .option('--max-rate <kBps>', 'limit the transfer rate (kB/s), as pg_basebackup -r', intArg('--max-rate', 32, 1048576))
    .option('--jobs <n>', 'logical: parallel dump jobs, as pg_dump -j (default 2)', intArg('--jobs', 1, 64))
    .action(async (o, cmd) => {
      // The seed's `dbtool backup --db postgres --database mydb --storage local --config file` opens the console.
      if (o.storage !== undefined && o.type === undefined) return startConsole();
      // The global --database (not PGDATABASE, which only says where to connect) picks the one database a
      // logical backup dumps; the dumper then connects where it would without the flag.
      const database = globals().database;
      const s = settings();
      if (o.type !== 'logical' && (database !== undefined || o.jobs !== undefined)) {
        throw dbtoolError('USAGE', `--database and --jobs are for --type logical, not --type ${o.type ?? 'full'}`, 'A physical backup always copies the whole cluster; drop those flags or add --type logical');
      }
      const engine = engineFor(s.connection.engine);
      if (o.type === 'logical' && !engine.capabilities.logical) {
        throw dbtoolError('USAGE', `${engine.title} sources have no logical backups in this dbtool`, 'Take a --type full, diff or incr backup');
      }
      if (o.type === 'logical' && (cmd.getOptionValueSource('checkpoint') === 'cli' || o.maxRate !== undefined)) {
        throw dbtoolError('USAGE', '--checkpoint and --max-rate are for physical backups, not --type logical', 'Drop those flags');
      }
      // Engines whose physical backups are deltas applied in a chain take them with their own tool.
      const manifest = await withRepo(s, async (repo) => {
        if (o.type === 'logical') {
          const { backupLogical } = await import('../command/backup/logical.js');
          const dumper = await logicalDumper(database === undefined ? s : resolveSettings({ ...globals(), database: undefined }), { database, jobs: o.jobs });
          return backupLogical({ repo, source: s.source, engine: s.connection.engine, dumper, reporter: reporter() });
        }
        if (engine.capabilities.chainRestore) {
          const { backupMysql } = await import('../command/backup/mysql.js');
          return backupMysql({ repo, source: s.source, type: o.type ?? 'full', connection: mysqlConnection(s), reporter: reporter() });
        }
        const { backup } = await import('../command/backup/index.js');
        return backup({ repo, source: s.source, type: o.type ?? 'full', connection: pgConnection(s), checkpoint: o.checkpoint, maxRateKbps: o.maxRate, reporter: reporter() });
      });
      if (manifest.mysql) {
        const my = manifest.mysql;
        if (globals().json) out(JSON.stringify({ label: manifest.label, type: manifest.type, parent: manifest.parent, fromLsn: my.fromLsn, toLsn: my.toLsn, binlog: my.binlog, bytes: manifest.bytes }));
        else if (!globals().quiet) out(`backup ${manifest.label} done: ${formatBytes(manifest.bytes.database)} database, ${formatBytes(manifest.bytes.new)} new, ${formatBytes(manifest.bytes.stored)} stored; LSN ${my.fromLsn} → ${my.toLsn}${my.binlog ? `, binlog ${my.binlog.file}:${my.binlog.position}` : ''}`);
        return;
      }
      if (globals().json) out(JSON.stringify({ label: manifest.label, type: manifest.type, parent: manifest.parent, startLsn: manifest.postgres?.startLsn, stopLsn: manifest.postgres?.stopLsn, databases: manifest.logical?.databases, bytes: manifest.bytes }));
      else if (!globals().quiet && manifest.logical) {
        out(`backup ${manifest.label} done: logical dump of ${manifest.logical.databases.join(', ')}, ${formatBytes(manifest.bytes.database)} dumped, ${formatBytes(manifest.bytes.new)} new, ${formatBytes(manifest.bytes.stored)} stored`);
      } else if (!globals().quiet) {
        out(`backup ${manifest.label} done: ${formatBytes(manifest.bytes.database)} database, ${formatBytes(manifest.bytes.new)} new, ${formatBytes(manifest.bytes.stored)} stored; LSN ${manifest.postgres?.startLsn} → ${manifest.postgres?.stopLsn}`);
      }
    });

  program
    .command('binlog-archive')
    .description('MySQL/MariaDB: archive binlogs into the repository: stream them until stopped (SIGINT/SIGTERM; a restart resumes), or --once')
    .option('--once', 'rotate the binlog, copy every complete file not yet archived, and exit')
    .action(async (o) => {
      const s = settings();
      if (!engineFor(s.connection.engine).capabilities.binlogArchive) {
        throw dbtoolError('USAGE', `binlog-archive needs a MySQL/MariaDB source, and the engine is ${s.connection.engine}`, 'Set DB_ENGINE=mysql (or --db mysql); PostgreSQL archives WAL with wal-push');
      }
      if (o.once) {
        const { binlogArchiveOnce } = await import('../command/binlog-archive/index.js');
        const r = await withRepo(s, (repo) => binlogArchiveOnce({ repo, source: s.source, connection: mysqlConnection(s), reporter: reporter() }));
        if (globals().json) out(JSON.stringify(r));
        else if (!globals().quiet) out(`binlog-archive: ${r.archived.length} file(s) archived${r.archived.length ? ` (${r.archived[0]} .. ${r.archived[r.archived.length - 1]})` : ''}, ${r.skipped} already there; current file ${r.current ?? '-'}`);
        return;
      }
      const { binlogArchiveStream } = await import('../command/binlog-archive/stream.js');
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const r = await withRepo(s, (repo) => binlogArchiveStream({ repo, source: s.source, connection: mysqlConnection(s), reporter: reporter(), signal: abort.signal }));
        if (globals().json) out(JSON.stringify(r));
        else if (!globals().quiet) out(`binlog-archive: stopped; ${r.archived.length} file(s) archived`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });

  program
    .command('wal-push')
    .description("archive one WAL file (archive_command = 'dbtool --repo REPO wal-push %p')")
    .argument('<path>', 'the WAL file (%p)')
    .option('--async', `then push up to ${AHEAD_MAX} more segments PostgreSQL has ready, each noted in --spool, so their own calls return at once (the repository on the line or in DBTOOL_REPO)`)
    .option('--spool <dir>', 'with --async: a directory the server user owns, for the notes (e.g. /var/spool/dbtool)')
    .action(async (path, o) => {
      const s = settings();
      const ahead = o.async ? asyncPushFor(s, o.spool) : undefined;
      // An unusable spool would make every call push the same segments ahead again: refuse it first.
      if (ahead) await prepareSpool(ahead.spool);
      await withRepo(s, async (repo) => {
        await walPush({ repo, source: s.source, path });
        if (ahead) await walPushAhead({ repo, source: s.source, args: ahead, reporter: reporter() });
      });
    });

  program
    .command('wal-get')
    .description("fetch one archived WAL file (restore_command = 'dbtool wal-get %f %p'); exit 1 if it is not archived, 126 on any other failure (stops recovery)")
    .argument('<walname>', 'the file name (%f)')
    .argument('<dest>', 'where to write it (%p)')
    .option('--async', `then fetch up to ${PREFETCH_MAX} next segments into --spool, where recovery's next calls take them at once (the repository on the line or in DBTOOL_REPO)`)
    .option('--spool <dir>', 'with --async: a directory of the data directory\'s file system, for the segments fetched ahead')
    .action(async (name, dest, o) => {
      const s = settings();
      const ahead = o.async ? asyncGetOfProcess() : undefined;
      // Fetching ahead only saves time: where it cannot be trusted, recovery goes on without it.
      const trusted = ahead !== undefined && ahead.identity === spoolIdentity(absoluteRepo(requireRepo(s)), s.source, process.cwd());
      if (o.async && !trusted) reporter().warn('wal-get --async: nothing fetched ahead (it needs --spool, and the repository and source on the command line or in DBTOOL_REPO/DBTOOL_SOURCE, with no config or .env file)');
      let found: boolean;
      try {
        found = await withRepo(s, async (repo) => {
          const got = await walGet({ repo, source: s.source, name, dest });
          if (got && trusted) {
            await prefetchAfter({ args: ahead, fetch: (next) => getArchiveFile(repo, s.source, next) }).catch((e: unknown) => reporter().warn(`wal-get --async: fetching ahead of ${name} stopped (${messageOf(e)})`));
          }
          return got;
        });
      } catch (e) {
        // Exit 1 would tell recovery "not archived" and end it early at this point: any other failure must stop it.
        throw (isDbtoolError(e) ? e : dbtoolError('INTERNAL', `wal-get ${name} failed (${messageOf(e)})`, 'Run it again with --debug and report it', e)).withExitCode(EXIT_ABORT_RECOVERY);
      }
      if (!found) process.exitCode = 1;
    });

  program
    .command('restore')
    .description('restore a physical backup into a directory (to the latest point or a recovery target), or load a logical one into a database')
    .option('--target-dir <dir>', 'directory to restore a physical backup into (must be empty unless --force)')
    .option('--into-database <name>', 'load a logical backup into this database of the server the settings point at (created if missing)')
    .option('--from-database <name>', 'which database of the logical backup to load (default: its only one, or the one named as --into-database)')
    .option('--clean', 'logical: drop and recreate the target database first (else a database holding tables is refused)')
    .option('--jobs <n>', 'logical: parallel restore jobs, as pg_restore -j (default 2)', intArg('--jobs', 1, 64))
    .option('--no-owner', 'logical: do not restore ownership and privileges (objects belong to the connecting role), for a server without the dump\'s roles')
    .option('--backup <label>', 'restore this backup (default: the newest one that reaches the target; with --into-database, the newest logical one)')
    .option('--to-time <time>', 'recover to this time (ISO-8601 with a zone, e.g. 2026-11-21T22:10:00Z)')
    .option('--to-lsn <lsn>', 'recover to this WAL position')
    .option('--to-xid <xid>', 'recover to the commit of this transaction')
    .option('--to-name <name>', 'recover to this restore point (pg_create_restore_point)')
    .option('--immediate', 'stop as soon as the backup is consistent')
    .option('--to-position <file:pos>', 'MySQL/MariaDB: replay binlogs up to this binlog position')
    .option('--to-gtid <gtid>', 'MariaDB: replay binlogs up to and including this GTID (domain-server-seq[,…])')
    .addOption(new Option('--target-action <action>', 'what the server does at the target').choices(['promote', 'pause', 'shutdown'] as const).default('promote' as const))
    .option('--force', 'delete what is in the target (and tablespace) directories first')
    .option('--start', 'start the restored server (needs --port) and wait until recovery is done')
    .option('--no-prefetch', "restore_command fetches one WAL file per call, none ahead (wal-get without --async)")
    .option('--port <port>', 'port for --start', intArg('--port', 1, 65535))
    .option('--run-as <user>', 'OS user that owns the files and runs the server when dbtool runs as root (default postgres)')
    .addOption(new Option('--archive-mode <mode>', "'off' keeps the restored server from archiving into the repository").choices(['preserve', 'off'] as const).default('preserve' as const))
    .option('--tablespace-map <oid=dir>', 'restore tablespace OID into DIR (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--tablespace-dir <dir>', 'restore every tablespace not mapped otherwise into DIR/<oid>')
    .action(async (o, cmd) => {
      const s = settings();
      // Flags of a physical restore that a logical one must refuse (defaults do not count).
      const physicalFlags = { force: '--force', start: '--start', port: '--port', runAs: '--run-as', targetAction: '--target-action', archiveMode: '--archive-mode', tablespaceMap: '--tablespace-map', tablespaceDir: '--tablespace-dir', prefetch: '--no-prefetch' } as const;
      const physicalOnly = Object.entries(physicalFlags).filter(([key]) => cmd.getOptionValueSource(key as keyof typeof physicalFlags) === 'cli').map(([, flag]) => flag);
      const mode = restoreMode({ ...o, physicalOnly });
      if (mode === 'logical') {
        const { restoreLogical } = await import('../command/restore/logical.js');
        const loader = await logicalLoader(s, { noOwner: o.owner === false });
        const r = await withRepo(s, (repo) =>
          restoreLogical({ repo, source: s.source, loader, intoDatabase: o.intoDatabase!, fromDatabase: o.fromDatabase, label: o.backup, clean: !!o.clean, jobs: o.jobs ?? 2, reporter: reporter() }),
        );
        if (globals().json) out(JSON.stringify(r));
        else out(`restored database '${r.fromDatabase}' of logical backup ${r.label} into database '${r.intoDatabase}'${r.clean ? ' (dropped and recreated)' : ''}: ${r.files} files, ${formatBytes(r.bytes)}`);
        return;
      }
      const targetDir = o.targetDir!;
      if (o.start && o.port === undefined) throw dbtoolError('USAGE', '--start needs --port', 'Give the port the restored server should listen on, e.g. --port 5433');
      const map = new Map<number, string>();
      for (const m of o.tablespaceMap ?? []) {
        const mm = /^(\d+)=(.+)$/.exec(m);
        if (!mm) throw dbtoolError('USAGE', `--tablespace-map '${m}' is not OID=DIR`, 'Write e.g. --tablespace-map 16384=/srv/ts1');
        map.set(Number(mm[1]), resolve(mm[2]!));
      }
      // One repository open for the whole restore: on S3 each open is a client and round trips.
      await withRepo(s, async (repo) => {
        // Engines whose backups are applied as a chain restore with their own recipe.
        // The source's recorded engine; for a source with nothing in it yet, the configured one.
        const engine = (await sourceEngine(repo, s.source)) ?? engineFor(s.connection.engine);
        if (engine.capabilities.chainRestore) {
          const { restoreMysql } = await import('../command/restore/mysql.js');
          const owner = resolveRunAs(o.runAs ?? s.runAs ?? 'mysql');
          const target = mysqlTarget(o);
          const mysqlResult = await restoreMysql({ repo, source: s.source, targetDir, label: o.backup, force: !!o.force, target, start: o.start ? { port: o.port! } : undefined, replayAs: { user: s.connection.user, password: s.connection.password }, owner, reporter: reporter() });
          printMysqlRestore(mysqlResult, !!globals().json, out);
          return;
        }
        if (o.toPosition !== undefined || o.toGtid !== undefined) throw dbtoolError('USAGE', `${o.toGtid !== undefined ? '--to-gtid' : '--to-position'} applies to MySQL/MariaDB sources only`, 'For PostgreSQL use --to-lsn, --to-time, --to-xid or --to-name');
        const runAs = resolveRunAs(o.runAs ?? s.runAs);
        // restore_command fetches ahead into the data directory's pg_wal (base backups leave out
        // what is there); not with a config file, which wal-get --async cannot trust.
        const prefetchSpool = s.configFile || o.prefetch === false ? undefined : join(resolve(targetDir), 'pg_wal', PREFETCH_SPOOL);
        const { restore } = await import('../command/restore/index.js');
        const result = await restore({
          repo,
          source: s.source,
          targetDir,
          label: o.backup,
          target: { toTime: o.toTime, toLsn: o.toLsn, toXid: o.toXid, toName: o.toName, immediate: o.immediate },
          action: o.targetAction,
          force: !!o.force,
          archiveMode: o.archiveMode,
          tablespaceMap: map,
          tablespaceDir: o.tablespaceDir ? resolve(o.tablespaceDir) : undefined,
          restoreCommand: selfCommand(s, prefetchSpool ? ['wal-get', '--async', '--spool', shellQuote(prefetchSpool), '%f', '"%p"'] : ['wal-get', '%f', '"%p"'], repo),
          prefetchSpool,
          start: o.start ? { port: o.port!, runAs } : undefined,
          owner: runAs,
          reporter: reporter(),
        });
        printRestore(result, !!globals().json, out);
      });
    });

  program
    .command('info')
    .description('backups, archive range per timeline, and the restorable window')
    .action(async () => {
      const s = settings();
      const { info } = await import('../command/info/index.js');
      const report = await withRepo(s, (repo) => info(repo, s.source));
      printInfo(report, !!globals().json, out);
    });

  program
    .command('check')
    .description('check the server is set up for this repository, then prove archiving with a WAL switch')
    .option('--timeout <seconds>', 'how long to wait for the switched segment (default 60)', intArg('--timeout', 1, 86400))
    .action(async (o) => {
      const s = settings();
      if (engineFor(s.connection.engine).capabilities.binlogArchive) {
        const { checkMysql } = await import('../command/check/mysql.js');
        const m = await withRepo(s, (repo) => checkMysql({ repo, source: s.source, connection: mysqlConnection(s), reporter: reporter() }));
        if (globals().json) out(JSON.stringify(m));
        else out(`check passed: log_bin ON, binlog_format ${m.binlogFormat}, server_id ${m.serverId}, ${m.backupTool} installed; ${m.archived} archived into the repository`);
        return;
      }
      const { check } = await import('../command/check/index.js');
      const r = await withRepo(s, (repo) =>
        check({ repo, source: s.source, connection: pgConnection(s), repoLocation: absoluteRepo(requireRepo(s)), timeoutSeconds: o.timeout ?? 60, reporter: reporter() }),
      );
      if (globals().json) out(JSON.stringify(r));
      else out(`check passed: wal_level ${r.walLevel}, archive_mode ${r.archiveMode}, ${r.segment} archived into the repository (${r.seconds.toFixed(1)} s)`);
    });

  program
    .command('verify')
    .description('check that backups are restorable: chunks against their ids, manifests, WAL and archive continuity')
    .option('--backup <label>', 'verify only this backup')
    .option('--restore-test', 'restore the backup (default: latest) into a scratch directory, start it, pg_amcheck and read every table')
    .option('--run-as <user>', 'OS user for the scratch server when run as root (default postgres)')
    .action(async (o) => {
      const s = settings();
      if (o.restoreTest && engineFor(s.connection.engine).capabilities.chainRestore) {
        const { restoreTestMysql } = await import('../command/verify/restore-test-mysql.js');
        const { restoreTestFailure } = await import('../command/verify/restore-test.js');
        const owner = resolveRunAs(o.runAs ?? s.runAs ?? 'mysql');
        const r = await withRepo(s, (repo) => restoreTestMysql({ repo, source: s.source, label: o.backup, login: { user: s.connection.user, password: s.connection.password }, runAs: owner, reporter: reporter() }));
        printRestoreTest(r, !!globals().json, out);
        if (!r.ok) throw restoreTestFailure(r);
        return;
      }
      if (o.restoreTest) {
        const runAs = resolveRunAs(o.runAs ?? s.runAs);
        const { restoreTest, restoreTestFailure } = await import('../command/verify/restore-test.js');
        const r = await withRepo(s, (repo) => restoreTest({ repo, source: s.source, label: o.backup, restoreCommand: selfCommand(s, ['wal-get', '%f', '"%p"'], repo), runAs, reporter: reporter() }));
        printRestoreTest(r, !!globals().json, out);
        if (!r.ok) throw restoreTestFailure(r);
        return;
      }
      const { verify } = await import('../command/verify/index.js');
      const report = await withRepo(s, (repo) => verify({ repo, source: s.source, label: o.backup, reporter: reporter() }));
      printVerify(report, !!globals().json, out);
      if (!report.ok) {
        const n = report.badChunks.length + report.badManifests.length + report.missingWal.length + report.gaps.length + (report.binlogProblems?.length ?? 0);
        throw dbtoolError('VERIFY_FAILED', `verify found ${n} problem(s) in ${report.backups.length} backup(s)`, 'See the report above; restore from a backup it does not name');
      }
    });

  program
    .command('expire')
    .description('apply retention: remove old backups, the WAL only they needed, and chunks nothing references')
    .option('--keep-full <n>', 'keep the newest N full backups and the backups based on them', intArg('--keep-full', 1, 100000))
    .option('--keep-diff <n>', 'keep the newest N differential backups and the backups based on them', intArg('--keep-diff', 1, 100000))
    .option('--keep-days <d>', 'keep what is needed to restore to any point in the last D days', intArg('--keep-days', 0, 100000))
    .option('--keep-logical <n>', 'keep the newest N logical backups', intArg('--keep-logical', 1, 100000))
    .option('--dry-run', 'print the plan, change nothing')
    .action(async (o) => {
      const s = settings();
      const policy = { keepFull: o.keepFull ?? s.retention.keepFull, keepDiff: o.keepDiff ?? s.retention.keepDiff, keepDays: o.keepDays ?? s.retention.keepDays, keepLogical: o.keepLogical ?? s.retention.keepLogical };
      const { expire } = await import('../command/expire/index.js');
      const r = await withRepo(s, (repo) => expire({ repo, source: s.source, policy, dryRun: !!o.dryRun, reporter: reporter() }));
      printExpire(r, !!globals().json, out);
    });

  const startConsole = async (): Promise<void> => {
    const s = settings();
    // A MySQL source backs up with its own tool; PostgreSQL's connection is only built for PostgreSQL.
    const chain = engineFor(s.connection.engine).capabilities.chainRestore;
    const { ConsoleSession } = await import('../command/console/session.js');
    const { historyPath, runRepl } = await import('./console/repl.js');
    const session = new ConsoleSession({
      repo: s.repo,
      source: s.source,
      engine: s.connection.engine,
      connection: chain ? undefined : pgConnection(s),
      mysql: chain ? { connection: mysqlConnection(s), target: mysqlTarget, owner: resolveRunAs(s.runAs ?? 'mysql') } : undefined,
      openSql: () => openSqlSession(s),
      restoreCommand: (location, repo) => selfCommand({ ...s, repo: location }, ['wal-get', '%f', '"%p"'], repo),
      openRepo: (location) => Repository.open(openStorage(location, undefined, { s3: s.s3 }), { passphrase: passphraseProvider(s.passphrase) }),
      initRepo: (location) => Repository.init(openStorage(location, undefined, { s3: s.s3 })),
      runAs: resolveRunAs(s.runAs),
      reporter: makeReporter({ quiet: !!globals().quiet, tty: !!process.stderr.isTTY }),
    });
    const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY;
    const { failed } = await runRepl({ session, input: process.stdin, output: process.stdout, errors: process.stderr, interactive, historyFile: historyPath() });
    // Piped input is a script: any failed command fails the run.
    if (!interactive && failed > 0) process.exitCode = 1;
  };

  program
    .command('console')
    .description('interactive console: backups, SQL (with CSV extract), restore, info, verify; reads commands from stdin when piped')
    .action(() => startConsole());

  program
    .command('sample-data')
    .description('create the sample `books` table if missing and load generated rows into it (COPY, in batches)')
    .option('--rows <n>', 'rows to load (default 100000)', intArg('--rows', 1, 1_000_000_000))
    .option('--batch-size <n>', 'rows per COPY batch, each committed (default 10000)', intArg('--batch-size', 1, 100_000_000))
    .option('--seed <n>', 'generator seed: the same seed gives the same rows (default 1)', intArg('--seed', 0, 2 ** 32 - 1))
    .action(async (o) => {
      const s = settings();
      const { sampleData } = await import('../command/sample-data/index.js');
      const session = await openSqlSession(s);
      try {
        const r = await sampleData({ session, rows: o.rows ?? 100_000, batchSize: o.batchSize ?? 10_000, seed: o.seed ?? 1, reporter: reporter() });
        if (globals().json) out(JSON.stringify(r));
        else if (!globals().quiet) out(`loaded ${r.rows} rows into books in ${r.batches} batch(es) in ${r.seconds.toFixed(1)} s (${Math.round(r.rowsPerSecond)} rows/s); the table has ${r.tableRows} rows`);
      } finally {
        await session.close();
      }
    });

  const configCmd = program.command('config').description('configuration');
  configCmd
    .command('show')
    .description('the effective settings and where each comes from (flag, environment, .env, config file); secrets masked')
    .action(() => {
      const lines = settingsView(settings());
      if (globals().json) out(JSON.stringify({ settings: lines }, null, 2));
      else out(formatTable(['setting', 'value', 'from'], lines.map((l) => [l.key, l.value ?? '-', l.origin])));
    });

  program
    .command('lab')
    .description('sandbox: a throwaway PostgreSQL (and MariaDB when installed), sample data, the backup strategies measured and every restore checked; a Markdown/JSON/SVG report')
    .option('--rows <n>', 'sample rows to load (default 100000)', intArg('--rows', 1, 100_000_000))
    .option('--batch-size <n>', 'rows per insert batch (default 10000)', intArg('--batch-size', 1, 1_000_000))
    .option('--keep', 'keep the sandbox directory and leave nothing running')
    .option('--run-as <user>', 'OS user for the sandbox server when run as root (default postgres)')
    .option('--report-dir <dir>', 'where to write dbtool-lab.md, .json and .svg (default: the working directory)')
    .action(async (o) => {
      const { lab } = await import('../command/lab/index.js');
      const result = await lab({ rows: o.rows ?? 100_000, batchSize: o.batchSize ?? 10_000, keep: !!o.keep, runAs: resolveRunAs(o.runAs), reporter: reporter(), entry: realpathSync(process.argv[1] ?? ''), reportDir: resolve(o.reportDir ?? '.') });
      // A lab relaunched as another user writes into a scratch dir; its parent names the real files.
      if (process.env.DBTOOL_LAB_CHILD) result.files = [];
      printLab(result, !!globals().json, out);
    });

  return program;
}
