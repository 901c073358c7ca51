// The metadata files a physical MySQL/MariaDB backup carries: checkpoint LSNs and binlog coordinates.

import { dbtoolError } from '../../core/errors.js';

export interface Checkpoints {
  /** 'full-backuped', 'incremental', or after prepare 'log-applied'/'full-prepared' */
  backupType: string;
  fromLsn: string;
  toLsn: string;
  lastLsn: string;
}

export interface BinlogCoordinates {
  file: string;
  position: number;
  /** the GTID position of the last change, when the server has one */
  gtid?: string;
}

/** `key = value` lines of xtrabackup_checkpoints. */
export function parseCheckpoints(text: string): Checkpoints {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const num = (k: string): string => {
    const v = kv.get(k);
    if (v === undefined || !/^\d+$/.test(v)) throw dbtoolError('SERVER_PROTOCOL', `xtrabackup_checkpoints has no valid ${k} ('${v ?? ''}')`, 'Retry the backup; check the backup tool version');
    return v;
  };
  return { backupType: kv.get('backup_type') ?? 'unknown', fromLsn: num('from_lsn'), toLsn: num('to_lsn'), lastLsn: num('last_lsn') };
}

/** `file<TAB>position[<TAB>gtid]` of xtrabackup_binlog_info / mariadb_backup_binlog_info; undefined if empty. */
export function parseBinlogInfo(text: string): BinlogCoordinates | undefined {
  const line = text.split('\n').map((l) => l.trim()).find(Boolean);
  if (!line) return undefined;
  const [file, pos, ...gtid] = line.split(/\s+/);
  if (!file || !pos || !/^\d+$/.test(pos)) throw dbtoolError('SERVER_PROTOCOL', `the binlog info of the backup is malformed ('${line}')`, 'Retry the backup');
  const g = gtid.join('');
  return { file, position: Number(pos), ...(g ? { gtid: g } : {}) };
}

/** Compare two decimal LSN strings. */
export function compareLsn(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
