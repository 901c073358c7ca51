// sample-data and the console for a MySQL/MariaDB source, end to end: the built CLI against a
// throwaway MariaDB (as root, like the other MySQL e2e tests), commands piped into stdin.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isValidIsbn13 } from '../../src/command/sample-data/books.js';
import { startMariadb, stopServerDir } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { makeTempDir, runDbtool } from '../harness/pg-cluster.js';

function assertOneLine(r: { code: number; stderr: string }, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, /^dbtool: /);
  assert.match(lines[0]!, pattern);
}

describe('mysql: sample-data and the console', () => {
  let my: TestMariadb;
  let work: string;
  const env = () => ({ ...my.env, DB_NAME: 'shop' });
  const dbtool = (args: string[], extra: Record<string, string> = {}, input?: string) =>
    runDbtool(args, { env: { ...env(), ...extra }, asUser: undefined, ...(input === undefined ? {} : { input }) });

  before(async () => {
    my = await startMariadb();
    work = await makeTempDir('dbtool-myconsole-');
    await my.query('CREATE DATABASE shop');
  });

  after(async () => {
    await my?.destroy();
    if (work) await stopServerDir(work);
  });

  it('sample-data: bad numbers are one usage line and exit 2; N rows land in batches of B', async () => {
    for (const [flag, value] of [['--rows', '0'], ['--rows', '-5'], ['--rows', 'abc'], ['--batch-size', '0'], ['--batch-size', 'x1']]) {
      assertOneLine(await dbtool(['sample-data', flag!, value!]), 2, new RegExp(`${flag} .*'${value}' is invalid`));
    }
    const none = await my.query<{ n: number }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'shop' AND table_name = 'books'");
    assert.equal(Number(none[0]!.n), 0, 'bad input created nothing');
    assertOneLine(await runDbtool(['sample-data', '--rows', '10'], { env: my.env, asUser: undefined }), 2, /needs a database for SQL and sample data/);

    const a = await dbtool(['sample-data', '--rows', '500', '--batch-size', '1000']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /loaded 500 rows into books in 1 batch\(es\).*the table has 500 rows/);
    const b = await dbtool(['sample-data', '--rows', '2500', '--batch-size', '1000', '--seed', '9', '--json']);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual({ ...JSON.parse(b.stdout), seconds: 0, rowsPerSecond: 0 }, { rows: 2500, batches: 3, seconds: 0, rowsPerSecond: 0, tableRows: 3000 });
    const rows = await my.query<{ isbn: string; title: string; price: string; published_year: number; author: string }>('SELECT isbn, title, CAST(price AS char) AS price, published_year, author FROM shop.books ORDER BY id');
    assert.equal(rows.length, 3000);
    assert.ok(rows.every((r) => isValidIsbn13(r.isbn)), 'every ISBN-13 has a valid check digit');
    assert.ok(rows.every((r) => /^\d+\.\d\d$/.test(r.price)), 'prices exact with two places');
    assert.ok(new Set(rows.map((r) => r.title)).size > 200, 'titles vary');
    assert.ok(rows.some((r) => /[^\x20-\x7e]/.test(r.author)), 'non-ASCII names kept (utf8mb4)');
    // The same seed gives the same rows in either engine's table.
    const again = await dbtool(['sample-data', '--rows', '500', '--seed', '1', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const pair = await my.query<{ same: number }>('SELECT count(*) AS same FROM shop.books a JOIN shop.books b ON b.id = a.id + 3000 WHERE a.id <= 500 AND a.isbn = b.isbn AND a.title = b.title');
    assert.equal(Number(pair[0]!.same), 500);
  });
});
