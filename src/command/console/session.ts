// The console's commands, run one at a time against a session: the repository chosen by the last
// `full database -path`, one SQL connection opened on first use. Each reuses the CLI's command
// functions (backup, restore, info, verify), never a subprocess.

import { resolve } from 'node:path';
import { dbtoolError, isDbtoolError } from '../../core/errors.js';
import type { OsUser } from '../../core/os-user.js';
import type { Reporter } from '../../core/reporter.js';
import type { PgConnectionOptions } from '../../engine/postgres/connection.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { engineFor } from '../../engine/engine.js';
import type { EngineName } from '../../engine/engine.js';
import type { SqlSession, SqlValue } from '../../engine/sql-session.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { backup } from '../backup/index.js';
import { backupMysql } from '../backup/mysql.js';
import { restoreMysql } from '../restore/mysql.js';
import { sourceEngine } from '../restore/source-engine.js';
import type { MysqlRestoreResult } from '../restore/mysql.js';
import type { MysqlTarget } from '../restore/mysql-plan.js';
import { info } from '../info/index.js';
import type { InfoReport } from '../info/index.js';
import { loadCatalog } from '../info/catalog.js';
import { restore } from '../restore/index.js';
import type { RestoreResult } from '../restore/index.js';
import { verify } from '../verify/index.js';
import type { VerifyReport } from '../verify/index.js';
import { extractCsv } from './extract.js';
import type { ExtractResult } from './extract.js';
import type { ConsoleCommand } from './grammar.js';

export interface ConsoleOptions {
  /** repository location from settings; `full database -path` replaces it for the session */
  repo: string | undefined;
  source: string;
  /** the configured engine (default postgres); commands pick their path by its capabilities */
  engine?: EngineName;
  /** a PostgreSQL source's connection (backups) */
  connection?: PgConnectionOptions;
  /** a MySQL/MariaDB source: backups through its backup tool, restores applied as a chain */
  mysql?: MysqlConsoleSource;
  openSql: () => Promise<SqlSession>;
  /** restore_command for a restore from `repo` (the CLI builds it: it knows its own path) */
  /** restore_command for a restore from the repository at `location` (opened as `repo`) */
  restoreCommand: (location: string, repo: Repository) => string;
  /** open the repository at a location (the CLI knows its storage options and passphrase) */
  openRepo: (location: string) => Promise<Repository>;
  /** create one there (`full database -path` on an empty path) */
  initRepo: (location: string) => Promise<Repository>;
  runAs: OsUser | undefined;
  reporter: Reporter;
}

export interface MysqlConsoleSource {
  connection: MysqlConnectionOptions;
  /** the recovery target of the restore flags (the CLI parses it as `restore` does) */
  target: (flags: { toTime?: string; toLsn?: string; toXid?: string; toName?: string; immediate?: boolean }) => MysqlTarget;
  /** owner of restored files and the restored server's OS user when running as root */
  owner: OsUser | undefined;
}

/** How many rows `SQL` prints; every row is still counted. */
export const SHOWN_ROWS = 100;

export interface SqlTable {
  columns: string[];
  rows: SqlValue[][];
  /** all rows, shown or not */
  rowCount: number;
  command: string;
  ms: number;
}

export type ConsoleResult =
  | { kind: 'none' }
  | { kind: 'exit' }
  | { kind: 'help'; topic?: string }
  | { kind: 'backup'; manifest: Manifest; repo: string; created: boolean }
  | { kind: 'sql'; table: SqlTable }
  | { kind: 'extract'; extract: ExtractResult }
  | { kind: 'restore'; result: RestoreResult }
  | { kind: 'mysql-restore'; result: MysqlRestoreResult }
  | { kind: 'info'; report: InfoReport }
  | { kind: 'verify'; report: VerifyReport };

export class ConsoleSession {
  private repoLocation: string | undefined;
  private sql: SqlSession | undefined;

  constructor(private readonly o: ConsoleOptions) {
    this.repoLocation = o.repo;
  }

  get repo(): string | undefined {
    return this.repoLocation;
  }

  async run(cmd: ConsoleCommand): Promise<ConsoleResult> {
    switch (cmd.kind) {
      case 'empty':
        return { kind: 'none' };
      case 'exit':
        return { kind: 'exit' };
      case 'help':
        return cmd.topic ? { kind: 'help', topic: cmd.topic } : { kind: 'help' };
      case 'full':
        return this.full(cmd.path);
      case 'backup':
        return this.childBackup(cmd.type);
      case 'sql':
        try {
          if (cmd.extractDir !== undefined) return { kind: 'extract', extract: await extractCsv(await this.session(), cmd.query, cmd.extractDir) };
          return { kind: 'sql', table: await this.query(cmd.query) };
        } catch (e) {
          // A lost connection is not reused: the next SQL command connects again.
          if (isDbtoolError(e) && e.code === 'SERVER_UNREACHABLE') await this.close();
          throw e;
        }
      case 'info':
        return this.withRepo(async (repo) => ({ kind: 'info', report: await info(repo, this.o.source) }));
      case 'verify':
        return this.withRepo(async (repo) => ({ kind: 'verify', report: await verify({ repo, source: this.o.source, label: cmd.backup, reporter: this.o.reporter }) }));
      case 'restore': {
        const f = cmd.flags;
        const location = this.requireRepo();
        const mysqlResult = await this.withRepo(async (repo) => {
          // As the CLI: the source's recorded engine, or the configured one for an unknown source.
          const engine = (await sourceEngine(repo, this.o.source)) ?? engineFor(this.o.engine ?? 'postgres');
          if (!engine.capabilities.chainRestore) return undefined;
          const my = this.requireMysql();
          if (f.start && f.port === undefined) throw dbtoolError('USAGE', '-start needs -port', 'Give the port the restored server should listen on, e.g. -port 3307');
          return restoreMysql({
            repo,
            source: this.o.source,
            targetDir: resolve(f.targetDir),
            label: f.backup,
            force: !!f.force,
            target: my.target(f),
            start: f.start ? { port: f.port! } : undefined,
            replayAs: { user: my.connection.user, password: my.connection.password },
            owner: my.owner,
            reporter: this.o.reporter,
          });
        });
        if (mysqlResult) return { kind: 'mysql-restore', result: mysqlResult };
        const result = await this.withRepo((repo) =>
          restore({
            repo,
            source: this.o.source,
            targetDir: resolve(f.targetDir),
            label: f.backup,
            target: { toTime: f.toTime, toLsn: f.toLsn, toXid: f.toXid, toName: f.toName, immediate: f.immediate },
            action: f.targetAction ?? 'promote',
            force: !!f.force,
            archiveMode: f.archiveMode ?? 'preserve',
            tablespaceMap: new Map(),
            restoreCommand: this.o.restoreCommand(location, repo),
            start: f.start ? { port: f.port!, runAs: this.o.runAs } : undefined,
            owner: this.o.runAs,
            reporter: this.o.reporter,
          }),
        );
        return { kind: 'restore', result };
      }
    }
  }

