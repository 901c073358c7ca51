// The MySQL logical dumper and loader against a throw-away MariaDB: dump every user database
// (streams of unknown length), load one into a new database and over itself with clean; same data,
// routines and triggers included.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { MysqlLogicalDumper, MysqlLogicalLoader } from '../../src/engine/mysql/logical.js';
import { checksums, startMariadb } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';

describe('mysql logical dump and load', () => {
  let my: TestMariadb;
  const stored = new Map<string, Buffer>();

  before(async () => {
    my = await startMariadb({ binlog: false });
    await my.query(`CREATE DATABASE app; CREATE DATABASE other;
      CREATE TABLE app.items (id int PRIMARY KEY, v varchar(64), b blob);
      INSERT INTO app.items SELECT seq, md5(seq), unhex(md5(seq)) FROM app.seq_1_to_3000;
      CREATE TABLE app.audit (id int AUTO_INCREMENT PRIMARY KEY, item int);
      USE app;
      CREATE TRIGGER items_ai AFTER INSERT ON items FOR EACH ROW INSERT INTO audit (item) VALUES (NEW.id);
      CREATE FUNCTION twice(x int) RETURNS int DETERMINISTIC RETURN x * 2;
      CREATE TABLE other.t (k varchar(8) PRIMARY KEY); INSERT INTO other.t VALUES ('x')`);
  });

  after(async () => {
    await my?.destroy();
  });

  it('dumps every user database as an entry of unknown size', async () => {
    const dumper = new MysqlLogicalDumper(my.connection);
    const info = await dumper.info();
    assert.deepEqual([...info.databases].sort(), ['app', 'other']);
    assert.match(info.tool, /mariadb-dump|mysqldump/i);
    assert.match(info.serverVersion, /MariaDB/);
    for await (const e of dumper.entries()) {
      assert.equal(e.size, undefined);
      const parts: Buffer[] = [];
      for await (const p of e.data) parts.push(p);
      stored.set(e.path, Buffer.concat(parts));
    }
    assert.deepEqual([...stored.keys()].sort(), ['databases/app.sql', 'databases/other.sql']);
    assert.match(stored.get('databases/app.sql')!.toString('utf8'), /CREATE.*TRIGGER items_ai/);
  });

  it('loads a database into a new one and over itself (clean) with the same data', async () => {
    const loader = new MysqlLogicalLoader(my.connection);
    const checked: string[] = [];
    const check = (p: string) => {
      checked.push(p);
      return Promise.resolve();
    };
    const base = { fromDatabase: 'app', jobs: 1, paths: [...stored.keys()], read: (p: string) => Readable.from([stored.get(p)!]), check, materialise: () => Promise.resolve() };
    assert.equal(await loader.isNonEmpty('app'), true);
    assert.equal(await loader.isNonEmpty('app_copy'), false);
    await loader.load({ ...base, intoDatabase: 'app_copy', clean: false });
    assert.deepEqual(checked, [], 'into an empty database the dump is read once');
    const sums = await checksums(my.connection);
    assert.equal(sums['app_copy.items'], sums['app.items']);
    assert.equal(sums['app_copy.audit'], sums['app.audit']);
    const [twice] = await my.query<{ v: number }>('SELECT app_copy.twice(21) AS v');
    assert.equal(Number(twice!.v), 42);
    // The trigger came along too.
    await my.query("INSERT INTO app_copy.items VALUES (99999, 'new', NULL)");
    const [audit] = await my.query<{ n: number }>('SELECT COUNT(*) AS n FROM app_copy.audit WHERE item = 99999');
    assert.equal(Number(audit!.n), 1);

    await my.query('DELETE FROM app.items WHERE id < 100');
    await loader.load({ ...base, intoDatabase: 'app', clean: true });
    assert.deepEqual(checked, ['databases/app.sql'], 'with --clean the dump is checked before the drop');
    const again = await checksums(my.connection);
    assert.equal(again['app.items'], sums['app.items']);
    await assert.rejects(loader.load({ ...base, fromDatabase: 'nope', intoDatabase: 'x', clean: false }), /holds no database 'nope'/);
  });
});
