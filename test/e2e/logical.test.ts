// Logical backups end to end with the built CLI: pg_dumpall + pg_dump -Fd into the repository,
// pg_restore into new databases on the same cluster, checksums equal the source's; a non-empty
// target is refused without --clean and replaced with it; bad input gives one clear line.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chown, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { resolveRunAs, spawnOptionsFor } from '../../src/core/os-user.js';
import type { PgInstance } from '../../src/engine/postgres/instance.js';
import { makeTempDir, runDbtool, stageDbtool, startCluster, tableChecksums } from '../harness/pg-cluster.js';
import type { TestCluster } from '../harness/pg-cluster.js';
import { assertOneLine } from '../harness/assert-one-line.js';
import { withDamagedChunk } from '../harness/damaged-chunk.js';
import type { ManifestFile } from '../../src/repo/manifest.js';

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


/** What tableChecksums does not see: sequences, a view's rows, large objects. */
async function extras(inst: Pick<PgInstance, 'query'>, database: string): Promise<Record<string, string>> {
  const [r] = await inst.query<{ seqs: string; view: string; los: string }>(
    `SELECT (SELECT string_agg(format('%s.%s=%s/%s', schemaname, sequencename, last_value, is_called_text), ',' ORDER BY schemaname, sequencename)
               FROM (SELECT *, (last_value IS NOT NULL)::text AS is_called_text FROM pg_sequences) s) AS seqs,
            (SELECT count(*) || ':' || md5(coalesce(string_agg(v::text, ',' ORDER BY v::text), '')) FROM big_accounts v) AS view,
            (SELECT coalesce(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid), '') FROM pg_largeobject_metadata) AS los`,
    [],
    database,
  );
  return { seqs: r?.seqs ?? '', view: r?.view ?? '', los: r?.los ?? '' };
}