  async close(): Promise<void> {
    await this.sql?.close();
    this.sql = undefined;
  }

  /** `full database -path P`: the repository at P (created when there is none), then a full backup. */
  private async full(path: string | undefined): Promise<ConsoleResult> {
    const location = path !== undefined ? resolve(path) : this.requireRepo();
    let created = false;
    let repo: Repository;
    try {
      repo = await this.o.openRepo(location);
    } catch (e) {
      if (!isDbtoolError(e) || e.code !== 'REPO_NOT_FOUND') throw e;
      repo = await this.o.initRepo(location);
      created = true;
      this.o.reporter.info(`created a repository at ${location}`);
    }
    this.repoLocation = location;
    try {
      const manifest = await this.takeBackup(repo, 'full');
      return { kind: 'backup', manifest, repo: location, created };
    } finally {
      await repo.close();
    }
  }

  /** `differential backup` / `incremental backup`: refused, clearly, without a previous full. */
  private async childBackup(type: 'diff' | 'incr'): Promise<ConsoleResult> {
    const name = type === 'diff' ? 'a differential' : 'an incremental';
    const location = this.repoLocation;
    if (location === undefined) {
      throw dbtoolError('NO_BACKUP', `${name} backup needs a previous full backup, and no repository is chosen yet`, 'Take a full backup first: full database -path /path/to/backups');
    }
    return this.withRepo(async (repo) => {
      const { manifests } = await loadCatalog(repo, this.o.source);
      if (!manifests.some((m) => m.type === 'full')) {
        throw dbtoolError('NO_BACKUP', `${name} backup needs a previous full backup of source ${this.o.source} in ${location}, and there is none`, `Take one first: full database -path ${location}`);
      }
      const manifest = await this.takeBackup(repo, type);
      return { kind: 'backup', manifest, repo: location, created: false };
    });
  }

  /** A physical backup the engine's way, as the CLI's `backup` chooses by capability. */
  private async takeBackup(repo: Repository, type: 'full' | 'diff' | 'incr'): Promise<Manifest> {
    if (engineFor(this.o.engine ?? 'postgres').capabilities.chainRestore) {
      return backupMysql({ repo, source: this.o.source, type, connection: this.requireMysql().connection, reporter: this.o.reporter });
    }
    if (!this.o.connection) throw dbtoolError('USAGE', 'the console has no PostgreSQL connection to back up', 'Set DB_ENGINE and the connection settings');
    return backup({ repo, source: this.o.source, type, connection: this.o.connection, checkpoint: 'fast', reporter: this.o.reporter });
  }

  private requireMysql(): MysqlConsoleSource {
    if (!this.o.mysql) throw dbtoolError('USAGE', 'this repository holds MySQL/MariaDB backups, and the console is not set up for a MySQL source', 'Start the console with DB_ENGINE=mysql (or --db mysql)');
    return this.o.mysql;
  }

  /** Run a statement; keep the first SHOWN_ROWS rows, count the rest as they stream by. */
  private async query(text: string): Promise<SqlTable> {
    const session = await this.session();
    const started = performance.now();
    const table: SqlTable = { columns: [], rows: [], rowCount: 0, command: '', ms: 0 };
    const outcome = await session.stream(text, 1000, (b) => {
      table.columns = b.columns;
      for (const r of b.rows) if (table.rows.length < SHOWN_ROWS) table.rows.push(r);
      table.rowCount += b.rows.length;
    });
    table.command = outcome.command;
    if (table.columns.length === 0 && outcome.rowCount !== null) table.rowCount = outcome.rowCount;
    table.ms = performance.now() - started;
    return table;
  }

  private async session(): Promise<SqlSession> {
    this.sql ??= await this.o.openSql();
    return this.sql;
  }

  private requireRepo(): string {
    if (this.repoLocation === undefined) {
      throw dbtoolError('REPO_NOT_FOUND', 'no repository is chosen yet', 'Take a full backup with full database -path /path/to/backups, or start the console with --repo');
    }
    return this.repoLocation;
  }

  private async withRepo<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
    const repo = await this.o.openRepo(this.requireRepo());
    try {
      return await fn(repo);
    } finally {
      await repo.close();
    }
  }
}
