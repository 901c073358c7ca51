// xbstream parsing (payload, sparse, end-of-file chunks, checksums), backup metadata files, and
// the restore chain of MySQL backups.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { chainOf, chooseMysqlBackup } from '../../src/command/restore/mysql-plan.js';
import { parseBinlogInfo, parseCheckpoints } from '../../src/engine/mysql/backup-meta.js';
import { readXbstream } from '../../src/engine/mysql/xbstream.js';
import type { XbChunk } from '../../src/engine/mysql/xbstream.js';
import type { Manifest } from '../../src/repo/manifest.js';

function chunk(type: 'P' | 'S' | 'E', path: string, offset = 0, payload = Buffer.alloc(0), map: Array<[number, number]> = []): Buffer {
  const p = Buffer.from(path);
  const head = Buffer.alloc(14);
  head.write('XBSTCK01', 0, 'latin1');
  head[8] = 0;
  head[9] = type.charCodeAt(0);
  head.writeUInt32LE(p.length, 10);
  if (type === 'E') return Buffer.concat([head, p]);
  const parts = [head, p];
  if (type === 'S') {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(map.length);
    parts.push(n);
  }
  const fixed = Buffer.alloc(20);
  fixed.writeBigUInt64LE(BigInt(payload.length), 0);
  fixed.writeBigUInt64LE(BigInt(offset), 8);
  fixed.writeUInt32LE(crc32(payload), 16);
  parts.push(fixed);
  if (type === 'S') {
    const m = Buffer.alloc(map.length * 8);
    map.forEach(([skip, write], i) => {
      m.writeUInt32LE(skip, i * 8);
      m.writeUInt32LE(write, i * 8 + 4);
    });
    parts.push(m);
  }
  parts.push(payload);
  return Buffer.concat(parts);
}

/** Deliver `buf` in small pieces, so chunk boundaries fall anywhere. */
async function parse(buf: Buffer, piece = 7): Promise<XbChunk[]> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < buf.length; i += piece) pieces.push(buf.subarray(i, i + piece));
  const out: XbChunk[] = [];
  // A stream chunk's payload comes in pieces (views of the input): gathered here to compare.
  let open: XbChunk | undefined;
  for await (const c of readXbstream(Readable.from(pieces))) {
    if (open) {
      assert.equal(c.path, open.path);
      assert.equal(c.offset, open.offset + open.data.length);
      open.data = Buffer.concat([open.data, c.data]);
      open.chunkEnd = c.chunkEnd;
    } else out.push((open = { ...c, data: Buffer.from(c.data) }));
    if (open.chunkEnd) open = undefined;
  }
  assert.equal(open, undefined);
  return out;
}

describe('xbstream reader', () => {
  it('reads payload, sparse and end-of-file chunks', async () => {
    const stream = Buffer.concat([
      chunk('P', 'ibdata1', 0, Buffer.from('hello ')),
      chunk('P', 'ibdata1', 6, Buffer.from('world')),
      chunk('E', 'ibdata1'),
      chunk('S', 'app/t.ibd', 0, Buffer.from('abcd'), [
        [2, 1],
        [3, 3],
      ]),
      chunk('E', 'app/t.ibd'),
      chunk('E', 'empty'),
    ]);
    const got = await parse(stream);
    assert.deepEqual(
      got.map((c) => [c.path, c.type, c.offset, c.data.toString('latin1')]),
      [
        ['ibdata1', 'payload', 0, 'hello '],
        ['ibdata1', 'payload', 6, 'world'],
        ['ibdata1', 'eof', 0, ''],
        ['app/t.ibd', 'payload', 0, '\0\0a\0\0\0bcd'],
        ['app/t.ibd', 'eof', 0, ''],
        ['empty', 'eof', 0, ''],
      ],
    );
  });

  it('refuses a bad checksum, a bad magic and a truncated stream', async () => {
    const good = chunk('P', 'f', 0, Buffer.from('data'));
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
    await assert.rejects(parse(flipped), /checksum of a chunk of f/);
    const magic = Buffer.from(good);
    magic[0] = 0x41;
    await assert.rejects(parse(magic), /XBSTCK01/);
    await assert.rejects(parse(good.subarray(0, good.length - 2)), /ended inside a chunk/);
    // Split across pieces, the last piece of a bad chunk is never handed on.
    const big = chunk('P', 'g', 0, Buffer.alloc(100, 7));
    big[big.length - 1] = 8;
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const c of readXbstream(Readable.from([big.subarray(0, 60), big.subarray(60)]))) seen.push(c.data.length);
    }, /checksum of a chunk of g/);
    assert.ok(seen.reduce((a, b) => a + b, 0) < 100);
  });
});

describe('backup metadata', () => {
  it('parses xtrabackup_checkpoints and binlog info', () => {
    const cp = parseCheckpoints('backup_type = incremental\nfrom_lsn = 44760\nto_lsn = 51234\nlast_lsn = 51250\nrecover_binlog_info = 0\n');
    assert.deepEqual(cp, { backupType: 'incremental', fromLsn: '44760', toLsn: '51234', lastLsn: '51250' });
    assert.throws(() => parseCheckpoints('backup_type = full-backuped\n'), /from_lsn/);
    assert.deepEqual(parseBinlogInfo('binlog.000001\t846\t0-1-3\n'), { file: 'binlog.000001', position: 846, gtid: '0-1-3' });
    assert.deepEqual(parseBinlogInfo('mysql-bin.000002\t154\n'), { file: 'mysql-bin.000002', position: 154 });
    assert.equal(parseBinlogInfo('\n'), undefined);
    assert.throws(() => parseBinlogInfo('binlog.000001 x'), /malformed/);
  });
});

describe('mysql restore chain', () => {
  const m = (label: string, type: Manifest['type'], parent: string | null) => ({ label, type, parent, mysql: {} }) as unknown as Manifest;
  const full = m('20260101T000000Z-F', 'full', null);
  const incr = m('20260101T010000Z-I', 'incr', full.label);
  const diff = m('20260101T020000Z-D', 'diff', full.label);
  const incr2 = m('20260101T030000Z-I', 'incr', diff.label);
  const all = [full, incr, diff, incr2];

  it('walks parents back to the full', () => {
    assert.deepEqual(chainOf(incr2, all).map((x) => x.label), [full.label, diff.label, incr2.label]);
    assert.deepEqual(chainOf(incr, all).map((x) => x.label), [full.label, incr.label]);
    assert.deepEqual(chainOf(full, all).map((x) => x.label), [full.label]);
    assert.equal(chooseMysqlBackup(all, undefined, 'main'), incr2);
  });

  it('refuses a missing parent or an unknown label', () => {
    assert.throws(() => chainOf(incr2, [full, incr2]), /based on 20260101T020000Z-D, which is not in the repository/);
    assert.throws(() => chooseMysqlBackup(all, 'nope', 'main'), /no MySQL backup nope/);
    assert.throws(() => chooseMysqlBackup([], undefined, 'main'), /has no MySQL backup/);
  });
});
