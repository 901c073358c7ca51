// Pure decisions of a backup: its label, and the manifest assembled from what was read.

import { dbtoolError } from '../../core/errors.js';
import { formatLsn, parseLsn, segmentName, segnoOfLsn } from '../../core/lsn.js';
import type { HistoryEntry } from '../../core/lsn.js';
import { isLabel, labelTime, makeLabel } from '../../core/time.js';
import type { BackupKind } from '../../core/time.js';
import type { LogicalDumpInfo } from '../../engine/logical.js';
import type { BackupStart, BackupStop } from '../../engine/postgres/base-backup.js';
import type { ChunkStats } from '../../repo/chunk-store.js';
import { MANIFEST_FORMAT } from '../../repo/manifest.js';
import type { Manifest, ManifestFile } from '../../repo/manifest.js';

/** How far ahead of the clock an existing label may be before it is clock skew rather than a clash. */
const MAX_LABEL_WAIT_MS = 10_000;

/**
 * A label for a backup starting at `now`, in a second after every existing label's (labels have
 * 1 s resolution and sort by time only across seconds: an incr and a diff taken in the same
 * second would sort by their letter, not by the order they were taken).
 */
export function chooseLabel(now: Date, kind: BackupKind, existing: ReadonlySet<string>): { label: string; waitMs: number } {
  let newest = Number.NEGATIVE_INFINITY;
  for (const l of existing) if (isLabel(l)) newest = Math.max(newest, labelTime(l).getTime());
  const t = Math.max(now.getTime(), newest + 1000);
  const second = Math.floor(t / 1000) * 1000;
  // Wait until that second has begun (when it is a later one), so the label is never ahead of the clock.
  const start = second > now.getTime() ? second : now.getTime();
  if (start - now.getTime() > MAX_LABEL_WAIT_MS) {
    throw dbtoolError('CLOCK_SKEW', `the newest backup in the repository is labelled ${new Date(newest).toISOString()}, later than this machine's clock (${now.toISOString()})`, 'Check the clock (NTP) of this machine and of the one that took that backup');
  }
  return { label: makeLabel(new Date(start), kind), waitMs: start - now.getTime() };
}

/** A manifest's byte counts: the sizes of its files, and what the chunk writer read, added and stored. */
export function manifestBytes(files: ManifestFile[], stats: ChunkStats): Manifest['bytes'] {
  return {
    database: files.reduce((n, file) => n + (file.type === 'file' ? file.size : 0), 0),
    read: stats.read,
    new: stats.new,
    stored: stats.stored,
  };
}

export interface ParentChoice {
  type: BackupKind;
  parent: Manifest | undefined;
  /** why the requested type could not be taken (the backup falls back to full) */
  warning?: string;
}

/**
 * The parent of a diff (the newest full) or an incr (the newest physical backup of any type).
 * A parent that is missing, or whose chunks are not all in the repository, makes this a full
 * backup with a warning: a backup is never based on a broken one.
 */
export function chooseParent(type: BackupKind, manifests: Manifest[], chunkIds: ReadonlySet<string>): ParentChoice {
  if (type === 'full' || type === 'logical') return { type, parent: undefined };
  const physical = manifests.filter((m) => m.type !== 'logical');
  const parent = type === 'diff' ? [...physical].reverse().find((m) => m.type === 'full') : physical[physical.length - 1];
  if (!parent) return { type: 'full', parent: undefined, warning: `there is no ${type === 'diff' ? 'full ' : ''}backup to base a ${type} backup on; taking a full backup` };
  let missing = 0;
  for (const f of parent.files) for (const id of f.chunks ?? []) if (!chunkIds.has(id)) missing++;
  if (missing > 0) {
    return { type: 'full', parent: undefined, warning: `parent backup ${parent.label} is missing ${missing} chunk(s) from the repository; taking a full backup instead (run \`dbtool verify\`)` };
  }
  return { type, parent };
}

