import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatLsn, parseHistoryFile, parseLsn, parseWalFileName, readWalSegmentHeader, segmentName, segnoOfLsn } from '../../src/core/lsn.js';
import { isDbtoolError } from '../../src/core/errors.js';

describe('LSN', () => {
  it('parses and formats round-trip', () => {
    assert.equal(parseLsn('0/3000028'), 0x3000028n);
    assert.equal(parseLsn('1A/FF'), (0x1an << 32n) | 0xffn);
    assert.equal(formatLsn(parseLsn('1a/ff000028')), '1A/FF000028');
  });
  it('rejects garbage with TARGET_INVALID', () => {
    for (const bad of ['', '0', '0/', 'x/1', '1/2/3', '123456789/0']) {
      assert.throws(() => parseLsn(bad), (e) => isDbtoolError(e) && e.code === 'TARGET_INVALID', bad);
    }
  });
});

describe('WAL file names', () => {
  it('knows segments, history, backup and partial files', () => {
    const s = parseWalFileName('000000020000000100000003');
    assert.equal(s.kind, 'segment');
    assert.equal(s.timeline, 2);
    assert.equal(s.segno, 256n + 3n);
    assert.equal(parseWalFileName('00000002.history').kind, 'history');
    assert.equal(parseWalFileName('000000010000000000000003.00000028.backup').kind, 'backup');
    assert.equal(parseWalFileName('000000010000000000000003.partial').kind, 'partial');
  });
  it('rejects other names (path traversal included)', () => {
    for (const bad of ['../etc/passwd', '00000001000000000000000', 'RECOVERYXLOG', '00000001.HISTORY']) {
      assert.throws(() => parseWalFileName(bad), (e) => isDbtoolError(e) && e.code === 'WAL_INVALID', bad);
    }
  });
  it('segment maths agree with PostgreSQL naming', () => {
    assert.equal(segmentName(1, 259n), '000000010000000100000003');
    assert.equal(segnoOfLsn(parseLsn('1/3000028')), 259n);
  });
  it('reads the long page header of a segment', () => {
    const b = Buffer.alloc(64);
    b.writeUInt16LE(0xd110, 0);
    b.writeUInt16LE(0x0002, 2);
    b.writeUInt32LE(3, 4);
    b.writeBigUInt64LE(7311070808891382708n, 24);
    b.writeUInt32LE(16 * 1024 * 1024, 32);
    b.writeUInt32LE(8192, 36);
    const h = readWalSegmentHeader(b)!;
    assert.equal(h.timeline, 3);
    assert.equal(h.systemId, '7311070808891382708');
    assert.equal(h.segmentSize, 16 * 1024 * 1024);
    b.writeUInt16LE(0, 2);
    assert.equal(readWalSegmentHeader(b), undefined, 'a short header is not a segment start');
  });
  it('parses history files', () => {
    const h = parseHistoryFile('1\t0/3000158\tno recovery target specified\n\n2\t0/5000000\tat restore point "x"\n');
    assert.deepEqual(h.map((e) => [e.parentTimeline, formatLsn(e.switchLsn)]), [[1, '0/3000158'], [2, '0/5000000']]);
  });
});
