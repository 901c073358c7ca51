// Logical MySQL/MariaDB backups: one mariadb-dump/mysqldump per database (--single-transaction,
// routines, events, triggers) streamed from stdout, loaded back with the mariadb/mysql client.

import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { dbtoolError } from '../../core/errors.js';
import type { DumpEntry, LogicalDumpInfo, LogicalDumper, LogicalLoadOptions, LogicalLoader } from '../logical.js';
import { requireTool, withStdoutBuffer } from './binaries.js';
import { connectMysql, mapMysqlError, queryMysql, writeToolOptionFile } from './connection.js';
import type { MysqlConnectionOptions } from './connection.js';
import { FLAVOURS } from './flavours.js';
import type { MysqlFlavour } from './flavours.js';
import { serverFacts } from './server-facts.js';

const run = promisify(execFile);

/** Databases that belong to the server, not to the user. */
const SYSTEM_DATABASES = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

function clientPackage(flavour: MysqlFlavour): string {
  return FLAVOURS[flavour].clientPackage;
}

/** The path of a database's dump inside the backup. */
export function dumpPath(database: string): string {
  return `databases/${database}.sql`;
}

export class MysqlLogicalDumper implements LogicalDumper {
  private facts: { info: LogicalDumpInfo; flavour: MysqlFlavour } | undefined;

  /** @param databases the databases to dump (default: every user database) */
  constructor(
    private readonly connection: MysqlConnectionOptions,
    private readonly databases?: string[],
  ) {}

  async info(): Promise<LogicalDumpInfo> {
    if (this.facts) return this.facts.info;
    const conn = await connectMysql(this.connection);
    try {
      const facts = await serverFacts(conn);
      const [rows] = await conn.query('SHOW DATABASES');
      const all = (rows as Array<{ Database: string }>).map((r) => r.Database).filter((d) => !SYSTEM_DATABASES.has(d));
      const databases = this.databases ?? all;
      for (const d of databases) {
        if (!all.includes(d)) throw dbtoolError('SERVER_CONFIG', `database '${d}' does not exist on the server`, 'Name an existing database');
      }
      const tool = requireTool(FLAVOURS[facts.flavour].dump, 'the dump tool', clientPackage(facts.flavour));
      const { stdout } = await run(tool, ['--version']);
      const info: LogicalDumpInfo = { serverVersion: facts.version, serverVersionNum: facts.versionNum, systemId: facts.systemId, databases, tool: stdout.trim() };
      this.facts = { info, flavour: facts.flavour };
      return info;
    } catch (e) {
      throw mapMysqlError(e, this.connection);
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  async *entries(): AsyncIterable<DumpEntry> {
    const info = await this.info();
    const flavour = this.facts!.flavour;
    for (const database of info.databases) {
      yield { path: dumpPath(database), data: this.dump(database, flavour) };
    }
  }

  /** One database's dump on stdout; the tool's failure surfaces at the end of the stream. */
  private async *dump(database: string, flavour: MysqlFlavour): AsyncGenerator<Buffer> {
    const tool = requireTool(FLAVOURS[flavour].dump, 'the dump tool', clientPackage(flavour));
    const optionFile = await writeToolOptionFile(this.connection);
    try {
      const args = [optionFile.arg, '--single-transaction', '--routines', '--events', '--triggers', '--hex-blob', '--default-character-set=utf8mb4', '--', database];
      // 1 MiB writes instead of 4 KiB ones; 1 MiB reads of ours (highWaterMark) to match.
      const cmd = withStdoutBuffer(tool, args);
      const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-16384)));
      const exit = new Promise<number | null>((resolve, reject) => {
        child.on('error', (e) => reject(dbtoolError('TOOL_MISSING', `cannot run ${tool} (${e.message})`, `Install the ${clientPackage(flavour)} package`, e)));
        child.on('close', (code) => resolve(code));
      });
      exit.catch(() => undefined);
      try {
        for await (const piece of child.stdout) yield piece as Buffer;
      } finally {
        // The consumer stopped early: do not leave the dump running.
        if (child.exitCode === null) child.kill('SIGTERM');
      }
      const code = await exit;
      if (code !== 0) {
        if (/Access denied/i.test(stderr)) throw dbtoolError('SERVER_AUTH', `${tool} was refused: ${stderr.trim().split('\n')[0]}`, 'Check the user and password (DB_USER, DB_PASSWORD or the config file)');
        throw dbtoolError('TOOL_FAILED', `${tool} of database '${database}' failed (exit ${code}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`, 'See the message; the user needs SELECT, SHOW VIEW, TRIGGER, EVENT and LOCK TABLES');
      }
    } finally {
      await optionFile.remove();
    }
  }
}

export class MysqlLogicalLoader implements LogicalLoader {
  constructor(private readonly connection: MysqlConnectionOptions) {}

  async isNonEmpty(database: string): Promise<boolean> {
    const rows = await queryMysql<{ n: number }>(this.connection, 'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [database]);
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async load(o: LogicalLoadOptions): Promise<void> {
    const path = dumpPath(o.fromDatabase);
    if (!o.paths.includes(path)) throw dbtoolError('USAGE', `the backup holds no database '${o.fromDatabase}'`, `It holds: ${o.paths.map((p) => p.replace(/^databases\/|\.sql$/g, '')).join(', ')}`);
    // The dump is streamed into the client: a damaged chunk would show only after the drop.
    if (o.clean) await o.check(path);
    const conn = await connectMysql(this.connection);
    let flavour: MysqlFlavour;
    try {
      flavour = (await serverFacts(conn)).flavour;
      if (o.clean) await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(o.intoDatabase)}`);
      await conn.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(o.intoDatabase)}`);
    } catch (e) {
      throw mapMysqlError(e, this.connection);
    } finally {
      await conn.end().catch(() => undefined);
    }
    const client = requireTool(FLAVOURS[flavour].client, 'the client', clientPackage(flavour));
    const optionFile = await writeToolOptionFile(this.connection);
    try {
      const child = spawn(client, [optionFile.arg, '--binary-mode', `--database=${o.intoDatabase}`], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-16384)));
      const exit = new Promise<number | null>((resolve, reject) => {
        child.on('error', (e) => reject(dbtoolError('TOOL_MISSING', `cannot run ${client} (${e.message})`, `Install the ${clientPackage(flavour)} package`, e)));
        child.on('close', (code) => resolve(code));
      });
      const input = o.read(path);
      let readError: unknown;
      input.on('error', (e) => {
        readError = e;
        child.kill('SIGTERM');
      });
      child.stdin.on('error', () => undefined);
      input.pipe(child.stdin);
      const code = await exit;
      if (readError) throw readError;
      if (code !== 0) throw dbtoolError('TOOL_FAILED', `loading '${o.fromDatabase}' into '${o.intoDatabase}' failed (${client}, exit ${code}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`, 'See the message; --clean drops the target database first');
    } finally {
      await optionFile.remove();
    }
  }
}
