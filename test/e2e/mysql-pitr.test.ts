// MariaDB point-in-time recovery: binlogs archived with `binlog-archive --once`, replayed after the
// newest backup before the target; by time and by binlog position between two markers; bad targets.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checksums, startMariadb, stopServerDir, trackServerDir } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { freePort, makeTempDir, runDbtool } from '../harness/pg-cluster.js';
import { connectMysql } from '../../src/engine/mysql/connection.js';

describe('mysql: binlog archive and point-in-time recovery', () => {
  let my: TestMariadb;
  let work: string;
  let repo: string;
  let m1Time: Date;
  let m2Time: Date;
  let between: { file: string; position: number };
  let m1Gtid: string;
  let afterM1: Record<string, string>;
  const dbtool = (args: string[], env: Record<string, string> = {}) => runDbtool(['--repo', repo, ...args], { env: { ...my.env, ...env }, asUser: undefined });

  async function masterStatus(): Promise<{ file: string; position: number }> {
    const [row] = await my.query<{ File: string; Position: number }>('SHOW MASTER STATUS');
    return { file: row!.File, position: Number(row!.Position) };
  }

  async function markers(o: { socket: string }): Promise<string[]> {
    const conn = await connectMysql({ socket: o.socket, user: 'root' });
    try {
      const [rows] = await conn.query('SELECT name FROM app.markers ORDER BY id');
      return (rows as Array<{ name: string }>).map((r) => r.name);
    } finally {
      await conn.end();
    }
  }

  before(async () => {
    my = await startMariadb();
    work = await makeTempDir('dbtool-mypitr-');
    repo = join(work, 'repo');
    assert.equal((await dbtool(['repo', 'init'])).code, 0);
    await my.query("CREATE DATABASE app; CREATE TABLE app.markers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(16), at datetime(6)); INSERT INTO app.markers (name, at) VALUES ('m0', now(6))");
    const full = await dbtool(['backup', '--json']);
    assert.equal(full.code, 0, full.stderr);
    await sleep(1100);
    await my.query("INSERT INTO app.markers (name, at) VALUES ('m1', now(6))");
    m1Time = new Date();
    afterM1 = await checksums(my.connection);
    between = await masterStatus();
    m1Gtid = (await my.query<{ g: string }>('SELECT @@gtid_binlog_pos AS g'))[0]!.g;
    // Distinct seconds: binlog event times have a resolution of one second.
    await sleep(2100);
    m2Time = new Date();
    await my.query("INSERT INTO app.markers (name, at) VALUES ('m2', now(6))");
    const arch = await dbtool(['binlog-archive', '--once', '--json']);
    assert.equal(arch.code, 0, arch.stderr);
    const r = JSON.parse(arch.stdout) as { archived: string[] };
    assert.ok(r.archived.includes(between.file), arch.stdout);
  });

  after(async () => {
    await my?.destroy();
    if (work) await stopServerDir(work);
  });

  async function restoreTo(name: string, args: string[]): Promise<{ socket: string; dir: string; stdout: string }> {
    const dir = join(work, name);
    trackServerDir(dir, join(dir, 'mysqld.pid'));
    const r = await dbtool(['restore', '--target-dir', dir, '--start', '--port', String(await freePort()), ...args]);
    assert.equal(r.code, 0, r.stderr);
    return { socket: join(dir, 'mysqld.sock'), dir, stdout: r.stdout };
  }

  it('a second run archives nothing new but the rotated file, and info shows the binlog range', async () => {
    const again = await dbtool(['binlog-archive', '--once', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const r = JSON.parse(again.stdout) as { archived: string[]; skipped: number };
    assert.equal(r.archived.length, 1);
    assert.ok(r.skipped >= 1);
    const info = await dbtool(['info']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /binlogs binlog\.000001 \.\. binlog\.\d+/);
  });

  it('restores to a time between m1 and m2: m1 and not m2', async () => {
    const mid = new Date(m1Time.getTime() + Math.floor((m2Time.getTime() - m1Time.getTime()) / 2));
    const r = await restoreTo('by-time', ['--to-time', mid.toISOString()]);
    assert.deepEqual(await markers(r), ['m0', 'm1']);
    assert.deepEqual(await checksums({ socket: r.socket, user: 'root' }), afterM1);
    assert.match(r.stdout, /replayed binlogs/);
    await stopServerDir(r.dir);
  });

  it('restores to a binlog position between m1 and m2: m1 and not m2', async () => {
    const r = await restoreTo('by-position', ['--to-position', `${between.file}:${between.position}`]);
    assert.deepEqual(await markers(r), ['m0', 'm1']);
    await stopServerDir(r.dir);
  });

  it('restores to the GTID of m1 (included): m1 and not m2', async () => {
    const r = await restoreTo('by-gtid', ['--to-gtid', m1Gtid]);
    assert.deepEqual(await markers(r), ['m0', 'm1']);
    assert.match(r.stdout, new RegExp(`GTID ${m1Gtid} \\(included\\)`));
    await stopServerDir(r.dir);
  });

  it('refuses targets before the earliest backup and after the archived binlogs, writing nothing', async () => {
    const early = join(work, 'early');
    const r1 = await dbtool(['restore', '--target-dir', early, '--start', '--port', '1', '--to-time', '2001-01-01T00:00:00Z']);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /^dbtool: .*before the earliest backup/);
    assert.equal(r1.stderr.trim().split('\n').length, 1);
    const late = await dbtool(['restore', '--target-dir', early, '--start', '--port', '1', '--to-time', new Date(Date.now() + 3_600_000).toISOString()]);
    assert.equal(late.code, 2);
    assert.match(late.stderr, /after the archived binlogs/);
    const noTz = await dbtool(['restore', '--target-dir', early, '--start', '--port', '1', '--to-time', '2026-01-01 10:00:00']);
    assert.equal(noTz.code, 2);
    assert.match(noTz.stderr, /no time zone/);
    const farGtid = m1Gtid.replace(/-(\d+)$/, (_, n: string) => `-${Number(n) + 1000}`);
    const gtidLate = await dbtool(['restore', '--target-dir', early, '--start', '--port', '1', '--to-gtid', farGtid]);
    assert.equal(gtidLate.code, 2);
    assert.match(gtidLate.stderr, /target GTID .* is after the archived binlogs/);
    assert.ok(!readdirSync(work).includes('early'));
  });

  it('expire --keep-full 1 removes the old full and the binlogs before the new full, and restores still work', async () => {
    const b = await dbtool(['backup', '--json']);
    assert.equal(b.code, 0, b.stderr);
    const newFull = JSON.parse(b.stdout) as { label: string; binlog: { file: string } };
    assert.equal((await dbtool(['binlog-archive', '--once'])).code, 0);
    const e = await dbtool(['expire', '--keep-full', '1', '--json']);
    assert.equal(e.code, 0, e.stderr);
    const r = JSON.parse(e.stdout) as { plan: { keep: string[]; expire: string[] }; binlogs: { files: number; last: string } };
    assert.deepEqual(r.plan.keep, [newFull.label]);
    assert.equal(r.plan.expire.length, 1);
    assert.ok(r.binlogs.files >= 1 && r.binlogs.last < newFull.binlog.file, JSON.stringify(r.binlogs));
    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { binlogs: { from: string }; backups: Array<{ label: string; mysql: { fromLsn: string; binlog: { file: string } } }> };
    assert.equal(info.binlogs.from, newFull.binlog.file);
    assert.deepEqual(info.backups.map((x) => [x.label, x.mysql.fromLsn, x.mysql.binlog.file]), [[newFull.label, '0', newFull.binlog.file]]);
    // The current file is not archived yet: the target is out of range, refused before writing.
    const current = await dbtool(['restore', '--target-dir', join(work, 'after-expire'), '--start', '--port', '1', '--to-position', `${(await masterStatus()).file}:4`]);
    assert.equal(current.code, 2, current.stderr);
    assert.match(current.stderr, /after the archived binlogs/);
    await my.query("INSERT INTO app.markers (name, at) VALUES ('m3', now(6))");
    const m3At = await masterStatus();
    assert.equal((await dbtool(['binlog-archive', '--once'])).code, 0);
    const again = await restoreTo('after-expire-2', ['--to-position', `${m3At.file}:${m3At.position}`]);
    assert.deepEqual(await markers(again), ['m0', 'm1', 'm2', 'm3']);
    await stopServerDir(again.dir);
  });

  it('a gap in the archived binlogs: a target beyond it is refused naming the gap, writing nothing', async () => {
    // Three more archived files after the backup, then the middle one lost (in a copy of the repository).
    for (const name of ['g1', 'g2', 'g3']) {
      await my.query(`INSERT INTO app.markers (name, at) VALUES ('${name}', now(6))`);
      assert.equal((await dbtool(['binlog-archive', '--once'])).code, 0);
    }
    const copy = join(work, 'repo-gap');
    cpSync(repo, copy, { recursive: true });
    const dir = join(copy, 'archive', 'main', 'binlog');
    const files = readdirSync(dir).filter((n) => /^binlog\.\d+$/.test(n)).sort();
    assert.ok(files.length >= 4, files.join(' '));
    const lost = files[files.length - 2]!;
    rmSync(join(dir, lost));
    rmSync(join(dir, `${lost}.meta`));
    const last = files[files.length - 1]!;
    const target = join(work, 'beyond-gap');
    const r = await runDbtool(['--repo', copy, 'restore', '--target-dir', target, '--start', '--port', '1', '--to-position', `${last}:4`], { env: my.env, asUser: undefined });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /after the archived binlogs.*gap/);
    assert.ok(!readdirSync(work).includes('beyond-gap'));
    const info = JSON.parse((await runDbtool(['--repo', copy, 'info', '--json'], { env: my.env, asUser: undefined })).stdout) as { binlogs: { gaps: string[] } };
    assert.equal(info.binlogs.gaps.length, 1, JSON.stringify(info.binlogs));
  });
});
