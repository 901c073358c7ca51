// Pure decisions of a restore: what the target is, which backup reaches it, whether the archive
// covers it, and the restorable window. No I/O here: unit-tested directly.

import { dbtoolError } from '../../core/errors.js';
import { formatLsn, parseHistoryFile, parseLsn, segmentEndLsn, segnoOfLsn } from '../../core/lsn.js';
import type { HistoryEntry, Lsn } from '../../core/lsn.js';
import { parseZonedTime } from '../../core/time.js';
import type { ParsedTime } from '../../core/time.js';

export type RestoreTarget =
  | { kind: 'latest' }
  | { kind: 'immediate' }
  | { kind: 'time'; time: ParsedTime; text: string }
  | { kind: 'lsn'; lsn: Lsn; text: string }
  | { kind: 'xid'; xid: bigint; text: string }
  | { kind: 'name'; name: string };

export interface TargetFlags {
  toTime?: string;
  toLsn?: string;
  toXid?: string;
  toName?: string;
  immediate?: boolean;
}

export function parseTarget(f: TargetFlags): RestoreTarget {
  const given = [f.toTime !== undefined && '--to-time', f.toLsn !== undefined && '--to-lsn', f.toXid !== undefined && '--to-xid', f.toName !== undefined && '--to-name', f.immediate && '--immediate'].filter(Boolean);
  if (given.length > 1) throw dbtoolError('TARGET_INVALID', `${given.join(' and ')} were both given`, 'Choose one recovery target');
  if (f.toTime !== undefined) return { kind: 'time', time: parseZonedTime(f.toTime), text: f.toTime };
  if (f.toLsn !== undefined) return { kind: 'lsn', lsn: parseLsn(f.toLsn), text: f.toLsn };
  if (f.toXid !== undefined) {
    if (!/^\d{1,20}$/.test(f.toXid.trim()) || BigInt(f.toXid.trim()) < 3n) {
      throw dbtoolError('TARGET_INVALID', `'${f.toXid}' is not a transaction id`, 'Give a normal xid, e.g. from pg_current_xact_id()');
    }
    return { kind: 'xid', xid: BigInt(f.toXid.trim()), text: f.toXid.trim() };
  }
  if (f.toName !== undefined) {
    if (f.toName.length === 0 || Buffer.byteLength(f.toName) > 63) {
      throw dbtoolError('TARGET_INVALID', `restore point name '${f.toName}' is empty or longer than 63 bytes`, 'Give the name passed to pg_create_restore_point()');
    }
    return { kind: 'name', name: f.toName };
  }
  if (f.immediate) return { kind: 'immediate' };
  return { kind: 'latest' };
}

export function describeTarget(t: RestoreTarget): string {
  switch (t.kind) {
    case 'latest':
      return 'the end of the archive';
    case 'immediate':
      return 'the end of the backup (consistency)';
    case 'time':
      return `time ${t.time.date.toISOString()}`;
    case 'lsn':
      return `LSN ${formatLsn(t.lsn)}`;
    case 'xid':
      return `xid ${t.xid}`;
    case 'name':
      return `restore point '${t.name}'`;
  }
}

/** What the planner needs to know of a backup. */
export interface BackupPoint {
  label: string;
  stopTime: Date;
  stopLsn: Lsn;
  timeline: number;
  /** segment number of the last WAL segment the backup itself contains */
  stopSegno: bigint;
  stopNextXid?: bigint;
}

/** What the planner needs to know of the archive: segments per timeline, and history files. */
export interface ArchivePoint {
  timeline: number;
  segno: bigint;
  mtime: Date;
}

export interface ArchiveView {
  segments: ArchivePoint[];
  /** timeline → its parsed history file */
  histories: Map<number, HistoryEntry[]>;
  walSegmentSize: number;
}

export interface WindowEnd {
  lsn: Lsn;
  time: Date;
  timeline: number;
}

export interface Window {
  from: WindowEnd;
  to: WindowEnd;
  /** first missing segment after `to`, when the archive has a hole before newer segments */
  gapAfter?: { timeline: number; segno: bigint };
}

