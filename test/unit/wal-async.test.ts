// wal-push --async and wal-get --async, the pure parts: reading the command line as the fast path
// does, when a spool marker vouches for a file, which ready segments are pushed ahead, and which
// segments are fetched ahead, and what a spool sweep clears.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncGetArgs, segmentsAfter } from '../../src/command/wal-get/prefetch.js';
import { segmentsAhead } from '../../src/command/wal-push/ahead.js';
import { asyncPushArgs, isSpoolLeftover, MARKER_TTL_MS, markerVouches, sweepSpool } from '../../src/command/wal-push/spool.js';
import type { SpoolMarker } from '../../src/command/wal-push/spool.js';

const SEG = '000000010000000000000005';

describe('wal-push --async', () => {
  it('reads repository, source, spool and path from the line, in any order and either option form', () => {
    const a = asyncPushArgs(['--repo', '/backup/repo', 'wal-push', '--async', '--spool', '/var/spool/dbtool', `pg_wal/${SEG}`], '/srv/pg', {});
    assert.deepEqual(a, { spool: '/var/spool/dbtool', path: `/srv/pg/pg_wal/${SEG}`, identity: JSON.stringify(['/backup/repo', 'main']) });
    const b = asyncPushArgs(['wal-push', `--spool=/var/spool/dbtool`, '--source=main', `/srv/pg/pg_wal/${SEG}`, '--async', '--repo=/backup/repo', '--quiet'], '/elsewhere', {});
    assert.deepEqual(b, a);
    // Relative locations are the server's working directory's; URLs are kept as written.
    assert.equal(asyncPushArgs(['--repo', 'repo', 'wal-push', '--async', '--spool', 'spool', SEG], '/srv/pg', {})?.identity, JSON.stringify(['/srv/pg/repo', 'main']));
    assert.equal(asyncPushArgs(['--repo', 's3://b/p?region=x', '--source', 'db1', 'wal-push', '--async', '--spool', '/s', SEG], '/', {})?.identity, JSON.stringify(['s3://b/p?region=x', 'db1']));
  });

  it('takes repository and source from the environment when the line has none, as settings do', () => {
    const line = ['wal-push', '--async', '--spool', '/s', SEG];
    assert.equal(asyncPushArgs(line, '/', { DBTOOL_REPO: '/r', DBTOOL_SOURCE: 'db2' })?.identity, JSON.stringify(['/r', 'db2']));
    assert.equal(asyncPushArgs(['--repo', '/line', '--source', 'main', ...line], '/', { DBTOOL_REPO: '/r', DBTOOL_SOURCE: 'db2' })?.identity, JSON.stringify(['/line', 'main']));
    // Empty is unset, as in settings.
    assert.equal(asyncPushArgs(['--repo', '/r', ...line], '/', { DBTOOL_SOURCE: '', DBTOOL_CONFIG: '' })?.identity, JSON.stringify(['/r', 'main']));
    assert.equal(asyncPushArgs(line, '/', { DBTOOL_REPO: '' }), undefined);
  });

  it('is not an async push without --async, --spool or a repository, with a config file, or with anything it does not know', () => {
    const base = ['--repo', '/r', 'wal-push', '--async', '--spool', '/s', SEG];
    assert.ok(asyncPushArgs(base, '/', {}));
    assert.equal(asyncPushArgs(base.filter((x) => x !== '--async'), '/', {}), undefined);
    assert.equal(asyncPushArgs(['--repo', '/r', 'wal-push', '--async', SEG], '/', {}), undefined);
    assert.equal(asyncPushArgs(['wal-push', '--async', '--spool', '/s', SEG], '/', {}), undefined);
    assert.equal(asyncPushArgs(['--repo', '/r', 'wal-get', '--async', '--spool', '/s', SEG, '/tmp/x'], '/', {}), undefined);
    assert.equal(asyncPushArgs([...base, '--config', '/c.yaml'], '/', {}), undefined);
    assert.equal(asyncPushArgs(base, '/', { DBTOOL_CONFIG: '/c.yaml' }), undefined);
    assert.equal(asyncPushArgs([...base, '--unknown'], '/', {}), undefined);
    assert.equal(asyncPushArgs(['--repo', '/r', '--repo', '/other', 'wal-push', '--async', '--spool', '/s', SEG], '/', {}), undefined);
    assert.equal(asyncPushArgs(['--repo', '/r', 'wal-push', '--async', '--spool', '/s', SEG, 'extra'], '/', {}), undefined);
    assert.equal(asyncPushArgs(['--repo', '/r', 'wal-push', '--async', '--spool'], '/', {}), undefined);
  });

  it('a marker vouches only for the same file, repository and source, within its lifetime', () => {
    const now = 1_800_000_000_000;
    const file = { size: 16 * 1024 * 1024, mtimeMs: 1_799_999_999_123.5, ino: 4242 };
    const marker: SpoolMarker = { identity: 'id', ...file, pushedAt: now - 1000 };
    assert.equal(markerVouches(marker, file, 'id', now), true);
    assert.equal(markerVouches(marker, file, 'other repository', now), false);
    assert.equal(markerVouches(marker, { ...file, size: file.size - 1 }, 'id', now), false);
    assert.equal(markerVouches(marker, { ...file, mtimeMs: file.mtimeMs + 1 }, 'id', now), false);
    // PostgreSQL recycles segments by renaming them: another inode under the name is another file.
    assert.equal(markerVouches(marker, { ...file, ino: 4243 }, 'id', now), false);
    assert.equal(markerVouches({ ...marker, pushedAt: now - MARKER_TTL_MS }, file, 'id', now), false);
    assert.equal(markerVouches({ ...marker, pushedAt: now + 60_000 }, file, 'id', now), false);
  });

  it('clears markers past their lifetime and temporary notes a crash left, and nothing else', async () => {
    const now = Date.now();
    const old = now - MARKER_TTL_MS - 1000;
    assert.equal(isSpoolLeftover('000000010000000000000003.ok', old, now), true);
    assert.equal(isSpoolLeftover('.000000010000000000000003.a1b2c3d4.tmp', old, now), true);
    assert.equal(isSpoolLeftover('000000010000000000000003.ok', now - 1000, now), false, 'a marker in its lifetime stays');
    assert.equal(isSpoolLeftover('.000000010000000000000003.a1b2c3d4.tmp', now - 1000, now), false, 'a note being written stays');
    assert.equal(isSpoolLeftover('someone-elses-file', old, now), false);
    const spool = await mkdtemp(join(tmpdir(), 'dbtool-spool-'));
    try {
      const names = ['000000010000000000000003.ok', '.000000010000000000000003.a1b2c3d4.tmp', '000000010000000000000004.ok', 'README'];
      for (const n of names) await writeFile(join(spool, n), '{}');
      for (const n of [names[0]!, names[1]!, names[3]!]) await utimes(join(spool, n), old / 1000, old / 1000);
      assert.equal(await sweepSpool(spool, now), 2);
      assert.deepEqual((await readdir(spool)).sort(), ['000000010000000000000004.ok', 'README']);
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });

  it('pushes ahead the oldest ready segments but the one asked for, and nothing else PostgreSQL marks ready', () => {
    const entries = [
      '000000010000000000000009.ready',
      '000000010000000000000004.done',
      `${SEG}.ready`,
      '000000010000000000000007.ready',
      '00000002.history.ready',
      '000000010000000000000006.00000028.backup.ready',
      '000000010000000000000008.partial.ready',
      '000000010000000000000006.ready',
    ];
    assert.deepEqual(segmentsAhead(entries, SEG, 8), ['000000010000000000000006', '000000010000000000000007', '000000010000000000000009']);
    assert.deepEqual(segmentsAhead(entries, SEG, 2), ['000000010000000000000006', '000000010000000000000007']);
    assert.deepEqual(segmentsAhead([`${SEG}.ready`], SEG, 8), []);
  });
});

describe('wal-get --async', () => {
  it('reads the line as wal-push --async does, and ties the spool to the data directory too', () => {
    const a = asyncGetArgs(['--repo', '/r', '--source', 'db1', 'wal-get', '--async', '--spool', 'pg_wal/.spool', SEG, 'pg_wal/RECOVERYXLOG'], '/srv/pgdata', {});
    assert.deepEqual(a, { spool: '/srv/pgdata/pg_wal/.spool', name: SEG, dest: '/srv/pgdata/pg_wal/RECOVERYXLOG', identity: JSON.stringify(['/r', 'db1', '/srv/pgdata']) });
    assert.notEqual(asyncGetArgs(['--repo', '/r', 'wal-get', '--async', '--spool', '/s', SEG, 'x'], '/other', {})?.identity, asyncGetArgs(['--repo', '/r', 'wal-get', '--async', '--spool', '/s', SEG, 'x'], '/srv/pgdata', {})?.identity);
    assert.equal(asyncGetArgs(['--repo', '/r', 'wal-get', '--spool', '/s', SEG, 'x'], '/', {}), undefined);
    assert.equal(asyncGetArgs(['--repo', '/r', 'wal-get', '--async', '--spool', '/s', SEG], '/', {}), undefined);
    assert.equal(asyncGetArgs(['--repo', '/r', 'wal-push', '--async', '--spool', '/s', SEG, 'x'], '/', {}), undefined);
    assert.equal(asyncGetArgs(['--config', '/c', '--repo', '/r', 'wal-get', '--async', '--spool', '/s', SEG, 'x'], '/', {}), undefined);
  });

  it('fetches ahead the next segments of the timeline, across a log id, for any segment size', () => {
    assert.deepEqual(segmentsAfter('0000000200000000000000FE', 16 * 1024 * 1024, 3), ['0000000200000000000000FF', '000000020000000100000000', '000000020000000100000001']);
    // 64 MiB segments: 64 per log id.
    assert.deepEqual(segmentsAfter('00000001000000050000003F', 64 * 1024 * 1024, 2), ['000000010000000600000000', '000000010000000600000001']);
  });
});
