// The spine end to end with the built CLI: archive_command → wal-push, full backup over the
// replication protocol (two databases and a tablespace), restore + start, row checksums equal;
// then point-in-time recovery by time, LSN, xid, restore point and --immediate.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chown, mkdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveRunAs } from '../../src/core/os-user.js';
import { openInstance } from '../../src/engine/postgres/instance.js';
import type { PgInstance } from '../../src/engine/postgres/instance.js';
import { archivingFixture, freePort, runDbtool, switchAndArchive, tableChecksums, verifyRestoredFiles } from '../harness/pg-cluster.js';
import type { ArchivingFixture, TestCluster } from '../harness/pg-cluster.js';

const runAs = resolveRunAs();

describe('PostgreSQL spine: backup, WAL archive, restore, PITR', () => {
  let fx: ArchivingFixture;
  let work: string;
  let repo: string;
  let src: TestCluster;
  let env: Record<string, string>;
  const restored: PgInstance[] = [];
  let backupChecksums: Record<string, Record<string, string>>;
  let backupLabel: string;

  const dbtool = (args: string[], extraEnv: Record<string, string> = {}) => runDbtool(['--repo', repo, ...args], { env: { ...env, ...extraEnv } });

  async function restoreAndStart(name: string, args: string[], extraEnv: Record<string, string> = {}): Promise<PgInstance> {
    const port = await freePort();
    const target = join(work, name);
    const r = await dbtool(['restore', '--target-dir', target, '--tablespace-dir', join(work, `${name}-ts`), '--start', '--port', String(port), '--archive-mode', 'off', ...args], extraEnv);
    assert.equal(r.code, 0, `restore ${args.join(' ')} failed: ${r.stderr}`);
    const inst = openInstance({ dataDir: target, port });
    restored.push(inst);
    return inst;
  }

  async function markers(inst: PgInstance): Promise<string[]> {
    return (await inst.query<{ name: string }>('SELECT name FROM markers ORDER BY name')).map((r) => r.name);
  }

  before(async () => {
    fx = await archivingFixture('dbtool-spine-');
    ({ work, src, env } = fx);
    repo = fx.repo;

    const tsDir = join(src.baseDir, 'ts1');
    await mkdir(tsDir);
    if (runAs) await chown(tsDir, runAs.uid, runAs.gid);
    await src.query(`CREATE TABLESPACE ts1 LOCATION '${tsDir}'`);
    await src.query('CREATE DATABASE app');
    await src.query(`CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
      INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 20000) g;
      CREATE TABLE in_ts (id int, payload text) TABLESPACE ts1;
      INSERT INTO in_ts SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 5000) g;
      CREATE TABLE markers (name text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());`);
    await src.query(`CREATE TABLE orders (id bigserial PRIMARY KEY, item text, qty int);
      INSERT INTO orders (item, qty) SELECT 'item ' || g, g % 7 FROM generate_series(1, 30000) g;`, [], 'app');
  });

  after(async () => {
    for (const inst of restored) await inst.stop('immediate').catch(() => undefined);
    await fx?.destroy();
  });

  it('takes a full backup over the replication protocol and records it', async () => {
    backupChecksums = { postgres: await tableChecksums(src, 'postgres'), app: await tableChecksums(src, 'app') };
    const r = await dbtool(['backup', '--type', 'full', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { label: string; bytes: { database: number; new: number; stored: number } };
    assert.match(out.label, /^\d{8}T\d{6}Z-F$/);
    backupLabel = out.label;
    assert.ok(out.bytes.database > 20_000_000, 'the whole cluster was read');
    assert.ok(out.bytes.stored < out.bytes.new, 'chunks were compressed');

    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as {
      backups: Array<Record<string, unknown>>;
      restorableWindow: { from: string; to: string } | null;
    };
    assert.equal(info.backups.length, 1);
    const b = info.backups[0]!;
    for (const key of ['label', 'type', 'parent', 'startTime', 'stopTime', 'engine', 'startLsn', 'stopLsn', 'timeline', 'databaseBytes', 'newBytes', 'storedBytes', 'uniqueBytes']) {
      assert.ok(key in b, `info --json backups[] has ${key}`);
    }
    assert.equal(b.type, 'full');
    assert.equal(b.engine, 'postgres');
    assert.match(String(b.stopTime), /Z$/);
    assert.ok(info.restorableWindow, 'a restorable window exists after the first backup');
  });

  it('restores the backup; every table in both databases and the tablespace matches', async () => {
    const inst = await restoreAndStart('restore-full', ['--immediate']);
    assert.equal((await stat(join(work, 'restore-full'))).mode & 0o777, 0o700, 'target directory is 0700');
    assert.equal((await stat(join(work, 'restore-full', 'base'))).mode & 0o777, 0o700, 'directories are 0700');
    assert.equal((await stat(join(work, 'restore-full', 'PG_VERSION'))).mode & 0o777, 0o600, 'files are 0600');
    assert.deepEqual(await tableChecksums(inst, 'postgres'), backupChecksums.postgres);
    assert.deepEqual(await tableChecksums(inst, 'app'), backupChecksums.app);
    const [ts] = await inst.query<{ loc: string }>("SELECT pg_tablespace_location(oid) AS loc FROM pg_tablespace WHERE spcname = 'ts1'");
    assert.equal(ts?.loc.startsWith(join(work, 'restore-full-ts')), true, 'the tablespace lives where it was mapped');
  });

  it('restores without starting: every file matches the server\'s backup_manifest (pg_verifybackup)', async () => {
    const target = join(work, 'restore-files');
    const r = await dbtool(['restore', '--target-dir', target, '--tablespace-dir', join(work, 'restore-files-ts'), '--immediate']);
    assert.equal(r.code, 0, r.stderr);
    // A mapped tablespace is linked at the server's first start, from tablespace_map (which names
    // the new place): until then its files are not under pg_tblspc. Its table is checked above.
    await verifyRestoredFiles(target, ['tablespace_map', 'pg_tblspc']);
  });

  describe('point-in-time recovery', () => {
    let between: { time: string; lsn: string; xid: string };

    before(async () => {
      await src.query("INSERT INTO markers (name) VALUES ('m1')");
      // The xid of m1's own transaction, for an inclusive xid target that stops right after it.
      const [x] = await src.query<{ xid: string }>("WITH i AS (INSERT INTO markers (name) VALUES ('m1x') RETURNING 1) SELECT pg_current_xact_id()::text AS xid FROM i");
      await src.query("SELECT pg_create_restore_point('after_m1')");
      await sleep(1100);
      const [p] = await src.query<{ t: Date; lsn: string }>('SELECT clock_timestamp() AS t, pg_current_wal_lsn()::text AS lsn');
      between = { time: p!.t.toISOString(), lsn: p!.lsn, xid: x!.xid };
      await sleep(1100);
      await src.query("INSERT INTO markers (name) VALUES ('m2')");
      await sleep(1100);
      await src.query("INSERT INTO markers (name) VALUES ('m3')");
      await switchAndArchive(src);
    });

    it('by time', async () => {
      assert.deepEqual(await markers(await restoreAndStart('pitr-time', ['--to-time', between.time])), ['m1', 'm1x']);
    });

    it('by time, with TZ set elsewhere and the target in a third zone', async () => {
      // between.time is UTC; say the same instant at +05:30 while the process runs in New York.
      const t = new Date(new Date(between.time).getTime() + 5.5 * 3600_000).toISOString().replace('Z', '+05:30');
      const inst = await restoreAndStart('pitr-tz', ['--to-time', t], { TZ: 'America/New_York' });
      assert.deepEqual(await markers(inst), ['m1', 'm1x']);
    });

    it('by LSN, pausing at the target', async () => {
      const inst = await restoreAndStart('pitr-lsn', ['--to-lsn', between.lsn, '--target-action', 'pause']);
      assert.deepEqual(await markers(inst), ['m1', 'm1x']);
      const [r] = await inst.query<{ rec: boolean; state: string }>('SELECT pg_is_in_recovery() AS rec, pg_get_wal_replay_pause_state() AS state');
      assert.deepEqual(r, { rec: true, state: 'paused' });
    });

    it('--target-action shutdown stops the server at the target and says so', async () => {
      const port = await freePort();
      const r = await dbtool(['restore', '--target-dir', join(work, 'pitr-shutdown'), '--tablespace-dir', join(work, 'pitr-shutdown-ts'), '--to-lsn', between.lsn, '--target-action', 'shutdown', '--start', '--port', String(port), '--archive-mode', 'off', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { recovery: { state: string; lsn: string } };
      assert.equal(out.recovery.state, 'shutdown');
      assert.ok(!existsSync(join(work, 'pitr-shutdown', 'postmaster.pid')), 'the server is not running');
    });

    it('by xid', async () => {
      assert.deepEqual(await markers(await restoreAndStart('pitr-xid', ['--to-xid', between.xid])), ['m1', 'm1x']);
    });

    it('by restore point name', async () => {
      assert.deepEqual(await markers(await restoreAndStart('pitr-name', ['--to-name', 'after_m1'])), ['m1', 'm1x']);
    });

    it('--immediate yields the backup point itself', async () => {
      assert.deepEqual(await markers(await restoreAndStart('pitr-immediate', ['--immediate', '--backup', backupLabel])), []);
    });

    it('latest replays the whole archive', async () => {
      assert.deepEqual(await markers(await restoreAndStart('pitr-latest', [])), ['m1', 'm1x', 'm2', 'm3']);
    });
  });
});
