// The bench's suite selector (BENCH_SUITES): defaults, order, unknown names.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SUITE_NAMES, selectedSuites } from '../../bench/run-suites.js';

describe('selectedSuites', () => {
  it('runs every suite when BENCH_SUITES is unset, empty or "all"', () => {
    assert.deepEqual(selectedSuites(undefined), [...SUITE_NAMES]);
    assert.deepEqual(selectedSuites(' '), [...SUITE_NAMES]);
    assert.deepEqual(selectedSuites('s3,all'), [...SUITE_NAMES]);
  });

  it('keeps the canonical order whatever order they are named in', () => {
    assert.deepEqual(selectedSuites('lab, s3 ,pg'), ['pg', 's3', 'lab']);
    assert.deepEqual(selectedSuites('logical'), ['logical']);
  });

  it('refuses an unknown suite, naming it and the known ones', () => {
    assert.throws(() => selectedSuites('s3,nope'), /unknown suite\(s\) in BENCH_SUITES: nope \(known: pg, s3, crypto, logical, wal, sample, lab, mysql, all\)/);
  });
});
