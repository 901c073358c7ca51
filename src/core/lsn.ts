// PostgreSQL log positions and WAL file names: parsing, formatting, ordering, segment maths.

import { dbtoolError } from './errors.js';

/** A PostgreSQL LSN as a 64-bit unsigned integer. */
export type Lsn = bigint & { readonly __brand: 'Lsn' };

export const DEFAULT_WAL_SEGMENT_SIZE = 16 * 1024 * 1024;

const LSN_RE = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function isLsnText(text: string): boolean {
  return LSN_RE.test(text);
}

export function parseLsn(text: string): Lsn {
  const m = LSN_RE.exec(text.trim());
  if (!m) {
    throw dbtoolError('TARGET_INVALID', `'${text}' is not a PostgreSQL LSN`, 'Write an LSN as two hex numbers, e.g. 0/3000028');
  }
  return ((BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`)) as Lsn;
}

export function formatLsn(lsn: Lsn | bigint): string {
  const hi = (lsn >> 32n) & 0xffffffffn;
  const lo = lsn & 0xffffffffn;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

export function asLsn(value: bigint): Lsn {
  return value as Lsn;
}

/** A WAL file name understood by dbtool: a segment, a history file, a backup label or a partial. */
export type WalFileKind = 'segment' | 'history' | 'backup' | 'partial';

export interface WalFileName {
  name: string;
  kind: WalFileKind;
  timeline: number;
  /** segment number (log * segmentsPerLog + seg), for segment/backup/partial */
  segno?: bigint;
}

const SEGMENT_RE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const HISTORY_RE = /^([0-9A-F]{8})\.history$/;
const BACKUP_RE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.[0-9A-F]{8}\.backup$/;
const PARTIAL_RE = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$/;

export function segmentsPerLogId(segmentSize: number): bigint {
  return 0x100000000n / BigInt(segmentSize);
}

/** Parse a WAL file name; throws WAL_INVALID for anything else. */
export function parseWalFileName(name: string, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): WalFileName {
  const per = segmentsPerLogId(segmentSize);
  let m = SEGMENT_RE.exec(name);
  if (m) return { name, kind: 'segment', timeline: parseInt(m[1]!, 16), segno: BigInt(`0x${m[2]}`) * per + BigInt(`0x${m[3]}`) };
  m = HISTORY_RE.exec(name);
  if (m) return { name, kind: 'history', timeline: parseInt(m[1]!, 16) };
  m = BACKUP_RE.exec(name);
  if (m) return { name, kind: 'backup', timeline: parseInt(m[1]!, 16), segno: BigInt(`0x${m[2]}`) * per + BigInt(`0x${m[3]}`) };
  m = PARTIAL_RE.exec(name);
  if (m) return { name, kind: 'partial', timeline: parseInt(m[1]!, 16), segno: BigInt(`0x${m[2]}`) * per + BigInt(`0x${m[3]}`) };
  throw dbtoolError('WAL_INVALID', `'${name}' is not a WAL segment, history, backup or partial file name`, 'Pass the %p (or %f) that PostgreSQL gives to archive_command/restore_command');
}

export function hex8(n: number | bigint): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

export function timelineDir(timeline: number): string {
  return hex8(timeline);
}

export function segmentName(timeline: number, segno: bigint, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): string {
  const per = segmentsPerLogId(segmentSize);
  return `${hex8(timeline)}${hex8(segno / per)}${hex8(segno % per)}`;
}

export function segnoOfLsn(lsn: bigint, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): bigint {
  return lsn / BigInt(segmentSize);
}

/** The first LSN after the end of a segment. */
export function segmentEndLsn(segno: bigint, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): Lsn {
  return ((segno + 1n) * BigInt(segmentSize)) as Lsn;
}

export function segmentStartLsn(segno: bigint, segmentSize = DEFAULT_WAL_SEGMENT_SIZE): Lsn {
  return (segno * BigInt(segmentSize)) as Lsn;
}

/**
 * Identity fields of a WAL segment, read from its first page's long header (XLogLongPageHeaderData):
 * xlp_magic u16 @0, xlp_info u16 @2, xlp_tli u32 @4, xlp_pageaddr u64 @8, xlp_rem_len u32 @16,
 * (pad), xlp_sysid u64 @24, xlp_seg_size u32 @32, xlp_xlog_blcksz u32 @36. Little-endian on x86/arm.
 */
export interface WalSegmentHeader {
  magic: number;
  timeline: number;
  pageAddr: bigint;
  systemId: string;
  segmentSize: number;
  blockSize: number;
}

const XLP_LONG_HEADER = 0x0002;

export function readWalSegmentHeader(data: Buffer): WalSegmentHeader | undefined {
  if (data.length < 40) return undefined;
  const info = data.readUInt16LE(2);
  if ((info & XLP_LONG_HEADER) === 0) return undefined;
  return {
    magic: data.readUInt16LE(0),
    timeline: data.readUInt32LE(4),
    pageAddr: data.readBigUInt64LE(8),
    systemId: data.readBigUInt64LE(24).toString(),
    segmentSize: data.readUInt32LE(32),
    blockSize: data.readUInt32LE(36),
  };
}

/** One line of a timeline history file: `parentTLI switchpoint reason`. */
export interface HistoryEntry {
  parentTimeline: number;
  switchLsn: Lsn;
  reason: string;
}

export function parseHistoryFile(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [tli, lsn, ...reason] = line.split(/\s+/);
    if (!tli || !lsn || !/^\d+$/.test(tli) || !isLsnText(lsn)) continue;
    out.push({ parentTimeline: Number(tli), switchLsn: parseLsn(lsn), reason: reason.join(' ') });
  }
  return out;
}
