// Pure decisions of a MySQL/MariaDB restore: which backup and its chain (full → increments), the
// PITR plan (backup before the target, archived binlogs reaching it), the window, the binlog range.

import { dbtoolError } from '../../core/errors.js';
import type { Manifest } from '../../repo/manifest.js';

/** The backup to restore: the named one, or the newest. */
export function chooseMysqlBackup(manifests: Manifest[], label: string | undefined, source: string): Manifest {
  const mine = manifests.filter((m) => m.mysql);
  if (label !== undefined) {
    const m = mine.find((x) => x.label === label);
    if (!m) throw dbtoolError('BACKUP_NOT_FOUND', `no MySQL backup ${label} of source '${source}'`, 'List backups with `dbtool info`');
    return m;
  }
  const newest = mine[mine.length - 1];
  if (!newest) throw dbtoolError('NO_BACKUP', `source '${source}' has no MySQL backup to restore`, 'Take one with `dbtool backup`');
  return newest;
}

/** The full backup and each increment up to `m`, in the order they are applied. */
export function chainOf(m: Manifest, manifests: Manifest[]): Manifest[] {
  const byLabel = new Map(manifests.map((x) => [x.label, x]));
  const chain: Manifest[] = [m];
  let cur = m;
  while (cur.parent !== null) {
    const parent = byLabel.get(cur.parent);
    if (!parent) {
      throw dbtoolError('BACKUP_NOT_FOUND', `backup ${cur.label} is based on ${cur.parent}, which is not in the repository`, 'Restore another backup (`dbtool info` lists the chains)');
    }
    if (chain.includes(parent)) throw dbtoolError('MANIFEST_INVALID', `the chain of backup ${m.label} loops at ${parent.label}`, 'Run `dbtool verify`');
    chain.unshift(parent);
    cur = parent;
  }
  if (cur.type !== 'full') throw dbtoolError('MANIFEST_INVALID', `the chain of backup ${m.label} starts with ${cur.label}, a ${cur.type} backup`, 'Run `dbtool verify`');
  return chain;
}

/** A point in the binlog stream: a file (by its sequence number) and a byte position in it. */
export interface BinlogPoint {
  file: string;
  seq: number;
  position: number;
}

/** A MariaDB GTID position: per replication domain, the sequence number reached. */
export type GtidState = Map<number, bigint>;

export type MysqlTarget =
  | { kind: 'none' }
  | { kind: 'time'; time: Date; text: string }
  | { kind: 'position'; point: BinlogPoint; text: string }
  | { kind: 'gtid'; gtids: GtidState; text: string };

/** 'domain-server-seq[,…]' (MariaDB), one per domain; '' is the empty state. */
export function parseGtidList(text: string, what = 'GTID'): GtidState {
  const out: GtidState = new Map();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (!m) throw dbtoolError('TARGET_INVALID', `'${text}' is not a ${what} (domain-server-sequence)`, 'Write e.g. 0-1-42 (SELECT @@gtid_binlog_pos shows the current one); MySQL UUID GTIDs are not supported');
    if (out.has(Number(m[1]))) throw dbtoolError('TARGET_INVALID', `'${text}' names domain ${m[1]} twice`, 'Give one GTID per replication domain');
    out.set(Number(m[1]), BigInt(m[3]!));
  }
  return out;
}

/** Every domain of `target` is reached by `state` (at or past its sequence number). */
function gtidReached(state: GtidState, target: GtidState): boolean {
  for (const [d, seq] of target) if ((state.get(d) ?? 0n) < seq) return false;
  return true;
}

/** `state` is at or before `target` in every domain of the target. */
function gtidNotPast(state: GtidState, target: GtidState): boolean {
  for (const [d, seq] of target) if ((state.get(d) ?? 0n) > seq) return false;
  return true;
}

/** What the planner needs of an archived binlog. */
export interface BinlogView {
  name: string;
  seq: number;
  size: number;
  lastTime: Date;
  /** MariaDB: last GTID per domain in the file ('d-s-n,…') */
  lastGtids?: string;
}