/** The timelines recovery follows from `timeline` to the newest one descending from it. */
function timelinePath(view: ArchiveView, timeline: number): Array<{ timeline: number; end: Lsn | undefined }> {
  let best = timeline;
  for (const [tli, hist] of view.histories) {
    if (tli > best && hist.some((h) => h.parentTimeline === timeline)) best = tli;
  }
  if (best === timeline) return [{ timeline, end: undefined }];
  const hist = view.histories.get(best) ?? [];
  const path: Array<{ timeline: number; end: Lsn | undefined }> = hist.map((h) => ({ timeline: h.parentTimeline, end: h.switchLsn }));
  path.push({ timeline: best, end: undefined });
  // Only the part of the path from the backup's timeline on matters.
  const from = path.findIndex((p) => p.timeline === timeline);
  return from >= 0 ? path.slice(from) : [{ timeline, end: undefined }];
}

/**
 * How far recovery from a backup can go: follow archived segments contiguously from the one after
 * the backup's own WAL, along the timeline path. Returns the end point and the first gap.
 */
export function reachFrom(backup: BackupPoint, view: ArchiveView): { to: WindowEnd; gapAfter?: { timeline: number; segno: bigint } } {
  const seg = view.walSegmentSize;
  const path = timelinePath(view, backup.timeline);
  const index = new Map<string, ArchivePoint>();
  let maxSegno = -1n;
  for (const s of view.segments) {
    index.set(`${s.timeline}:${s.segno}`, s);
    if (s.segno > maxSegno) maxSegno = s.segno;
  }
  let to: WindowEnd = { lsn: backup.stopLsn, time: backup.stopTime, timeline: backup.timeline };
  let segno = backup.stopSegno + 1n;
  for (;;) {
    // The timeline that holds WAL at this segment's start; the segment holding a switch point is
    // read from the newer timeline.
    let found: ArchivePoint | undefined;
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i]!;
      const prevEnd = i > 0 ? path[i - 1]!.end : undefined;
      const startsBefore = prevEnd === undefined || segnoOfLsn(prevEnd, seg) <= segno;
      if (!startsBefore) continue;
      found = index.get(`${p.timeline}:${segno}`);
      if (found) break;
    }
    if (!found) {
      const gap = segno <= maxSegno ? { timeline: path[path.length - 1]!.timeline, segno } : undefined;
      return gap ? { to, gapAfter: gap } : { to };
    }
    to = { lsn: segmentEndLsn(segno, seg), time: found.mtime > to.time ? found.mtime : to.time, timeline: found.timeline };
    segno++;
  }
}

/** Earliest and latest points any backup plus the archive can reach (undefined: no backups). */
export function restorableWindow(backups: BackupPoint[], view: ArchiveView): Window | undefined {
  if (backups.length === 0) return undefined;
  const first = backups[0]!;
  let best: { to: WindowEnd; gapAfter?: { timeline: number; segno: bigint } } | undefined;
  for (const b of backups) {
    const r = reachFrom(b, view);
    if (!best || r.to.lsn > best.to.lsn || (r.to.lsn === best.to.lsn && r.to.time > best.to.time)) best = r;
  }
  return { from: { lsn: first.stopLsn, time: first.stopTime, timeline: first.timeline }, to: best!.to, gapAfter: best!.gapAfter };
}

export interface RestorePlan {
  backup: BackupPoint;
  target: RestoreTarget;
  /** the latest point the chosen backup can reach with the archive */
  reach: WindowEnd;
}

const fmt = (d: Date) => d.toISOString();

/**
 * Choose the backup for a target (the newest whose end is before it), or check the one the user
 * named, and refuse targets the repository cannot reach, before anything is written.
 * `namedLsn`: where the restore point of a name target was found in the archive.
 */
