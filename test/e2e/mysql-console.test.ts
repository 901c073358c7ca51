// sample-data and the console for a MySQL/MariaDB source, end to end: the built CLI against a
// throwaway MariaDB (as root, like the other MySQL e2e tests), commands piped into stdin.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { parse as parseStream } from 'csv-parse';
import { isValidIsbn13 } from '../../src/command/sample-data/books.js';
import { checksumTables, startMariadb, stopServerDir, trackServerDir } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { connectMysql } from '../../src/engine/mysql/connection.js';
import { freePort, makeTempDir, runDbtool, stageDbtool } from '../harness/pg-cluster.js';
import { assertOneLine } from '../harness/assert-one-line.js';
import { runWithPeakRss } from '../harness/peak-rss.js';


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

  it('console: backups, SQL and a CSV extract through piped stdin; errors are one line, the console goes on', async () => {
    const repo = join(work, 'repo');
    const out = join(work, 'out');
    const r = await dbtool(['console'], { DBTOOL_HISTORY: join(work, 'history') }, [
      'incremental backup',
      `full database -path ${repo}`,
      'SQL CREATE TABLE t (id int PRIMARY KEY, v text)',
      "SQL INSERT INTO t SELECT seq, concat('v', seq) FROM seq_1_to_10",
      'SQL SELEC broken',
      'SQL SELECT count(*) AS n, max(v) AS top FROM t',
      'incremental backup',
      // Labels have whole seconds: keep the differential in a later second than the incremental.
      'SQL SELECT SLEEP(1.1) AS slept',
      "SQL INSERT INTO t VALUES (11, 'eleven')",
      'differential backup',
      "SQL CREATE TABLE odd (id int PRIMARY KEY, v text, d decimal(6,2))",
      "SQL INSERT INTO odd VALUES (1, 'a,b', 1.50), (2, 'say \"hi\"', NULL), (3, concat('line1', char(10), 'line2'), 0), (4, NULL, 2), (5, '', 3)",
      `SQL SELECT id, v, d FROM odd ORDER BY id -extract -path ${out}`,
      'info',
      'verify',
      'exit',
    ].join('\n') + '\n');
    assert.equal(r.code, 1, `a failed command makes the exit status non-zero (stderr: ${r.stderr})`);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('dbtool: '));
    assert.equal(errors.length, 2, r.stderr);
    assert.match(errors[0]!, /^dbtool: an incremental backup needs a previous full backup, and no repository is chosen yet/);
    assert.match(errors[1]!, /^dbtool: the statement failed: You have an error in your SQL syntax.*SQLSTATE 42000/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.match(r.stdout, /^full backup \d{8}T\d{6}Z-F done in /m);
    assert.match(r.stdout, /^INSERT 10 \(/m);
    assert.match(r.stdout, /^n\s+top\n-+\s+-+\n10\s+v9\n\(1 row, /m, 'aligned table with column names, row count');
    assert.match(r.stdout, /^incr backup \d{8}T\d{6}Z-I done in .*\(parent \d{8}T\d{6}Z-F\)/m);
    assert.match(r.stdout, /^diff backup \d{8}T\d{6}Z-D done in .*\(parent \d{8}T\d{6}Z-F\)/m);
    assert.match(r.stdout, /^wrote 5 rows \(3 columns\) to .*extract-.*\.csv in /m);
    assert.match(r.stdout, /chain \d{8}T\d{6}Z-F → \d{8}T\d{6}Z-I → \d{8}T\d{6}Z-D|\d{8}T\d{6}Z-D/);
    assert.match(r.stdout, /^verified 3 backup\(s\)/m);

    const files = (await readdir(out)).filter((f) => f.endsWith('.csv'));
    assert.equal(files.length, 1);
    const rows = parse(await readFile(join(out, files[0]!), 'utf8'), { relax_column_count: false }) as string[][];
    assert.deepEqual(rows, [
      ['id', 'v', 'd'],
      ['1', 'a,b', '1.50'],
      ['2', 'say "hi"', ''],
      ['3', 'line1\nline2', '0.00'],
      ['4', '', '2.00'],
      ['5', '', '3.00'],
    ]);
    // NULL is an empty field, an empty string a quoted one: the file tells them apart.
    assert.match(await readFile(join(out, files[0]!), 'utf8'), /^4,,2\.00\r?\n5,"",3\.00/m);
  });

  it('console: restore of the newest backup, started, holds the source data', async () => {
    const repo = join(work, 'repo');
    const target = join(work, 'restored');
    const port = await freePort();
    trackServerDir(target, join(target, 'mysqld.pid'));
    const r = await dbtool(['--repo', repo, 'console'], { DBTOOL_HISTORY: join(work, 'history') }, `restore -target-dir ${target} -start -port ${port}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Z-D/);
    const restored = await connectMysql({ host: '127.0.0.1', port, user: 'root' });
    const source = await connectMysql(my.connection);
    try {
      // The differential holds t with 11 rows; odd came after it.
      const [rows] = await restored.query('SELECT count(*) AS n FROM shop.t');
      assert.equal(Number((rows as Array<{ n: number }>)[0]!.n), 11);
      const a = await checksumTables(restored);
      const b = await checksumTables(source);
      assert.equal(a['shop.t'], b['shop.t']);
      assert.equal(a['shop.books'], b['shop.books']);
    } finally {
      await restored.end().catch(() => undefined);
      await source.end().catch(() => undefined);
      await stopServerDir(target);
    }
  });

  it('console: bad input is one line each and the console goes on (no database, PostgreSQL-only restore target)', async () => {
    const repo = join(work, 'repo');
    const target = join(work, 'never');
    const r = await runDbtool(['--repo', repo, 'console'], {
      env: { ...my.env, DBTOOL_HISTORY: join(work, 'history') },
      asUser: undefined,
      input: ['SQL SELECT 1', `restore -target-dir ${target} -to-lsn 0/1`, 'info'].join('\n') + '\n',
    });
    assert.equal(r.code, 1, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('dbtool: '));
    assert.equal(errors.length, 2, r.stderr);
    assert.match(errors[0]!, /needs a database for SQL and sample data.*Set DB_NAME/);
    assert.match(errors[1]!, /--to-lsn applies to PostgreSQL sources only/);
    assert.match(r.stdout, /Z-D/, 'info still ran');
    assert.equal((await readdir(work)).includes('never'), false, 'nothing restored');
  });

  it('console: SQL … -extract -path of 1 000 000 rows round-trips, in bounded memory', { timeout: 300_000 }, async (t) => {
    const outDir = join(work, 'csv-big');
    const query =
      "SELECT seq AS id, CASE WHEN seq = 500000 THEN concat('a,b \"q\"', char(10), 'line é漢字') ELSE concat('row ', seq) END AS txt, " +
      "CASE WHEN seq % 3 = 0 THEN NULL ELSE seq * 1.5 END AS num, CASE WHEN seq = 500001 THEN '' END AS maybe_empty FROM seq_1_to_1000000";
    const bin = await stageDbtool();
    // Peak RSS of the dbtool process itself, from GNU time (%M: maximum resident set size in KiB).
    const { code, stdout, stderr, peakRssKiB: rss } = await runWithPeakRss([process.execPath, bin, 'console'], `SQL ${query} -extract -path ${outDir}\n`, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env(), DBTOOL_HISTORY: join(work, 'history') },
      cwd: work,
    });
    assert.equal(code, 0, stderr);
    const m = /^wrote 1000000 rows \(4 columns\) to (\S+\.csv) in /m.exec(stdout);
    assert.ok(m, stdout);
    assert.ok(rss > 0, `GNU time reported the peak RSS: ${stderr}`);
    t.diagnostic(`peak RSS of dbtool during the extract: ${Math.round(rss / 1024)} MiB; ${/in ([\d.]+ \w+)$/m.exec(stdout)?.[1]}`);
    assert.ok(rss < 200 * 1024, `peak RSS ${Math.round(rss / 1024)} MiB stays under 200 MiB`);

    const parser = createReadStream(m[1]!).pipe(parseStream({ raw: true, record_delimiter: '\r\n' }));
    let n = 0;
    let header = true;
    for await (const rec of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      const raw = rec.raw.replace(/\r\n?$/, '');
      if (header) {
        assert.equal(raw, 'id,txt,num,maybe_empty');
        header = false;
        continue;
      }
      n++;
      const [id, txt] = rec.record;
      if (Number(id) !== n) assert.fail(`row ${n} has id ${id}`);
      if (n === 500000) {
        assert.equal(txt, 'a,b "q"\nline é漢字', 'comma, quote, newline and UTF-8 round-trip');
        assert.equal(raw, '500000,"a,b ""q""\nline é漢字",750000.0,');
      } else if (n === 500001) assert.equal(raw, '500001,row 500001,,""', 'NULL is an empty field, an empty string is ""');
      else if (n === 2) assert.equal(raw, '2,row 2,3.0,');
    }
    assert.equal(n, 1_000_000);
  });
});
