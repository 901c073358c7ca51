// Pure decisions of a backup: its label, and the manifest assembled from what was read.

import { formatLsn, segmentName, segnoOfLsn } from '../../core/lsn.js';
import { makeLabel } from '../../core/time.js';
import type { BackupKind } from '../../core/time.js';
import type { BackupStart, BackupStop } from '../../engine/postgres/base-backup.js';
import type { ChunkStats } from '../../repo/chunk-store.js';
import { MANIFEST_FORMAT } from '../../repo/manifest.js';
import type { Manifest, ManifestFile } from '../../repo/manifest.js';

/** A label for a backup starting at `now` that no existing backup has (labels have 1 s resolution). */
export function chooseLabel(now: Date, kind: BackupKind, existing: ReadonlySet<string>): { label: string; waitMs: number } {
  let t = now.getTime();
  for (;;) {
    const label = makeLabel(new Date(t), kind);
    if (!existing.has(label)) return { label, waitMs: t - now.getTime() };
    t = Math.floor(t / 1000) * 1000 + 1000;
  }
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
}

export function buildPostgresManifest(f: PostgresBackupFacts): Manifest {
  const seg = f.start.walSegmentSize;
  return {
    format: MANIFEST_FORMAT,
    label: f.label,
    source: f.source,
    engine: 'postgres',
    type: 'full',
    parent: null,
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
    bytes: {
      database: f.files.reduce((n, file) => n + (file.type === 'file' ? file.size : 0), 0),
      read: f.stats.read,
      new: f.stats.new,
      stored: f.stats.stored,
    },
    files: f.files,
  };
}