export function planRestore(backups: BackupPoint[], view: ArchiveView, target: RestoreTarget, label?: string, namedLsn?: Lsn): RestorePlan {
  if (backups.length === 0) throw dbtoolError('NO_BACKUP', 'the repository has no backup of this source yet', 'Take one with `dbtool backup --type full`');
  let candidates = backups;
  if (label) {
    const b = backups.find((x) => x.label === label);
    if (!b) throw dbtoolError('BACKUP_NOT_FOUND', `there is no backup labelled ${label}`, 'List backups with `dbtool info`');
    candidates = [b];
  }
  const earliest = candidates[0]!;
  let chosen: BackupPoint | undefined;
  switch (target.kind) {
    case 'latest':
    case 'immediate':
      chosen = candidates[candidates.length - 1];
      break;
    case 'time': {
      const t = target.time.date.getTime();
      chosen = [...candidates].reverse().find((b) => b.stopTime.getTime() < t);
      if (!chosen) {
        throw dbtoolError('TARGET_OUT_OF_RANGE', `time ${fmt(target.time.date)} is before the end of the ${label ? 'chosen' : 'earliest'} backup (${fmt(earliest.stopTime)})`, label ? 'Choose an older backup or a later time' : `The earliest restorable time is ${fmt(earliest.stopTime)}`);
      }
      break;
    }
    case 'lsn':
      chosen = [...candidates].reverse().find((b) => b.stopLsn <= target.lsn);
      if (!chosen) {
        throw dbtoolError('TARGET_OUT_OF_RANGE', `LSN ${formatLsn(target.lsn)} is before the end of the ${label ? 'chosen' : 'earliest'} backup (${formatLsn(earliest.stopLsn)})`, `The earliest restorable LSN is ${formatLsn(earliest.stopLsn)}`);
      }
      break;
    case 'xid': {
      const known = candidates.filter((b) => b.stopNextXid !== undefined);
      chosen = [...known].reverse().find((b) => b.stopNextXid! <= target.xid);
      if (!chosen) {
        if (known.length > 0 && known.length === candidates.length) {
          throw dbtoolError('TARGET_OUT_OF_RANGE', `xid ${target.xid} was assigned before the ${label ? 'chosen' : 'earliest'} backup ended (its first later xid is ${known[0]!.stopNextXid})`, 'Choose an older backup with --backup, or another target');
        }
        chosen = candidates[0];
      }
      break;
    }
    case 'name': {
      if (namedLsn === undefined) {
        throw dbtoolError('TARGET_OUT_OF_RANGE', `no restore point named '${target.name}' is in the archived WAL after the ${label ? 'chosen' : 'earliest'} backup`, 'Check the name (pg_create_restore_point) and that its WAL segment was archived (SELECT pg_switch_wal())');
      }
      chosen = [...candidates].reverse().find((b) => b.stopLsn <= namedLsn);
      if (!chosen) {
        throw dbtoolError('TARGET_OUT_OF_RANGE', `restore point '${target.name}' (at ${formatLsn(namedLsn)}) is before the end of the ${label ? 'chosen' : 'earliest'} backup`, 'Choose an older backup or another target');
      }
      break;
    }
  }
  const backup = chosen!;
  const { to, gapAfter } = reachFrom(backup, view);
  const gapNote = gapAfter ? ` (segment ${gapAfter.segno.toString(16).toUpperCase()} on timeline ${gapAfter.timeline} is missing from the archive)` : '';
  if (target.kind === 'time' && target.time.date.getTime() > to.time.getTime()) {
    throw dbtoolError('TARGET_OUT_OF_RANGE', `time ${fmt(target.time.date)} is after the latest archived WAL (${fmt(to.time)})${gapNote}`, `The latest restorable time is ${fmt(to.time)}; wait for the next WAL segment to be archived or use an earlier target`);
  }
  if (target.kind === 'lsn' && target.lsn > to.lsn) {
    throw dbtoolError('TARGET_OUT_OF_RANGE', `LSN ${formatLsn(target.lsn)} is after the latest archived WAL (${formatLsn(to.lsn)})${gapNote}`, `The latest restorable LSN is ${formatLsn(to.lsn)}`);
  }
  if (target.kind === 'name' && namedLsn !== undefined && namedLsn > to.lsn) {
    throw dbtoolError('TARGET_OUT_OF_RANGE', `restore point '${target.name}' lies beyond a gap in the archive${gapNote}`, 'The WAL between the backup and the restore point is incomplete');
  }
  return { backup, target, reach: to };
}

/** Histories from archived .history file contents. */
export function parseHistories(files: Array<{ timeline: number; text: string }>): Map<number, HistoryEntry[]> {
  return new Map(files.map((f) => [f.timeline, parseHistoryFile(f.text)]));
}

/** What the logical-restore planner needs to know of a backup. */
export interface LogicalCandidate {
  label: string;
  type: 'full' | 'diff' | 'incr' | 'logical';
  /** the databases a logical backup holds */
  databases?: string[];
}

