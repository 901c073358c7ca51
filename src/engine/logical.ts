// The contract between logical backups (pg_dump, mariadb-dump) and the commands that store and
// load them: an engine turns a live server into dump entries and loads them back; the command
// chunks and stores the entries like any other backup's files.

import type { Readable } from 'node:stream';

export interface DumpEntry {
  /** path inside the backup, '/'-separated, e.g. 'globals.sql' or 'databases/app/toc.dat' */
  path: string;
  /** declared length, or undefined for a stream of unknown length (a dump on stdout) */
  size?: number;
  /** the bytes; consumed to the end before the next entry is asked for */
  data: AsyncIterable<Buffer>;
}

export interface LogicalDumpInfo {
  serverVersion: string;
  serverVersionNum: number;
  /** the server's identity (PostgreSQL system id; MySQL server_uuid) */
  systemId: string;
  /** the databases the dump holds */
  databases: string[];
  /** the dump tool and its version, e.g. 'pg_dump (PostgreSQL) 15.19' */
  tool: string;
  /** a rough size of what will be dumped, for progress (optional: not every server can tell) */
  estimatedBytes?: number;
}

export interface LogicalDumper {
  /** facts about the server, read before dumping */
  info(): Promise<LogicalDumpInfo>;
  /** the dump, entry by entry */
  entries(): AsyncIterable<DumpEntry>;
}

export interface LogicalLoadOptions {
  /** database to load into, on the running server the loader connects to */
  intoDatabase: string;
  /** which database of the backup to load */
  fromDatabase: string;
  /** drop what is in the target database first */
  clean: boolean;
  /** parallel jobs where the tool supports them (pg_restore -j) */
  jobs: number;
  /** the paths the backup holds, as listed in its manifest */
  paths: string[];
  /** one stored file's bytes, verified chunk by chunk */
  read(path: string): Readable;
  /** every chunk of one stored file read and verified, nothing kept: before --clean drops anything */
  check(path: string): Promise<void>;
  /** write the stored files whose path starts with `prefix` below `dir` (for tools that need a directory) */
  materialise(prefix: string, dir: string): Promise<void>;
}

export interface LogicalLoader {
  /** true when the database exists and holds tables (restore refuses it without --clean) */
  isNonEmpty(database: string): Promise<boolean>;
  load(o: LogicalLoadOptions): Promise<void>;
}

/**
 * The directory of one database inside a logical backup: `databases/<name>/`. Names are
 * percent-encoded so that '/', '.' and '..' in a database name cannot escape it.
 */
export function databaseDir(database: string): string {
  const segment = encodeURIComponent(database).replace(/^\.+$/, (dots) => dots.replace(/\./g, '%2E'));
  return `databases/${segment}/`;
}
