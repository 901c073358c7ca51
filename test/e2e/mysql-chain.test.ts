// MariaDB physical backups end to end: full → writes → incr → writes → diff, each restored (chain
// applied) and started, with exactly the data it was taken with (CHECKSUM TABLE of every table).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checksums, startMariadb, stopServerDir, trackServerDir } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { freePort, makeTempDir, runDbtool } from '../harness/pg-cluster.js';

interface Taken {
  label: string;
  type: string;
  parent: string | null;
  fromLsn: string;
  toLsn: string;
  binlog?: { file: string; position: number };
  checksums: Record<string, string>;
}

describe('mysql: full, incr, diff backups and chain restores', () => {
  let my: TestMariadb;
  let work: string;
  let repo: string;
  const taken: Taken[] = [];
  // As root: the backup tool reads the data directory, and restore hands files to `mysql`.
  const dbtool = (args: string[], env: Record<string, string> = {}) => runDbtool(['--repo', repo, ...args], { env: { ...my.env, ...env }, asUser: undefined });

  async function take(type: string): Promise<Taken> {
    const r = await dbtool(['backup', '--type', type, '--json']);
    assert.equal(r.code, 0, r.stderr);
    // Nothing writes between the backup's end and this read: these are the data it holds.
    const t = { ...(JSON.parse(r.stdout) as Omit<Taken, 'checksums'>), checksums: await checksums(my.connection) };
    taken.push(t);
    return t;
  }

  before(async () => {
    my = await startMariadb();
    work = await makeTempDir('dbtool-mychain-');
    repo = join(work, 'repo');
    const init = await dbtool(['repo', 'init']);
    assert.equal(init.code, 0, init.stderr);
    await my.query(`CREATE DATABASE app;
      CREATE TABLE app.items (id int PRIMARY KEY, v varchar(64), n int) ENGINE=InnoDB;
      CREATE TABLE app.notes (id int AUTO_INCREMENT PRIMARY KEY, body text) ENGINE=InnoDB;
      CREATE TABLE app.flags (k varchar(16) PRIMARY KEY, on_off tinyint) ENGINE=Aria;
      INSERT INTO app.items SELECT seq, md5(seq), 0 FROM app.seq_1_to_20000;
      INSERT INTO app.flags VALUES ('a', 1), ('b', 0)`);
  });

  after(async () => {
    await my?.destroy();
    if (work) await stopServerDir(work);
  });

  it('takes full, incr and diff with the right parents and LSNs', async () => {
    const full = await take('full');
    assert.deepEqual([full.type, full.parent, full.fromLsn], ['full', null, '0']);
    assert.ok(full.binlog?.file.startsWith('binlog.'), JSON.stringify(full.binlog));
    await my.query("UPDATE app.items SET n = n + 1 WHERE id <= 500; INSERT INTO app.notes (body) VALUES ('after full'); UPDATE app.flags SET on_off = 1 WHERE k = 'b'");
    const incr = await take('incr');
    assert.deepEqual([incr.type, incr.parent, incr.fromLsn], ['incr', full.label, full.toLsn]);
    await my.query("DELETE FROM app.items WHERE id % 7 = 0; INSERT INTO app.notes (body) VALUES ('after incr'); CREATE TABLE app.late (id int PRIMARY KEY); INSERT INTO app.late VALUES (1), (2)");
    const diff = await take('diff');
    assert.deepEqual([diff.type, diff.parent, diff.fromLsn], ['diff', full.label, full.toLsn]);
    // Each backup holds different data.
    assert.notDeepEqual(full.checksums, incr.checksums);
    assert.notDeepEqual(incr.checksums, diff.checksums);
  });

  it('every backup restores to exactly its own data', async () => {
    assert.equal(taken.length, 3);
    for (const t of taken) {
      const target = join(work, `restore-${t.label}`);
      const port = await freePort();
      trackServerDir(target, join(target, 'mysqld.pid'));
      const r = await dbtool(['restore', '--backup', t.label, '--target-dir', target, '--start', '--port', String(port), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as { chain: string[]; server: { socket: string; pid: number } };
      assert.equal(res.chain[0], taken[0]!.label);
      assert.equal(res.chain[res.chain.length - 1], t.label);
      assert.equal(Number(readFileSync(join(target, 'mysqld.pid'), 'utf8').trim()), res.server.pid);
      assert.deepEqual(await checksums({ socket: res.server.socket, user: 'root' }), t.checksums, `backup ${t.label} (${t.type})`);
      await stopServerDir(target);
    }
  });

  it('connects through a MySQL option file alone (DB_DEFAULTS_FILE: socket and user in [client])', async () => {
    const file = join(work, 'my.cnf');
    writeFileSync(file, `[client]\nuser = root\nsocket = "${my.socket}"\n`, { mode: 0o600 });
    const r = await runDbtool(['--repo', repo, 'backup', '--type', 'incr', '--json'], { env: { DB_ENGINE: 'mysql', DB_DEFAULTS_FILE: file }, asUser: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { parent: string }).parent, taken[taken.length - 1]!.label);
  });

  it('verify --restore-test restores the newest backup, checks and reads every table', async () => {
    const r = await dbtool(['verify', '--restore-test', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { ok: boolean; checker: string; tables: Array<{ database: string; table: string; rows: number }> };
    assert.equal(rep.ok, true);
    assert.equal(rep.checker, 'CHECK TABLE');
    const [n] = await my.query<{ n: number }>('SELECT COUNT(*) AS n FROM app.items');
    assert.equal(rep.tables.find((t) => t.database === 'app' && t.table === 'items')?.rows, Number(n!.n));
    const text = await dbtool(['verify', '--restore-test']);
    assert.match(text.stdout, /CHECK TABLE clean/);
  });
});