export interface LogicalRestorePlan {
  label: string;
  fromDatabase: string;
}

/**
 * Which logical backup (the named one, else the newest) and which of its databases to load into
 * `intoDatabase`: `fromDatabase` when given, else the only one, else the one of the same name.
 */
export function planLogicalRestore(backups: LogicalCandidate[], intoDatabase: string, label?: string, fromDatabase?: string): LogicalRestorePlan {
  let chosen: LogicalCandidate | undefined;
  if (label) {
    chosen = backups.find((b) => b.label === label);
    if (!chosen) throw dbtoolError('BACKUP_NOT_FOUND', `there is no backup labelled ${label}`, 'List backups with `dbtool info`');
    if (chosen.type !== 'logical') {
      throw dbtoolError('USAGE', `backup ${label} is a physical (${chosen.type}) backup, which --into-database cannot load`, 'Restore it with --target-dir DIR, or choose a logical backup (label ending in -L)');
    }
  } else {
    chosen = [...backups].reverse().find((b) => b.type === 'logical');
    if (!chosen) throw dbtoolError('NO_BACKUP', 'the repository has no logical backup of this source', 'Take one with `dbtool backup --type logical`');
  }
  const dbs = chosen.databases ?? [];
  if (fromDatabase !== undefined) {
    if (!dbs.includes(fromDatabase)) throw dbtoolError('DATABASE_NOT_FOUND', `logical backup ${chosen.label} holds no database '${fromDatabase}'`, `It holds: ${dbs.join(', ') || '(none)'}`);
    return { label: chosen.label, fromDatabase };
  }
  if (dbs.length === 1) return { label: chosen.label, fromDatabase: dbs[0]! };
  if (dbs.includes(intoDatabase)) return { label: chosen.label, fromDatabase: intoDatabase };
  throw dbtoolError('USAGE', `logical backup ${chosen.label} holds ${dbs.length} databases and none is named '${intoDatabase}'`, `Say which one to load with --from-database (one of: ${dbs.join(', ')})`);
}

/** The flags that decide between a physical restore (into a directory) and a logical one (into a database). */
export interface RestoreModeFlags extends TargetFlags {
  targetDir?: string;
  intoDatabase?: string;
  fromDatabase?: string;
  clean?: boolean;
  jobs?: number;
  /** false with --no-owner */
  owner?: boolean;
  /** physical-only flags that were given, by their names (e.g. '--start') */
  physicalOnly?: string[];
}

/** 'logical' with --into-database, 'physical' with --target-dir; mixing the two is a usage error. */
export function restoreMode(f: RestoreModeFlags): 'physical' | 'logical' {
  const targets = [f.toTime !== undefined && '--to-time', f.toLsn !== undefined && '--to-lsn', f.toXid !== undefined && '--to-xid', f.toName !== undefined && '--to-name', f.immediate && '--immediate'].filter((x): x is string => !!x);
  if (f.intoDatabase !== undefined) {
    const wrong = [...(f.targetDir !== undefined ? ['--target-dir'] : []), ...targets, ...(f.physicalOnly ?? [])];
    if (wrong.length) {
      throw dbtoolError('USAGE', `${wrong.join(', ')} cannot be used with --into-database: a logical backup loads into a running server as it was at the dump`, 'Drop those flags, or restore a physical backup with --target-dir instead');
    }
    if (f.intoDatabase.length === 0 || Buffer.byteLength(f.intoDatabase) > 63) throw dbtoolError('USAGE', `--into-database '${f.intoDatabase}' is empty or longer than 63 bytes`, 'Give a database name');
    return 'logical';
  }
  const logicalOnly = [f.fromDatabase !== undefined && '--from-database', f.clean && '--clean', f.jobs !== undefined && '--jobs', f.owner === false && '--no-owner'].filter((x): x is string => !!x);
  if (logicalOnly.length) throw dbtoolError('USAGE', `${logicalOnly.join(', ')} need(s) --into-database`, 'Add --into-database NAME to load a logical backup into a database');
  if (f.targetDir === undefined) throw dbtoolError('USAGE', 'restore needs --target-dir DIR (physical backup) or --into-database NAME (logical backup)', 'See dbtool restore --help');
  return 'physical';
}
