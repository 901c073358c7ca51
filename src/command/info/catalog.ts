// What the planners see of one source: its manifests as backup points, its archive as segments
// per timeline with their histories, and the restorable window. Read-only.

import { DEFAULT_WAL_SEGMENT_SIZE, parseLsn, parseWalFileName } from '../../core/lsn.js';
import { getArchiveFile, listArchive } from '../../repo/archive.js';
import type { ArchivedFile } from '../../repo/archive.js';
import { loadManifests } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { parseHistories, restorableWindow } from '../restore/plan.js';
import type { ArchiveView, BackupPoint, Window } from '../restore/plan.js';

export interface Catalog {
  manifests: Manifest[];
  points: BackupPoint[];
  archive: ArchivedFile[];
  view: ArchiveView;
  window: Window | undefined;
}

export function backupPoint(m: Manifest): BackupPoint | undefined {
  const pg = m.postgres;
  if (!pg) return undefined;
  return {
    label: m.label,
    stopTime: new Date(m.stopTime),
    stopLsn: parseLsn(pg.stopLsn),
    timeline: pg.stopTimeline,
    stopSegno: parseWalFileName(pg.stopWal, pg.walSegmentSize).segno!,
    stopNextXid: pg.stopNextXid !== undefined ? BigInt(pg.stopNextXid) : undefined,
  };
}

export async function loadCatalog(repo: Repository, source: string): Promise<Catalog> {
  const [manifests, archive] = await Promise.all([loadManifests(repo, source), listArchive(repo, source)]);
  const points = manifests.map(backupPoint).filter((p): p is BackupPoint => p !== undefined);
  const walSegmentSize = manifests.find((m) => m.postgres)?.postgres?.walSegmentSize ?? DEFAULT_WAL_SEGMENT_SIZE;
  const historyFiles = await Promise.all(
    archive.filter((f) => f.kind === 'history').map(async (f) => ({ timeline: f.timeline, text: ((await getArchiveFile(repo, source, f.name)) ?? Buffer.alloc(0)).toString('utf8') })),
  );
  const view: ArchiveView = {
    segments: archive.filter((f) => f.kind === 'segment' && f.segno !== undefined).map((f) => ({ timeline: f.timeline, segno: f.segno!, mtime: f.mtime })),
    histories: parseHistories(historyFiles),
    walSegmentSize,
  };
  return { manifests, points, archive, view, window: restorableWindow(points, view) };
}