export interface MysqlPitrPlan {
  backup: Manifest;
  /** archived files to replay, in order; the first from `startPosition` */
  files: BinlogView[];
  startPosition: number;
  /** replay stops before this (time) or at this position of the last file */
  stop: { kind: 'time'; time: Date } | { kind: 'position'; position: number } | { kind: 'gtid'; gtid: string };
}

function seqOf(name: string): number {
  const m = /\.(\d+)$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** `FILE:POS` of --to-position. */
export function parseBinlogPosition(text: string): BinlogPoint {
  const m = /^([A-Za-z0-9_.-]+\.(\d+)):(\d+)$/.exec(text.trim());
  if (!m) throw dbtoolError('TARGET_INVALID', `'${text}' is not a binlog position`, 'Write FILE:POS, e.g. binlog.000042:1234 (SHOW MASTER STATUS shows the current one)');
  return { file: m[1]!, seq: Number(m[2]), position: Number(m[3]) };
}

function pointOf(m: Manifest): BinlogPoint | undefined {
  const b = m.mysql?.binlog;
  return b ? { file: b.file, seq: seqOf(b.file), position: b.position } : undefined;
}

function before(a: BinlogPoint, b: BinlogPoint): boolean {
  return a.seq < b.seq || (a.seq === b.seq && a.position <= b.position);
}

/**
 * Point-in-time recovery: the newest backup at or before the target, and the archived binlogs
 * from its coordinates up to the target, all present and contiguous. Decided before anything is written.
 */
export function planMysqlPitr(manifests: Manifest[], binlogs: BinlogView[], target: Exclude<MysqlTarget, { kind: 'none' }>, label: string | undefined, source: string): MysqlPitrPlan {
  const mine = manifests.filter((m) => m.mysql);
  if (mine.length === 0) throw dbtoolError('NO_BACKUP', `source '${source}' has no MySQL backup to restore`, 'Take one with `dbtool backup`');
  const candidates = label !== undefined ? [chooseMysqlBackup(mine, label, source)] : mine;
  const reaches = (m: Manifest): boolean => {
    if (target.kind === 'time') return new Date(m.stopTime).getTime() <= target.time.getTime();
    if (target.kind === 'gtid') return m.mysql?.binlog?.gtid !== undefined && gtidNotPast(parseGtidList(m.mysql.binlog.gtid), target.gtids);
    const p = pointOf(m);
    return p !== undefined && before(p, target.point);
  };
  const backup = [...candidates].reverse().find(reaches);
  if (!backup) {
    const first = candidates[0]!;
    const b = first.mysql?.binlog;
    const where = target.kind === 'time' ? `ended at ${first.stopTime}` : target.kind === 'gtid' ? `is at GTID ${b?.gtid ?? '(none)'}` : `is at binlog ${b ? `${b.file}:${b.position}` : '(none)'}`;
    throw dbtoolError('TARGET_OUT_OF_RANGE', `the target ${target.text} is before ${label !== undefined ? `backup ${first.label}, which` : `the earliest backup ${first.label}, which`} ${where}`, 'Choose a later target (`dbtool info` shows the restorable window)');
  }
  const start = pointOf(backup);
  if (!start) {
    throw dbtoolError('TARGET_OUT_OF_RANGE', `backup ${backup.label} has no binlog coordinates (the server ran without log-bin), so no binlog can be replayed after it`, 'Enable log-bin on the server, take a new full backup, and archive binlogs with `dbtool binlog-archive`');
  }
  const from = binlogs.filter((b) => b.seq >= start.seq).sort((a, b) => a.seq - b.seq);
  // Contiguous from the backup's file on.
  const files: BinlogView[] = [];
  for (const b of from) {
    if (b.seq !== start.seq + files.length) break;
    files.push(b);
  }
  if (files.length === 0) {
    throw dbtoolError('TARGET_OUT_OF_RANGE', `the binlog ${start.file} that backup ${backup.label} continues from is not archived`, 'Run `dbtool binlog-archive --once`, or restore without a target');
  }
  const last = files[files.length - 1]!;
  // A hole in the archive ends what can be replayed: say so, it is not the newest file's fault.
  const gap = from.length > files.length ? ` (the archive has a gap: the binlog after ${last.name} is missing)` : '';
  if (target.kind === 'time') {
    const end = files.findIndex((b) => b.lastTime.getTime() >= target.time.getTime());
    if (end < 0) {
      throw dbtoolError('TARGET_OUT_OF_RANGE', `the target ${target.text} is after the archived binlogs, which end at ${last.lastTime.toISOString()} (${last.name})${gap}`, 'Run `dbtool binlog-archive --once` first, or choose an earlier target');
    }
    return { backup, files: files.slice(0, end + 1), startPosition: start.position, stop: { kind: 'time', time: target.time } };
  }
  if (target.kind === 'gtid') {
    // The archive reaches the target once the files so far hold its sequence number in every domain.
    const seen: GtidState = new Map();
    const end = files.findIndex((b) => {
      for (const [d, seq] of parseGtidList(b.lastGtids ?? '')) if (seq > (seen.get(d) ?? 0n)) seen.set(d, seq);
      return gtidReached(seen, target.gtids);
    });
    if (end < 0) {
      throw dbtoolError('TARGET_OUT_OF_RANGE', `the target GTID ${target.text} is after the archived binlogs, which end at ${last.name}${last.lastGtids ? ` (GTID ${last.lastGtids})` : ''}${gap}`, 'Run `dbtool binlog-archive --once` first, or choose an earlier target');
    }
    return { backup, files: files.slice(0, end + 1), startPosition: start.position, stop: { kind: 'gtid', gtid: target.text } };
  }
  const end = files.findIndex((b) => b.seq === target.point.seq);
  if (end < 0 || target.point.position > files[end]!.size) {
    throw dbtoolError('TARGET_OUT_OF_RANGE', `the target ${target.text} is after the archived binlogs, which end at ${last.name}:${last.size}${gap}`, 'Run `dbtool binlog-archive --once` first, or choose an earlier target');
  }
  return { backup, files: files.slice(0, end + 1), startPosition: start.position, stop: { kind: 'position', position: target.point.position } };
}

export interface BinlogArchiveSummary {
  from: string;
  to: string;
  files: number;
  /** missing file numbers between from and to, as 'name' ranges */
  gaps: string[];
  firstTime: string;
  lastTime: string;
}

/** The archived binlog range of a MySQL source, with its gaps. */
export function summariseBinlogs(binlogs: Array<BinlogView & { firstTime: Date }>): BinlogArchiveSummary | undefined {
  if (binlogs.length === 0) return undefined;
  const sorted = [...binlogs].sort((a, b) => a.seq - b.seq);
  const gaps: string[] = [];
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.seq > sorted[i - 1]!.seq + 1) gaps.push(`after ${sorted[i - 1]!.name}, before ${sorted[i]!.name}`);
  }
  const first = sorted[0]!;
  const last = sorted[sorted.length - 1]!;
  return { from: first.name, to: last.name, files: sorted.length, gaps, firstTime: first.firstTime.toISOString(), lastTime: last.lastTime.toISOString() };
}

/**
 * The times a MySQL source can be restored to: from its earliest backup with binlog coordinates
 * to the end of the archived binlogs contiguous from there (or the newest backup, if later).
 */
export function mysqlRestorableWindow(manifests: Manifest[], binlogs: BinlogView[]): { from: string; to: string } | undefined {
  const mine = manifests.filter((m) => m.mysql);
  if (mine.length === 0) return undefined;
  const newestStop = mine[mine.length - 1]!.stopTime;
  const anchored = mine.find((m) => m.mysql?.binlog);
  if (!anchored) return { from: mine[0]!.stopTime, to: newestStop };
  const start = pointOf(anchored)!;
  let end: Date | undefined;
  const sorted = binlogs.filter((b) => b.seq >= start.seq).sort((a, b) => a.seq - b.seq);
  for (const [i, b] of sorted.entries()) {
    if (b.seq !== start.seq + i) break;
    end = b.lastTime;
  }
  const to = end && end.toISOString() > newestStop ? end.toISOString() : newestStop;
  return { from: mine[0]!.stopTime, to };
}
