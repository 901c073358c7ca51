// Pure decisions of a MySQL/MariaDB physical backup: the parent's LSN, and the manifest assembled
// from what the backup tool sent.

import { dbtoolError } from '../../core/errors.js';
import type { BackupKind } from '../../core/time.js';
import { parseBinlogInfo, parseCheckpoints } from '../../engine/mysql/backup-meta.js';
import { FLAVOURS } from '../../engine/mysql/flavours.js';
import type { MysqlFlavour } from '../../engine/mysql/flavours.js';
import type { MysqlServerFacts } from '../../engine/mysql/server-facts.js';
import type { ChunkStats } from '../../repo/chunk-store.js';
import { MANIFEST_FORMAT } from '../../repo/manifest.js';
import { manifestBytes } from './plan.js';
import type { Manifest, ManifestFile } from '../../repo/manifest.js';

/** The LSN an increment starts from: its parent's to_lsn. */
export function incrementalLsnOf(parent: Manifest): string {
  if (!parent.mysql) {
    throw dbtoolError('MANIFEST_INVALID', `parent backup ${parent.label} has no MySQL checkpoint (engine ${parent.engine})`, 'Take a --type full backup to start a new chain');
  }
  return parent.mysql.toLsn;
}

export interface MysqlBackupFacts {
  label: string;
  source: string;
  type: BackupKind;
  parent: string | null;
  startTime: Date;
  stopTime: Date;
  server: MysqlServerFacts;
  flavour: MysqlFlavour;
  tool: string;
  /** the metadata files the tool sent, by name */
  meta: Map<string, Buffer>;
  files: ManifestFile[];
  stats: ChunkStats;
  chunkSize: number;
}

export function buildMysqlManifest(f: MysqlBackupFacts): Manifest {
  const fl = FLAVOURS[f.flavour];
  const checkpoints = f.meta.get(fl.checkpointsFile);
  if (!checkpoints) throw dbtoolError('SERVER_PROTOCOL', `the backup stream has no ${fl.checkpointsFile}`, 'Retry the backup; check the backup tool version');
  const cp = parseCheckpoints(checkpoints.toString('utf8'));
  const binlogText = fl.binlogInfoFiles.map((n) => f.meta.get(n)).find((b) => b !== undefined);
  const binlog = binlogText ? parseBinlogInfo(binlogText.toString('utf8')) : undefined;
  return {
    format: MANIFEST_FORMAT,
    label: f.label,
    source: f.source,
    engine: 'mysql',
    type: f.type,
    parent: f.parent,
    startTime: f.startTime.toISOString(),
    stopTime: f.stopTime.toISOString(),
    chunkSize: f.chunkSize,
    server: { version: f.server.version, versionNum: f.server.versionNum, systemId: f.server.systemId },
    mysql: { flavour: f.flavour, backupType: cp.backupType, fromLsn: cp.fromLsn, toLsn: cp.toLsn, lastLsn: cp.lastLsn, ...(binlog ? { binlog } : {}), tool: f.tool },
    bytes: manifestBytes(f.files, f.stats),
    files: f.files,
  };
}
