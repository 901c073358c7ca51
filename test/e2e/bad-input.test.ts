// Bad input end to end: each gives one clear line on stderr, the documented exit status, and
// leaves the repository exactly as it was.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile, chown, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRunAs } from '../../src/core/os-user.js';
import { archivingFixture, runDbtool, startCluster, switchAndArchive } from '../harness/pg-cluster.js';
import type { ArchivingFixture, TestCluster } from '../harness/pg-cluster.js';
import { assertOneLine } from '../harness/assert-one-line.js';

const runAs = resolveRunAs();

/** Every file in the repository with its size and mtime: equal snapshots mean nothing changed. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await stat(p);
        out.push(`${p} ${s.size} ${s.mtimeMs}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}


describe('bad input', () => {
  let fx: ArchivingFixture;
  let work: string;
  let repo: string;
  let src: TestCluster;
  let env: Record<string, string>;
  let snap: string[];
  const dbtool = (args: string[], extraEnv: Record<string, string> = {}) => runDbtool(['--repo', repo, ...args], { env: { ...env, ...extraEnv } });

  before(async () => {
    fx = await archivingFixture('dbtool-bad-');
    ({ work, src, env } = fx);
    repo = fx.repo;
  });

  after(async () => {
    await fx?.destroy();
  });

  it('no backups yet: restore says so', async () => {
    const r = await dbtool(['restore', '--target-dir', join(work, 'r0')]);
    assertOneLine(r, 2, /no backup/);
  });

  it('no repository: a clear line naming the place and what to do', async () => {
    const r = await runDbtool(['--repo', join(work, 'nowhere'), 'info'], { env });
    assertOneLine(r, 2, /no dbtool repository at .*nowhere.*repo init/);
    const r2 = await runDbtool(['restore', '--target-dir', join(work, 'r0')], { env });
    assertOneLine(r2, 2, /no repository is configured/);
  });

  it('unreachable server', async () => {
    const r = await dbtool(['backup'], { PGPORT: '1' });
    assertOneLine(r, 1, /cannot reach PostgreSQL at 127\.0\.0\.1:1/);
  });

  it('a role without the REPLICATION privilege', async () => {
    await src.query('CREATE ROLE plain LOGIN');
    const r = await dbtool(['backup'], { PGUSER: 'plain' });
    assertOneLine(r, 2, /'plain' may not open a replication connection.*ALTER ROLE "plain" REPLICATION/);
  });

  it('a server with wal_level = minimal', async () => {
    const minimal = await startCluster({ walLevel: 'minimal' });
    try {
      const r = await dbtool(['backup'], { PGPORT: String(minimal.port) });
      assertOneLine(r, 2, /wal_level = minimal.*wal_level = replica/);
    } finally {
      await minimal.destroy();
    }
  });

  describe('with a backup in the repository', () => {
    before(async () => {
      await src.query('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000)');
      const b = await dbtool(['backup']);
      assert.equal(b.code, 0, b.stderr);
      // Snapshot only once the archiver has nothing left to push.
      await switchAndArchive(src);
      snap = await snapshot(repo);
    });

    for (const [name, args, code, pattern] of [
      ['a time without a zone', ['--to-time', '2026-11-21 10:00:00'], 2, /no time zone.*Add a zone/],
      ['a malformed time', ['--to-time', 'yesterday'], 2, /not an ISO-8601 time/],
      ['a malformed LSN', ['--to-lsn', '12345'], 2, /not a PostgreSQL LSN/],
      ['a malformed xid', ['--to-xid', 'abc'], 2, /not a transaction id/],
      ['two targets at once', ['--to-lsn', '0/1', '--immediate'], 2, /both given/],
      ['a target before the earliest backup', ['--to-time', '2000-01-01T00:00:00Z'], 2, /before the end of the earliest backup/],
      ['a target after the latest archived WAL (time)', ['--to-time', '2100-01-01T00:00:00Z'], 2, /after the latest archived WAL/],
      ['a target after the latest archived WAL (LSN)', ['--to-lsn', 'FF/0'], 2, /after the latest archived WAL/],
      ['an unknown restore point', ['--to-name', 'never-created'], 2, /no restore point named 'never-created'/],
      ['an unknown backup label', ['--backup', '20000101T000000Z-F'], 2, /no backup labelled/],
      ['an unknown flag', ['--to-tme', 'x'], 2, /unknown option/],
    ] as Array<[string, string[], number, RegExp]>) {
      it(`restore refuses ${name}, changing nothing`, async () => {
        const target = join(work, `bad-${name.replace(/\W+/g, '-')}`);
        const r = await dbtool(['restore', '--target-dir', target, ...args]);
        assertOneLine(r, code, pattern);
        assert.deepEqual(await snapshot(repo), snap, 'repository unchanged');
        await assert.rejects(stat(target), 'nothing was restored');
      });
    }

    it('restore refuses a non-empty target directory', async () => {
      const target = join(work, 'not-empty');
      await mkdir(target);
      await writeFile(join(target, 'precious'), 'keep me');
      if (runAs) await chown(target, runAs.uid, runAs.gid);
      const r = await dbtool(['restore', '--target-dir', target]);
      assertOneLine(r, 2, /is not empty.*--force/);
      assert.equal(await readFile(join(target, 'precious'), 'utf8'), 'keep me');
    });

    it('--force never deletes the data directory of a running server', async () => {
      const r = await dbtool(['restore', '--target-dir', src.dataDir, '--force']);
      assertOneLine(r, 2, /a PostgreSQL server is running in target directory/);
      const [row] = await src.query<{ one: number }>('SELECT 1 AS one');
      assert.equal(row?.one, 1, 'the server is untouched');
    });

    it('a repository of another cluster: backup and wal-push are refused', async () => {
      const other = await startCluster();
      try {
        const before = await snapshot(repo);
        const r = await dbtool(['backup'], { PGPORT: String(other.port) });
        assertOneLine(r, 2, /belongs to postgres system \d+, but this is postgres system \d+/);
        // A segment of the other cluster pushed as if it were ours.
        const [seg] = await other.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f');
        const copy = join(work, seg!.f);
        await copyFile(join(other.dataDir, 'pg_wal', seg!.f), copy);
        if (runAs) await chown(copy, runAs.uid, runAs.gid);
        const p = await dbtool(['wal-push', copy]);
        assertOneLine(p, 2, /belongs to postgres system/);
        // restore_command running in the other cluster's data directory gets nothing from us.
        const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { archive: Array<{ from: string }> };
        const g = await runDbtool(['--repo', repo, 'wal-get', info.archive[0]!.from, 'pg_wal/RECOVERYXLOG'], { env, cwd: other.dataDir });
        assertOneLine(g, 126, /but the data directory .* is system/);
        assert.ok(!existsSync(join(other.dataDir, 'pg_wal', 'RECOVERYXLOG')));
        assert.deepEqual(await snapshot(repo), before, 'repository unchanged');
      } finally {
        await other.destroy();
      }
    });

    it('wal-push: identical re-push succeeds, different content under the same name fails', async () => {
      const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { archive: Array<{ from: string }> };
      const name = info.archive[0]!.from;
      const file = join(work, name);
      const g = await dbtool(['wal-get', name, file]);
      assert.equal(g.code, 0, g.stderr);
      assert.equal((await dbtool(['wal-push', file])).code, 0, 'identical content is accepted again');
      const data = await readFile(file);
      data[data.length - 100] = data[data.length - 100]! ^ 0xff;
      await writeFile(file, data);
      const before = await snapshot(repo);
      assertOneLine(await dbtool(['wal-push', file]), 1, /already archived .* with different content.*split brain/);
      assert.deepEqual(await snapshot(repo), before);
    });

    it('wal-get of a file that is not archived exits 1 quietly', async () => {
      const r = await dbtool(['wal-get', '0000000100000000000000FE', join(work, 'x')]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, '');
    });

    it('wal-push of something that is not a WAL file', async () => {
      const f = join(work, 'notwal');
      await writeFile(f, 'hello');
      assertOneLine(await dbtool(['wal-push', f]), 2, /not a WAL segment/);
    });
  });
});
