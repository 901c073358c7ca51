// What each database engine can do, as flags: commands choose their path by capability, never by
// comparing engine names.

export type EngineName = 'postgres' | 'mysql';

export interface EngineCapabilities {
  /** physical backups streamed from the server into the repository, file by file */
  physicalStream: boolean;
  /** continuous archiving of WAL pushed by the server (archive_command → wal-push) */
  walArchive: boolean;
  /** continuous archiving of binlogs pulled by dbtool (binlog-archive) */
  binlogArchive: boolean;
  /** every backup, incremental or not, restores in one pass (its manifest lists every file) */
  singlePassRestore: boolean;
  /** a restore applies the chain: the full, then each increment in order (prepare steps) */
  chainRestore: boolean;
  /** logical dumps (--type logical) */
  logical: boolean;
}

export interface Engine {
  name: EngineName;
  /** for messages */
  title: string;
  capabilities: EngineCapabilities;
}

export const ENGINES: Record<EngineName, Engine> = {
  postgres: {
    name: 'postgres',
    title: 'PostgreSQL',
    capabilities: { physicalStream: true, walArchive: true, binlogArchive: false, singlePassRestore: true, chainRestore: false, logical: true },
  },
  mysql: {
    name: 'mysql',
    title: 'MySQL/MariaDB',
    capabilities: { physicalStream: true, walArchive: false, binlogArchive: true, singlePassRestore: false, chainRestore: true, logical: true },
  },
};

export function engineFor(name: EngineName): Engine {
  return ENGINES[name];
}
