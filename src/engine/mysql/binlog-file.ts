// Facts read from a binlog file's bytes: its event times, last GTIDs and where it ends. Layout (v4): magic
// 0xfe 'bin', then events, each with a 19-byte header: timestamp (4, LE seconds), type (1),
// server id (4), event size (4, header and checksum included), next position (4), flags (2).

import { dbtoolError } from '../../core/errors.js';

const MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const HEADER = 19;

export interface BinlogFileFacts {
  /** time of the first event (the format description: when the file was opened) */
  firstTime: Date;
  /** time of the last event */
  lastTime: Date;
  /** bytes of whole events (a position just past the last one) */
  endPosition: number;
  events: number;
  /** MariaDB: the last GTID of each replication domain in the file, 'domain-server-seq' comma-separated ('' if none) */
  lastGtids: string;
}

/** MariaDB's GTID_EVENT: after the header, seq_no (8, LE) and domain_id (4, LE). */
const MARIADB_GTID_EVENT = 162;

export function binlogFileFacts(buf: Buffer, name: string): BinlogFileFacts {
  if (buf.length < MAGIC.length || !buf.subarray(0, 4).equals(MAGIC)) {
    throw dbtoolError('WAL_INVALID', `${name} is not a binlog file (no 0xfe 'bin' magic)`, 'Check the server streams binlogs in format v4');
  }
  let pos = 4;
  let first = 0;
  let last = 0;
  let events = 0;
  const gtids = new Map<number, { server: number; seq: bigint }>();
  while (pos + HEADER <= buf.length) {
    const ts = buf.readUInt32LE(pos);
    const size = buf.readUInt32LE(pos + 9);
    if (size < HEADER || pos + size > buf.length) break;
    if (events === 0) first = ts;
    // Artificial events carry a zero time: they say nothing about when data changed.
    if (ts > 0) last = ts;
    if (buf[pos + 4] === MARIADB_GTID_EVENT && size >= HEADER + 12) {
      const seq = buf.readBigUInt64LE(pos + HEADER);
      const domain = buf.readUInt32LE(pos + HEADER + 8);
      gtids.set(domain, { server: buf.readUInt32LE(pos + 5), seq });
    }
    events++;
    pos += size;
  }
  if (events === 0) throw dbtoolError('WAL_INVALID', `${name} holds no complete binlog event`, 'Check the file');
  const lastGtids = [...gtids].sort((a, b) => a[0] - b[0]).map(([d, g]) => `${d}-${g.server}-${g.seq}`).join(',');
  return { firstTime: new Date(first * 1000), lastTime: new Date(last * 1000), endPosition: pos, events, lastGtids };
}
