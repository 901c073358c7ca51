import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatPgTimestamp, isLabel, labelTime, makeLabel, parseZonedTime } from '../../src/core/time.js';
import { isDbtoolError } from '../../src/core/errors.js';

describe('labels', () => {
  it('are UTC, second resolution, with the kind letter', () => {
    const d = new Date('2026-11-21T22:10:00.987Z');
    assert.equal(makeLabel(d, 'full'), '20261121T221000Z-F');
    assert.equal(makeLabel(d, 'incr'), '20261121T221000Z-I');
    assert.ok(isLabel('20261121T221000Z-D'));
    assert.ok(!isLabel('20261121T221000-F'));
    assert.equal(labelTime('20261121T221000Z-F').toISOString(), '2026-11-21T22:10:00.000Z');
  });
});

describe('target times', () => {
  it('accept every explicit zone form and mean the same instant', () => {
    const a = parseZonedTime('2026-11-21T22:10:00Z').date.getTime();
    assert.equal(parseZonedTime('2026-11-21 23:10:00+01:00').date.getTime(), a);
    assert.equal(parseZonedTime('2026-11-21T23:10:00+0100').date.getTime(), a);
    assert.equal(parseZonedTime('2026-11-21T17:10-05').date.getTime(), a);
    assert.equal(parseZonedTime('2026-11-22T03:40:00+05:30').date.getTime(), a);
  });
  it('keep microseconds for PostgreSQL', () => {
    const t = parseZonedTime('2026-11-21T22:10:00.123456Z');
    assert.equal(t.micros, 123456);
    assert.equal(formatPgTimestamp(t), '2026-11-21 22:10:00.123456+00');
    assert.equal(formatPgTimestamp(parseZonedTime('2026-11-21T23:10:00.5+01:00')), '2026-11-21 22:10:00.500000+00');
  });
  it('refuse a time without a zone, explaining why', () => {
    assert.throws(
      () => parseZonedTime('2026-11-21 22:10:00'),
      (e) => isDbtoolError(e) && e.code === 'TARGET_INVALID' && /no time zone/.test(e.message) && /Z/.test(e.hint ?? ''),
    );
  });
  it('refuse nonsense', () => {
    for (const bad of ['yesterday', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-11-21T25:00:00Z', '2026-11-21T10:00:00+25:00']) {
      assert.throws(() => parseZonedTime(bad), (e) => isDbtoolError(e) && e.code === 'TARGET_INVALID', bad);
    }
  });
});
