// Facts read from a binlog file's bytes as they stream by: its event times, last GTIDs and where it
// ends. Layout (v4): magic 0xfe 'bin', then events, each with a 19-byte header: timestamp (4, LE
// seconds), type (1), server id (4), event size (4, header and checksum included), next position
// (4), flags (2). Only headers are read, so a file of any size passes through in bounded memory.

import { dbtoolError } from '../../core/errors.js';

const MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const HEADER = 19;
/** MariaDB's GTID_EVENT: after the header, seq_no (8, LE) and domain_id (4, LE). */
const MARIADB_GTID_EVENT = 162;
const GTID_BODY = 12;

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

interface EventFacts {
  ts: number;
  end: number;
  gtid?: { domain: number; server: number; seq: bigint };
}

/**
 * Feed a binlog's bytes in order with push(), in pieces of any size; facts() then describes its
 * complete events (an event cut off at the end of the bytes does not count, nor anything after a
 * header that cannot be an event).
 */
export class BinlogScanner {
  private readonly magic = Buffer.alloc(MAGIC.length);
  /** bytes pushed so far */
  private seen = 0;
  /** where the next event header starts */
  private next = MAGIC.length;
  /** the bytes from `next` to `seen` when they do not yet hold a whole header */
  private carry = Buffer.alloc(0);
  /** an event whose header was read but whose last byte has not arrived yet */
  private pending: EventFacts | undefined;
  /** a header that cannot be an event was met: nothing after it counts */
  private stopped = false;
  private events = 0;
  private first = 0;
  private last = 0;
  private end = MAGIC.length;
  private readonly gtids = new Map<number, { server: number; seq: bigint }>();

  push(data: Buffer): void {
    if (this.seen < MAGIC.length) data.copy(this.magic, this.seen, 0, Math.min(data.length, MAGIC.length - this.seen));
    const bufStart = this.carry.length > 0 ? this.next : this.seen;
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, data]) : data;
    this.seen += data.length;
    if (this.pending && this.pending.end <= this.seen) this.commit(this.pending);
    this.carry = Buffer.alloc(0);
    while (!this.stopped && !this.pending) {
      const at = this.next - bufStart;
      if (at + HEADER > buf.length) break;
      const size = buf.readUInt32LE(at + 9);
      if (size < HEADER) {
        this.stopped = true;
        break;
      }
      const isGtid = buf[at + 4] === MARIADB_GTID_EVENT && size >= HEADER + GTID_BODY;
      if (isGtid && at + HEADER + GTID_BODY > buf.length) break;
      const event: EventFacts = { ts: buf.readUInt32LE(at), end: this.next + size };
      if (isGtid) event.gtid = { seq: buf.readBigUInt64LE(at + HEADER), domain: buf.readUInt32LE(at + HEADER + 8), server: buf.readUInt32LE(at + 5) };
      this.next = event.end;
      if (event.end <= this.seen) this.commit(event);
      else this.pending = event;
    }
    // A header split between two pieces waits for the rest (at most a few dozen bytes).
    if (!this.stopped && !this.pending && this.next < this.seen) this.carry = Buffer.from(buf.subarray(this.next - bufStart));
  }

  private commit(e: EventFacts): void {
    if (this.events === 0) this.first = e.ts;
    // Artificial events carry a zero time: they say nothing about when data changed.
    if (e.ts > 0) this.last = e.ts;
    if (e.gtid) this.gtids.set(e.gtid.domain, { server: e.gtid.server, seq: e.gtid.seq });
    this.events++;
    this.end = e.end;
    this.pending = undefined;
  }

  facts(name: string): BinlogFileFacts {
    if (this.seen < MAGIC.length || !this.magic.equals(MAGIC)) {
      throw dbtoolError('WAL_INVALID', `${name} is not a binlog file (no 0xfe 'bin' magic)`, 'Check the server streams binlogs in format v4');
    }
    if (this.events === 0) throw dbtoolError('WAL_INVALID', `${name} holds no complete binlog event`, 'Check the file');
    const lastGtids = [...this.gtids].sort((a, b) => a[0] - b[0]).map(([d, g]) => `${d}-${g.server}-${g.seq}`).join(',');
    return { firstTime: new Date(this.first * 1000), lastTime: new Date(this.last * 1000), endPosition: this.end, events: this.events, lastGtids };
  }
}
