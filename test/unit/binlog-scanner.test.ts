// BinlogScanner: the facts of a binlog are the same however its bytes are cut into pieces, and an
// event cut off at the end does not count.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BinlogScanner } from '../../src/engine/mysql/binlog-file.js';
import type { BinlogFileFacts } from '../../src/engine/mysql/binlog-file.js';
import { isDbtoolError } from '../../src/core/errors.js';

const MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);

/** One v4 event: 19-byte header, then `body`. */
function event(ts: number, type: number, server: number, body: Buffer): Buffer {
  const header = Buffer.alloc(19);
  header.writeUInt32LE(ts, 0);
  header[4] = type;
  header.writeUInt32LE(server, 5);
  header.writeUInt32LE(19 + body.length, 9);
  return Buffer.concat([header, body]);
}

/** MariaDB GTID_EVENT (162): seq_no (8), domain (4), flags. */
function gtid(ts: number, server: number, domain: number, seq: bigint): Buffer {
  const body = Buffer.alloc(13);
  body.writeBigUInt64LE(seq, 0);
  body.writeUInt32LE(domain, 8);
  return event(ts, 162, server, body);
}

// A format description at t=1000, an artificial event (time 0), two transactions in domain 0 and
// one in domain 7, a large row event, and the last complete event at t=1090.
const events = [
  event(1000, 15, 1, Buffer.alloc(100, 1)),
  event(0, 4, 1, Buffer.alloc(30, 2)),
  gtid(1010, 1, 0, 41n),
  event(1010, 2, 1, Buffer.alloc(70, 3)),
  gtid(1020, 2, 7, 5n),
  event(1020, 30, 2, Buffer.alloc(5000, 4)),
  gtid(1090, 1, 0, 42n),
  event(1090, 16, 1, Buffer.alloc(8, 5)),
];
const whole = Buffer.concat([MAGIC, ...events]);
const expected: BinlogFileFacts = {
  firstTime: new Date(1000_000),
  lastTime: new Date(1090_000),
  endPosition: whole.length,
  events: events.length,
  lastGtids: '0-1-42,7-2-5',
};

function scan(pieces: Buffer[]): BinlogFileFacts {
  const s = new BinlogScanner();
  for (const p of pieces) s.push(p);
  return s.facts('binlog.000001');
}

function cut(buf: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const a of [...at, buf.length]) {
    out.push(buf.subarray(from, a));
    from = a;
  }
  return out;
}

describe('binlog scanner', () => {
  it('reads the facts of a whole file', () => {
    assert.deepEqual(scan([whole]), expected);
  });

  it('gives the same facts for the file cut in two at every byte, and byte by byte', () => {
    for (let at = 0; at <= whole.length; at++) assert.deepEqual(scan(cut(whole, [at])), expected, `cut at ${at}`);
    assert.deepEqual(scan(cut(whole, Array.from({ length: whole.length - 1 }, (_, i) => i + 1))), expected);
  });

  it('does not count an event cut off at the end, nor anything after a header that is no event', () => {
    const last = events[events.length - 1]!;
    const truncated = whole.subarray(0, whole.length - 3);
    const short = { ...expected, endPosition: whole.length - last.length, events: events.length - 1, lastTime: new Date(1090_000) };
    assert.deepEqual(scan([truncated]), short);
    assert.deepEqual(scan(cut(truncated, [200, 5300])), short);
    // A header claiming 5 bytes ends the scan there.
    const bogus = Buffer.alloc(19);
    bogus.writeUInt32LE(5, 9);
    const withBogus = Buffer.concat([MAGIC, events[0]!, bogus, events[2]!]);
    const facts = scan(cut(withBogus, [130]));
    assert.equal(facts.events, 1);
    assert.equal(facts.endPosition, 4 + events[0]!.length);
  });

  it('refuses bytes without the magic, and a file without one complete event', () => {
    const invalid = (e: unknown) => isDbtoolError(e) && e.code === 'WAL_INVALID';
    assert.throws(() => scan([Buffer.from('hello world, no binlog here')]), invalid);
    assert.throws(() => scan([MAGIC.subarray(0, 2)]), invalid);
    assert.throws(() => scan([MAGIC, events[0]!.subarray(0, 50)]), invalid);
  });
});