/**
 * A diff or incr must continue its parent's history: the server's timeline is the parent's, or
 * one whose history branches from it after the parent ended.
 */
export function checkTimeline(parent: Manifest, serverTimeline: number, histories: ReadonlyMap<number, HistoryEntry[]>): void {
  const pg = parent.postgres;
  if (!pg || serverTimeline === pg.stopTimeline) return;
  const history = histories.get(serverTimeline) ?? [];
  const branch = history.find((h) => h.parentTimeline === pg.stopTimeline);
  if (serverTimeline > pg.stopTimeline && branch && branch.switchLsn >= parseLsn(pg.stopLsn)) return;
  throw dbtoolError(
    'REPO_OTHER_CLUSTER',
    `the server is on timeline ${serverTimeline}, whose archived history does not continue parent backup ${parent.label} (timeline ${pg.stopTimeline}, ending at ${pg.stopLsn})`,
    'Take a --type full backup to start a new chain',
  );
}

export interface PostgresBackupFacts {
  label: string;
  source: string;
  startTime: Date;
  stopTime: Date;
  start: BackupStart;
  stop: BackupStop;
  stopNextXid: string | undefined;
  tablespaceNames: Map<number, string>;
  files: ManifestFile[];
  stats: ChunkStats;
  chunkSize: number;
  type: BackupKind;
  parent: string | null;
}

export function buildPostgresManifest(f: PostgresBackupFacts): Manifest {
  const seg = f.start.walSegmentSize;
  return {
    format: MANIFEST_FORMAT,
    label: f.label,
    source: f.source,
    engine: 'postgres',
    type: f.type,
    parent: f.parent,
    startTime: f.startTime.toISOString(),
    stopTime: f.stopTime.toISOString(),
    chunkSize: f.chunkSize,
    server: { version: f.start.serverVersion, versionNum: f.start.serverVersionNum, systemId: f.start.systemId },
    postgres: {
      startLsn: formatLsn(f.start.startLsn),
      stopLsn: formatLsn(f.stop.stopLsn),
      timeline: f.start.startTimeline,
      stopTimeline: f.stop.stopTimeline,
      startWal: segmentName(f.start.startTimeline, segnoOfLsn(f.start.startLsn, seg), seg),
      // The stop LSN may sit exactly at a segment boundary: the last byte needed is before it.
      stopWal: segmentName(f.stop.stopTimeline, segnoOfLsn(f.stop.stopLsn > 0n ? f.stop.stopLsn - 1n : 0n, seg), seg),
      walSegmentSize: seg,
      stopNextXid: f.stopNextXid,
      tablespaces: f.start.tablespaces.map((t) => ({ oid: t.oid, location: t.location, name: f.tablespaceNames.get(t.oid) })),
    },
    bytes: manifestBytes(f.files, f.stats),
    files: f.files,
  };
}

export interface LogicalBackupFacts {
  label: string;
  source: string;
  engine: Manifest['engine'];
  startTime: Date;
  stopTime: Date;
  dump: LogicalDumpInfo;
  files: ManifestFile[];
  stats: ChunkStats;
  chunkSize: number;
}

/** A logical backup's manifest: no parent, no WAL positions, the dump tool and its databases. */
export function buildLogicalManifest(f: LogicalBackupFacts): Manifest {
  return {
    format: MANIFEST_FORMAT,
    label: f.label,
    source: f.source,
    engine: f.engine,
    type: 'logical',
    parent: null,
    startTime: f.startTime.toISOString(),
    stopTime: f.stopTime.toISOString(),
    chunkSize: f.chunkSize,
    server: { version: f.dump.serverVersion, versionNum: f.dump.serverVersionNum, systemId: f.dump.systemId },
    logical: { tool: f.dump.tool, databases: f.dump.databases },
    bytes: manifestBytes(f.files, f.stats),
    files: f.files,
  };
}
