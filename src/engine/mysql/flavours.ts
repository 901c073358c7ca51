// MariaDB and MySQL differ in binary names, flags and file names, not in design: one table of
// those differences, per flavour. MariaDB 10.11 + mariadb-backup is tested; MySQL 8 + xtrabackup is not.

export type MysqlFlavour = 'mariadb' | 'mysql';

export interface FlavourTools {
  /** candidates in order; the first found on PATH is used */
  server: string[];
  backup: string[];
  client: string[];
  binlog: string[];
  dump: string[];
  installDb: string[];
  /** Debian package that provides the backup tool (named in TOOL_MISSING) */
  backupPackage: string;
  /** Debian package that provides the client, dump and binlog tools */
  clientPackage: string;
  /** the server variable holding the executed GTID position */
  gtidVariable: string;
  /** `--stream=<format>` of the backup tool */
  streamFormat: string;
  /** the file in a backup holding the binlog coordinates, in the order the tool may write them */
  binlogInfoFiles: string[];
  /** the file in a backup holding the checkpoint LSNs */
  checkpointsFile: string;
  /** extra flags the backup tool needs for a streamed backup */
  backupFlags: string[];
  /** every prepare but the last of a chain needs --apply-log-only (xtrabackup; mariabackup ≥ 10.2 does not) */
  applyLogOnlyBeforeLast: boolean;
}

export const FLAVOURS: Record<MysqlFlavour, FlavourTools> = {
  mariadb: {
    server: ['mariadbd', 'mysqld'],
    backup: ['mariadb-backup', 'mariabackup'],
    client: ['mariadb', 'mysql'],
    binlog: ['mariadb-binlog', 'mysqlbinlog'],
    dump: ['mariadb-dump', 'mysqldump'],
    installDb: ['mariadb-install-db', 'mysql_install_db'],
    backupPackage: 'mariadb-backup',
    clientPackage: 'mariadb-client',
    gtidVariable: 'gtid_binlog_pos',
    streamFormat: 'mbstream',
    binlogInfoFiles: ['mariadb_backup_binlog_info', 'xtrabackup_binlog_info'],
    checkpointsFile: 'xtrabackup_checkpoints',
    backupFlags: [],
    applyLogOnlyBeforeLast: false,
  },
  mysql: {
    server: ['mysqld'],
    backup: ['xtrabackup'],
    client: ['mysql'],
    binlog: ['mysqlbinlog'],
    dump: ['mysqldump'],
    installDb: ['mysqld'],
    backupPackage: 'percona-xtrabackup-80',
    clientPackage: 'mysql-client',
    gtidVariable: 'gtid_executed',
    streamFormat: 'xbstream',
    binlogInfoFiles: ['xtrabackup_binlog_info'],
    checkpointsFile: 'xtrabackup_checkpoints',
    // xtrabackup 8 refuses a server it does not know the exact version of without this.
    backupFlags: ['--no-server-version-check'],
    applyLogOnlyBeforeLast: true,
  },
};

/** The flavour from `SELECT VERSION()`: MariaDB says so in its version string. */
export function flavourOfVersion(version: string): MysqlFlavour {
  return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
}
