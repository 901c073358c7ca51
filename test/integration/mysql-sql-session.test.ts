// MysqlSqlSession against a throw-away MariaDB: rows streamed in batches as exact text, awkward
// values round-trip, bulk loads land in one transaction per call, bad statements are SQL_FAILED.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDbtoolError } from '../../src/core/errors.js';
import { MysqlSqlSession, commandWord, mysqlLiteral } from '../../src/engine/mysql/sql-session.js';
import type { SqlValue } from '../../src/engine/sql-session.js';
import { startMariadb } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';

describe('mysql sql session', () => {
  let my: TestMariadb;
  let s: MysqlSqlSession;

  before(async () => {
    my = await startMariadb({ binlog: false });
    await my.query('CREATE DATABASE app');
    s = await MysqlSqlSession.open({ ...my.connection, database: 'app' });
  });

  after(async () => {
    await s?.close();
    await my?.destroy();
  });

  it('names statements by their first word', () => {
    assert.equal(commandWord('  select 1'), 'SELECT');
    assert.equal(commandWord('/* c */ insert into t values (1)'), 'INSERT');
    assert.equal(mysqlLiteral("a'b\\c\n"), "'a\\'b\\\\c\\n'");
    assert.equal(mysqlLiteral(null), 'NULL');
  });

  it('streams rows in batches, in order, as text', async () => {
    await s.execute('CREATE TABLE t (id int PRIMARY KEY, price decimal(8,2), d date, note text)');
    await s.execute("INSERT INTO t SELECT seq, seq + 0.5, '2024-02-29', NULL FROM seq_1_to_2500");
    const sizes: number[] = [];
    const ids: SqlValue[] = [];
    let columns: string[] = [];
    const out = await s.stream('SELECT id, price, d, note FROM t ORDER BY id', 1000, async (b) => {
      columns = b.columns;
      sizes.push(b.rows.length);
      for (const r of b.rows) ids.push(r[0]!);
      await new Promise((r) => setTimeout(r, 5));
    });
    assert.deepEqual(sizes, [1000, 1000, 500]);
    assert.deepEqual(columns, ['id', 'price', 'd', 'note']);
    assert.equal(ids.length, 2500);
    assert.equal(ids[0], '1');
    assert.equal(ids[2499], '2500');
    assert.deepEqual(out, { command: 'SELECT', rowCount: 2500 });
    const first: SqlValue[][] = [];
    await s.stream('SELECT price, d, note FROM t WHERE id = 7', 10, (b) => void first.push(...b.rows));
    assert.deepEqual(first, [['7.50', '2024-02-29', null]]);
  });

  it('calls back once with the columns when there are no rows', async () => {
    const batches: Array<{ columns: string[]; n: number }> = [];
    const out = await s.stream('SELECT id FROM t WHERE id < 0', 100, (b) => void batches.push({ columns: b.columns, n: b.rows.length }));
    assert.deepEqual(batches, [{ columns: ['id'], n: 0 }]);
    assert.equal(out.rowCount, 0);
  });

  it('reports affected rows for statements without a result set', async () => {
    const out = await s.stream('UPDATE t SET note = x WHERE id <= 10'.replace('x', "'n'"), 100, () => undefined);
    assert.deepEqual(out, { command: 'UPDATE', rowCount: 10 });
  });

  it('loads rows with awkward values exactly', async () => {
    await s.execute('CREATE TABLE l (id int AUTO_INCREMENT PRIMARY KEY, a text, b int, c decimal(8,2))');
    const rows: Array<Array<string | number | null>> = [
      ['comma, "quote"\nnewline', 1, '1.99'],
      [null, null, null],
      ["back\\slash 'single' é \0 nul", -5, '0.00'],
    ];
    for (let i = 0; i < 20000; i++) rows.push([`row ${i}`, i, '9.50']);
    assert.equal(await s.load('l', ['a', 'b', 'c'], rows), rows.length);
    const got: SqlValue[][] = [];
    await s.stream('SELECT a, b, c FROM l WHERE id <= 3 ORDER BY id', 10, (b) => void got.push(...b.rows));
    assert.deepEqual(got, [
      ['comma, "quote"\nnewline', '1', '1.99'],
      [null, null, null],
      ["back\\slash 'single' é \0 nul", '-5', '0.00'],
    ]);
    let count = '';
    await s.stream('SELECT count(*) FROM l', 1, (b) => void (count = b.rows[0]?.[0] ?? ''));
    assert.equal(count, String(rows.length));
  });

  it('a failed load leaves nothing behind', async () => {
    await assert.rejects(s.load('l', ['a', 'b'], [['ok', 1], ['bad', 'not a number']]), (e) => isDbtoolError(e) && e.code === 'SQL_FAILED');
    let n = '';
    await s.stream("SELECT count(*) FROM l WHERE a = 'ok'", 1, (b) => void (n = b.rows[0]?.[0] ?? ''));
    assert.equal(n, '0');
  });

  it('a bad statement is SQL_FAILED and the session goes on', async () => {
    await assert.rejects(s.stream('SELEC 1', 10, () => undefined), (e) => isDbtoolError(e) && e.code === 'SQL_FAILED' && /SQLSTATE 42000/.test(e.message));
    await assert.rejects(s.stream('SELECT * FROM missing', 10, () => undefined), (e) => isDbtoolError(e) && e.code === 'SQL_FAILED');
    await assert.rejects(s.execute('CREATE TABLE t (x int)'), (e) => isDbtoolError(e) && e.code === 'SQL_FAILED');
    const got: SqlValue[][] = [];
    await s.stream('SELECT 1 + 1', 10, (b) => void got.push(...b.rows));
    assert.deepEqual(got, [['2']]);
  });
});