describe('logical backup and restore (PostgreSQL)', () => {
  let src: TestCluster;
  let work: string;
  let repo: string;
  let tmp: string;
  let env: Record<string, string>;
  let label: string;
  let physicalLabel: string;
  let shopLabel: string;
  let passwordLabel: string;
  const source: Record<string, { tables: Record<string, string>; extras?: Record<string, string> }> = {};

  const dbtool = (args: string[], extraEnv: Record<string, string> = {}) => runDbtool(['--repo', repo, ...args], { env: { ...env, ...extraEnv } });

  before(async () => {
    src = await startCluster();
    work = await makeTempDir('dbtool-logical-', runAs);
    repo = join(work, 'repo');
    // The CLI's temp dir (pg_dump -Fd, pg_restore): checked empty after every command.
    tmp = join(work, 'tmp');
    await mkdir(tmp);
    if (runAs) await chown(tmp, runAs.uid, runAs.gid);
    env = { PGHOST: '127.0.0.1', PGPORT: String(src.port), PGUSER: 'postgres', TMPDIR: tmp };
    const init = await dbtool(['repo', 'init']);
    assert.equal(init.code, 0, init.stderr);

    await src.query('CREATE DATABASE app');
    await src.query('CREATE DATABASE shop');
    await src.psql(
      `CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
       INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 20000) g;
       CREATE TABLE orders (id bigserial PRIMARY KEY, account int REFERENCES accounts, item text);
       INSERT INTO orders (account, item) SELECT 1 + g % 20000, 'item ' || g FROM generate_series(1, 30000) g;
       CREATE VIEW big_accounts AS SELECT id, owner FROM accounts WHERE balance > 29000;
       CREATE SCHEMA sales;
       CREATE TABLE sales."Mixed Case" (k text PRIMARY KEY, v bytea);
       INSERT INTO sales."Mixed Case" SELECT 'k' || g, decode(repeat(md5(g::text), 50), 'hex') FROM generate_series(1, 500) g;
       CREATE SEQUENCE ticket_seq START 100;
       SELECT nextval('ticket_seq'), nextval('ticket_seq'), nextval('ticket_seq');
       SELECT lo_from_bytea(0, convert_to(repeat('a large object ', 20000), 'UTF8'));`,
      'app',
    );
    await src.psql(`CREATE TABLE items (sku text PRIMARY KEY, qty int); INSERT INTO items SELECT 'sku-' || g, g % 13 FROM generate_series(1, 5000) g;`, 'shop');
    source.app = { tables: await tableChecksums(src, 'app'), extras: await extras(src, 'app') };
    source.shop = { tables: await tableChecksums(src, 'shop') };
  });

  after(async () => {
    await src?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('backup --type logical dumps the globals and every database, and leaves no temp copy behind', async () => {
    const r = await dbtool(['backup', '--type', 'logical', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { label: string; type: string; parent: string | null; databases: string[]; startLsn?: string; bytes: { database: number; stored: number } };
    assert.match(out.label, /^\d{8}T\d{6}Z-L$/);
    assert.equal(out.type, 'logical');
    assert.equal(out.parent, null);
    assert.equal(out.startLsn, undefined);
    assert.deepEqual(out.databases, ['app', 'postgres', 'shop']);
    assert.ok(out.bytes.database > 1_000_000, 'the data was dumped');
    assert.ok(out.bytes.stored < out.bytes.database, 'the uncompressed dump was compressed in the repository');
    label = out.label;
    assert.deepEqual(await readdir(tmp), [], 'the pg_dump directory was removed');
  });

  it('info lists it as logical, without LSNs, and it is no PITR base', async () => {
    const r = await dbtool(['info', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { backups: Array<Record<string, unknown>>; chains: unknown[]; restorableWindow: unknown };
    assert.equal(info.backups.length, 1);
    const b = info.backups[0]!;
    assert.equal(b.label, label);
    assert.equal(b.type, 'logical');
    assert.equal(b.engine, 'postgres');
    assert.equal(b.startLsn, undefined);
    assert.deepEqual(b.databases, ['app', 'postgres', 'shop']);
    assert.equal(info.restorableWindow, null);
    assert.deepEqual(info.chains, []);
    const text = await dbtool(['info']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${label}\\s+logical`));
  });

  it('a physical restore is refused while there are only logical backups', async () => {
    assertOneLine(await dbtool(['restore', '--target-dir', join(work, 'nowhere')]), 2, /only logical backups.*--into-database NAME/);
  });

  it('verify reads every chunk of it', async () => {
    const r = await dbtool(['verify', '--backup', label, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout) as { ok: boolean; chunksChecked: number };
    assert.equal(report.ok, true);
    assert.ok(report.chunksChecked > 0);
  });

  it('restores one database into a new one: tables, sequences, the view and the large object equal the source', async () => {
    const r = await dbtool(['restore', '--into-database', 'app_copy', '--from-database', 'app', '--jobs', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /restored database 'app' of logical backup .*-L into database 'app_copy'/);
    assert.deepEqual(await tableChecksums(src, 'app_copy'), source.app!.tables);
    assert.deepEqual(await extras(src, 'app_copy'), source.app!.extras);
    assert.deepEqual(await readdir(tmp), [], 'the pg_restore directory was removed');
  });

  it('restores another database of the backup under another name (newest logical backup, no --backup)', async () => {
    const r = await dbtool(['restore', '--into-database', 'shop2', '--from-database', 'shop']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await tableChecksums(src, 'shop2'), source.shop!.tables);
  });

  it('refuses a database that holds tables without --clean, with one clear line and exit 2', async () => {
    await src.query("INSERT INTO accounts VALUES (999999, 'extra', 0); CREATE TABLE leftover (x int)", [], 'app_copy');
    const before = await tableChecksums(src, 'app_copy');
    const snap = await snapshot(repo);
    const r = await dbtool(['restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app']);
    assertOneLine(r, 2, /database 'app_copy' already holds tables.*--clean/);
    assert.deepEqual(await tableChecksums(src, 'app_copy'), before, 'the database was not touched');
    assert.deepEqual(await snapshot(repo), snap, 'the repository was not touched');
  });

  it('--clean drops and recreates it: exactly the backup again', async () => {
    const r = await dbtool(['restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app', '--clean', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { clean: boolean }).clean, true);
    assert.deepEqual(await tableChecksums(src, 'app_copy'), source.app!.tables, 'the extra row and the extra table are gone');
    assert.deepEqual(await extras(src, 'app_copy'), source.app!.extras);
  });

  it('connects with a password from the settings (libpq environment of the tools), and refuses a wrong one', async () => {
    await src.query("CREATE ROLE dumper SUPERUSER LOGIN PASSWORD 'se cret'");
    const hba = join(src.dataDir, 'pg_hba.conf');
    await writeFile(hba, `host all dumper 127.0.0.1/32 scram-sha-256\n${await readFile(hba, 'utf8')}`);
    await src.query('SELECT pg_reload_conf()');
    const r = await dbtool(['backup', '--type', 'logical', '--database', 'shop', '--json'], { PGUSER: 'dumper', PGPASSWORD: 'se cret' });
    assert.equal(r.code, 0, r.stderr);
    passwordLabel = (JSON.parse(r.stdout) as { label: string }).label;
    const bad = await dbtool(['backup', '--type', 'logical', '--database', 'shop'], { PGUSER: 'dumper', PGPASSWORD: 'wrong' });
    assertOneLine(bad, 2, /authentication as 'dumper' to 127\.0\.0\.1:\d+ failed/);
  });

  it('a failing pg_dump: one line naming its error, exit 1, no backup, no temp copy left', async () => {
    // pg_read_all_data reads tables but not large objects: pg_dump of app fails half-way.
    await src.query('CREATE ROLE limited LOGIN; GRANT pg_read_all_data TO limited');
    const before = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: unknown[] };
    const r = await dbtool(['--quiet', 'backup', '--type', 'logical', '--database', 'app'], { PGUSER: 'limited' });
    assertOneLine(r, 1, /pg_dump failed \(exit 1\):.*permission denied for large object/);
    const afterInfo = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: unknown[] };
    assert.equal(afterInfo.backups.length, before.backups.length, 'no manifest was written');
    assert.deepEqual(await readdir(tmp), [], 'the pg_dump directory was removed');
  });

  it('--clean refuses to drop a database others are connected to, and leaves it as it was', async () => {
    const client = new pg.Client(src.clientConfig('app_copy'));
    await client.connect();
    try {
      const r = await dbtool(['--quiet', 'restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app', '--clean']);
      assertOneLine(r, 1, /database 'app_copy' cannot be dropped for --clean: other sessions are connected to it/);
      assert.deepEqual(await tableChecksums(src, 'app_copy'), source.app!.tables);
    } finally {
      await client.end();
    }
  });

  it('SIGTERM during pg_dump: the temp copy is removed, no backup is written', async () => {
    // A session holding a table lock makes pg_dump wait, so the signal lands while it runs.
    const locker = new pg.Client(src.clientConfig('app'));
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE');
      const before = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: unknown[] };
      const bin = await stageDbtool();
      const child = spawn(process.execPath, [bin, '--repo', repo, '--quiet', 'backup', '--type', 'logical', '--database', 'app'], {
        ...spawnOptionsFor(runAs, { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }),
        cwd: dirname(bin),
        stdio: 'ignore',
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
      const deadline = Date.now() + 60_000;
      while (!(await readdir(tmp)).some((n) => n.startsWith('dbtool-pgdump-'))) {
        assert.ok(Date.now() < deadline, 'pg_dump started within a minute');
        await sleep(20);
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 'SIGTERM', 'dbtool died of the signal after cleaning up');
      assert.deepEqual(await readdir(tmp), [], 'the pg_dump directory was removed');
      const afterInfo = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: unknown[] };
      assert.equal(afterInfo.backups.length, before.backups.length, 'no manifest was written');
    } finally {
      // The orphaned pg_dump waits on the lock: end its sessions, then release the lock.
      await locker.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dbtool' AND pid <> pg_backend_pid()");
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('backup --database dumps only that one', async () => {
    const r = await dbtool(['backup', '--type', 'logical', '--database', 'shop', '--jobs', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { label: string; databases: string[] };
    assert.deepEqual(out.databases, ['shop']);
    shopLabel = out.label;
    // With one database in the backup, --from-database is not needed.
    const r2 = await dbtool(['restore', '--into-database', 'shop3']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(await tableChecksums(src, 'shop3'), source.shop!.tables);
  });

  describe('bad input: one clear line, exit 2, repository unchanged', () => {
    let snap: string[];

    before(async () => {
      const r = await dbtool(['backup', '--type', 'full', '--json']);
      assert.equal(r.code, 0, r.stderr);
      physicalLabel = (JSON.parse(r.stdout) as { label: string }).label;
      snap = await snapshot(repo);
    });

    after(async () => {
      assert.deepEqual(await snapshot(repo), snap, 'no bad input changed the repository');
      assert.deepEqual(await readdir(tmp), [], 'no temp copy was left behind');
    });

    it('an unknown database to back up', async () => {
      assertOneLine(await dbtool(['backup', '--type', 'logical', '--database', 'nope']), 2, /database 'nope' does not exist.*Choose one of: app, /);
    });

    it('an unknown database to restore from', async () => {
      assertOneLine(await dbtool(['restore', '--backup', label, '--into-database', 'x', '--from-database', 'nope']), 2, /holds no database 'nope'.*app, postgres, shop/);
    });

    it('several databases in the backup and no --from-database', async () => {
      assertOneLine(await dbtool(['restore', '--backup', label, '--into-database', 'x']), 2, /holds 3 databases.*--from-database/);
    });

    it('--into-database with a physical backup', async () => {
      assertOneLine(await dbtool(['restore', '--backup', physicalLabel, '--into-database', 'x']), 2, /physical \(full\) backup.*--target-dir/);
    });

    it('--target-dir with a logical backup', async () => {
      assertOneLine(await dbtool(['restore', '--backup', label, '--target-dir', join(work, 'nowhere')]), 2, /logical dump.*--into-database/);
    });

    it('--into-database with --target-dir or PITR flags', async () => {
      assertOneLine(await dbtool(['restore', '--into-database', 'x', '--target-dir', join(work, 'nowhere')]), 2, /--target-dir cannot be used with --into-database/);
      assertOneLine(await dbtool(['restore', '--into-database', 'x', '--to-time', '2026-01-01T00:00:00Z', '--start']), 2, /--to-time, --start cannot be used with --into-database/);
    });

    it('--clean without --into-database, and neither target', async () => {
      assertOneLine(await dbtool(['restore', '--target-dir', join(work, 'nowhere'), '--clean']), 2, /--clean need\(s\) --into-database/);
      assertOneLine(await dbtool(['restore']), 2, /--target-dir DIR .* or --into-database NAME/);
    });

    it('non-numeric --jobs', async () => {
      assertOneLine(await dbtool(['restore', '--into-database', 'x', '--jobs', 'two']), 2, /--jobs must be a whole number/);
      assertOneLine(await dbtool(['backup', '--type', 'logical', '--jobs', '0']), 2, /--jobs must be between 1 and 64/);
    });

    it('--database with a physical backup type', async () => {
      assertOneLine(await dbtool(['backup', '--type', 'full', '--database', 'app']), 2, /--database and --jobs are for --type logical/);
      assertOneLine(await dbtool(['backup', '--type', 'logical', '--max-rate', '1000']), 2, /--checkpoint and --max-rate are for physical backups/);
    });
  });

  it('a damaged chunk fails the restore before --clean drops anything', async () => {
    const pick = (files: ManifestFile[]) => files.find((f) => f.path.startsWith('databases/app/') && (f.chunks?.length ?? 0) > 0 && f.size > 100_000)!.chunks![0]!;
    await withDamagedChunk(repo, label, pick, async () => {
      const before = await tableChecksums(src, 'app_copy');
      const r = await dbtool(['--quiet', 'restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app', '--clean']);
      assertOneLine(r, 1, /chunk [0-9a-f]{64} of file databases\/app\/.* is corrupt/);
      assert.deepEqual(await tableChecksums(src, 'app_copy'), before, 'the target database was not dropped');
      assert.deepEqual(await readdir(tmp), [], 'the pg_restore directory was removed');
    });
  });

  it('expire: --keep-full leaves logical backups alone, --keep-logical 1 removes the older one', async () => {
    const dry = await dbtool(['expire', '--keep-full', '1', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual((JSON.parse(dry.stdout) as { plan: { expire: string[] } }).plan.expire, []);
    const r = await dbtool(['expire', '--keep-logical', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { plan: { expire: string[] } }).plan.expire, [label, passwordLabel]);
    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: Array<{ label: string }> };
    assert.deepEqual(info.backups.map((b) => b.label), [shopLabel, physicalLabel]);
    const v = await dbtool(['verify', '--backup', shopLabel]);
    assert.equal(v.code, 0, `the kept logical backup still has all its chunks: ${v.stdout}${v.stderr}`);
  });
});
