// verify against real damage: flipped bytes in three chunks and a fourth deleted are named with
// the backups and files they break; the damaged backup refuses to restore, naming a file; an
// undamaged one restores; a hole in the archive is reported, cuts the restorable window, and a
// target beyond it is refused before anything is written.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openInstance } from '../../src/engine/postgres/instance.js';
import { keys } from '../../src/repo/keys.js';
import { readManifest } from '../../src/repo/manifest.js';
import { Repository } from '../../src/repo/repository.js';
import { PosixStorage } from '../../src/storage/posix/posix-storage.js';
import { archivingFixture, freePort, runDbtool, switchAndArchive, tableChecksums } from '../harness/pg-cluster.js';
import type { ArchivingFixture, TestCluster } from '../harness/pg-cluster.js';

describe('verify', () => {
  let fx: ArchivingFixture;
  let work: string;
  let repoDir: string;
  let src: TestCluster;
  let env: Record<string, string>;
  let full: string;
  let incr: string;
  let fullChecksums: Record<string, string>;
  const dbtool = (args: string[]) => runDbtool(['--repo', repoDir, ...args], { env });

  before(async () => {
    fx = await archivingFixture('dbtool-verify-');
    ({ work, src, env } = fx);
    repoDir = fx.repo;
    await src.query("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 300000) g");
    await src.query('VACUUM (FREEZE) t');
    await src.query('CHECKPOINT');
    fullChecksums = await tableChecksums(src, 'postgres');
    full = (JSON.parse((await dbtool(['backup', '--json'])).stdout) as { label: string }).label;
    await src.query("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(300001, 400000) g");
    incr = (JSON.parse((await dbtool(['backup', '--type', 'incr', '--json'])).stdout) as { label: string }).label;
    await switchAndArchive(src);
  });

  after(async () => {
    await fx?.destroy();
  });

  it('passes on an intact repository', async () => {
    const r = await dbtool(['verify']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /verified 2 backup\(s\).*\neverything verified/);
  });

  it('the restore test passes on a good backup: amcheck clean, every table read', async () => {
    const r = await dbtool(['verify', '--restore-test', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; backup: string; amcheck: { ok: boolean }; tables: Array<{ table: string; rows: number }> };
    assert.equal(report.backup, incr, 'latest by default');
    assert.equal(report.amcheck.ok, true);
    assert.deepEqual(report.tables.find((t) => t.table === 'public.t'), { database: 'postgres', table: 'public.t', rows: 400000 });
    assert.deepEqual((await readdir(tmpdir())).filter((d) => d.startsWith('dbtool-restore-test-')), [], 'the scratch directory is gone');
  });

  it('names exactly the damaged chunks, with the backups and files they break', async () => {
    const repo = await Repository.open(new PosixStorage(repoDir));
    try {
      const mFull = await readManifest(repo, 'main', full);
      const mIncr = await readManifest(repo, 'main', incr);
      const inFull = new Set(mFull.files.flatMap((f) => f.chunks ?? []));
      // Four chunks only the incr needs, from files of some size.
      const victims: Array<{ id: string; path: string }> = [];
      for (const f of mIncr.files) {
        for (const id of f.chunks ?? []) {
          if (!inFull.has(id) && !victims.some((v) => v.id === id) && victims.length < 4 && f.size > 8192) victims.push({ id, path: f.path });
        }
      }
      assert.equal(victims.length, 4, 'the incr has at least four chunks of its own');
      for (const v of victims.slice(0, 3)) {
        const file = join(repoDir, keys.chunk(v.id));
        const data = await readFile(file);
        data[Math.floor(data.length / 2)]! ^= 0x01;
        await writeFile(file, data);
      }
      await unlink(join(repoDir, keys.chunk(victims[3]!.id)));

      const r = await dbtool(['verify', '--json']);
      assert.equal(r.code, 1);
      assert.match(r.stderr.trim(), /^dbtool: verify found 4 problem\(s\) in 2 backup\(s\)/);
      const report = JSON.parse(r.stdout) as { badChunks: Array<{ id: string; problem: string; backups: string[]; files: string[] }> };
      assert.deepEqual(report.badChunks.map((c) => c.id).sort(), victims.map((v) => v.id).sort());
      for (const c of report.badChunks) {
        const v = victims.find((x) => x.id === c.id)!;
        assert.equal(c.problem, v === victims[3] ? 'missing' : 'corrupt');
        assert.deepEqual(c.backups, [incr]);
        assert.ok(c.files.includes(`${incr}:${v.path}`), `${c.files.join(',')} names ${v.path}`);
      }
      // Verifying only the full backup is clean: the damage is the incr's alone.
      assert.equal((await dbtool(['verify', '--backup', full])).code, 0);
    } finally {
      await repo.close();
    }
  });

  it('the damaged backup fails to restore naming a file; the intact one restores', async () => {
    const bad = await dbtool(['restore', '--backup', incr, '--immediate', '--target-dir', join(work, 'bad')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr.trim().split('\n').pop()!, /^dbtool: chunk [0-9a-f]{64} of file \S+ is (corrupt|missing)/);

    const test = await dbtool(['verify', '--restore-test', '--backup', incr]);
    assert.equal(test.code, 1);
    assert.match(test.stderr.trim().split('\n').pop()!, new RegExp(`^dbtool: the restore test of backup ${incr} failed: chunk [0-9a-f]{64} of file`));

    const port = await freePort();
    const good = await dbtool(['restore', '--backup', full, '--immediate', '--target-dir', join(work, 'good'), '--start', '--port', String(port), '--archive-mode', 'off']);
    assert.equal(good.code, 0, good.stderr);
    const inst = openInstance({ dataDir: join(work, 'good'), port });
    try {
      assert.deepEqual(await tableChecksums(inst, 'postgres'), fullChecksums);
    } finally {
      await inst.stop('immediate');
    }
  });

  it('a missing segment in the middle of the archive: reported, window cut, target beyond refused', async () => {
    // More archived WAL after the backups, then a hole in the middle of it.
    const segs: string[] = [];
    for (let i = 0; i < 3; i++) {
      await src.query(`INSERT INTO t SELECT g, 'x' FROM generate_series(${500000 + i * 1000}, ${500999 + i * 1000}) g`);
      segs.push(await switchAndArchive(src));
    }
    const [after] = await src.query<{ t: Date }>('SELECT now() AS t');
    await src.query("INSERT INTO t VALUES (999999, 'late')");
    await switchAndArchive(src);
    const hole = segs[1]!;
    await unlink(join(repoDir, 'archive', 'main', hole.slice(0, 8), hole));

    const v = await dbtool(['verify', '--backup', full]);
    assert.equal(v.code, 1);
    assert.match(v.stdout, new RegExp(`archive gap on timeline 1: ${hole}`));

    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { archive: Array<{ gaps: Array<{ from: string }> }>; restorableWindow: { toLsn: string } };
    assert.equal(info.archive[0]!.gaps[0]!.from, hole);
    const holeStart = `${parseInt(hole.slice(8, 16), 16).toString(16).toUpperCase()}/${(parseInt(hole.slice(16, 24), 16) * 0x1000000).toString(16).toUpperCase()}`;
    assert.equal(info.restorableWindow.toLsn, holeStart, 'the window ends where the hole starts');

    const target = join(work, 'beyond');
    const r = await dbtool(['restore', '--target-dir', target, '--to-time', after!.t.toISOString()]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /after the latest archived WAL.*is missing from the archive/);
    await assert.rejects(stat(target), 'nothing was restored');
  });
});
