// The console and sample-data end to end: the built CLI with commands piped into stdin, against a
// throwaway cluster archiving into a fresh repository; config show; bad numbers.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { resolveRunAs, spawnOptionsFor } from '../../src/core/os-user.js';
import { openInstance } from '../../src/engine/postgres/instance.js';
import { isValidIsbn13 } from '../../src/command/sample-data/books.js';
import { archivingFixture, freePort, runDbtool, stageDbtool, switchAndArchive } from '../harness/pg-cluster.js';
import type { ArchivingFixture } from '../harness/pg-cluster.js';
import { assertOneLine } from '../harness/assert-one-line.js';
import { runWithPeakRss } from '../harness/peak-rss.js';


describe('console and sample-data', () => {
  let fx: ArchivingFixture;
  /** the console with `lines` piped in, history kept in the work dir */
  const piped = (lines: string[], args: string[] = [], env: Record<string, string> = {}) =>
    runDbtool(['--repo', fx.repo, ...args, 'console'], { env: { ...fx.env, DBTOOL_HISTORY: join(fx.work, 'history'), ...env }, input: lines.join('\n') + '\n' });

  before(async () => {
    fx = await archivingFixture('dbtool-console-');
  });
  after(async () => {
    await fx?.destroy();
  });

  it('sample-data: bad numbers are one usage line and exit 2; batch larger than rows is fine', async () => {
    for (const [flag, value] of [['--rows', '0'], ['--rows', '-5'], ['--rows', 'abc'], ['--batch-size', '0'], ['--batch-size', '-1'], ['--batch-size', 'x1']]) {
      const r = await runDbtool(['sample-data', flag!, value!], { env: fx.env });
      assertOneLine(r, 2, new RegExp(`${flag} .*'${value}' is invalid`));
    }
    const [before0] = await fx.src.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_class WHERE relname = 'books'");
    assert.equal(before0!.n, '0', 'bad input created nothing');

    const a = await runDbtool(['sample-data', '--rows', '500', '--batch-size', '1000'], { env: fx.env });
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /loaded 500 rows into books in 1 batch\(es\).*the table has 500 rows/);
    const b = await runDbtool(['sample-data', '--rows', '1200', '--batch-size', '500', '--seed', '9', '--json'], { env: fx.env });
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual({ ...JSON.parse(b.stdout), seconds: 0, rowsPerSecond: 0 }, { rows: 1200, batches: 3, seconds: 0, rowsPerSecond: 0, tableRows: 1700 });
    const rows = await fx.src.query<{ isbn: string; title: string; price: string; published_year: number }>('SELECT isbn, title, price::text, published_year FROM books');
    assert.equal(rows.length, 1700);
    assert.ok(rows.every((r) => isValidIsbn13(r.isbn)), 'every ISBN-13 has a valid check digit');
    assert.ok(new Set(rows.map((r) => r.title)).size > 200, 'titles vary');
  });

  it('config show: settings with origins, the password masked; --config file', async () => {
    const dir = join(fx.work, 'cfg-show');
    await mkdir(dir);
    await writeFile(join(dir, 'dbtool.yaml'), 'repo: /from/file\nuser: fileuser\npassword: hunter2\n');
    await writeFile(join(dir, '.env'), 'DB_HOST=dothost\nDB_PORT=6543\n');
    const r = await runDbtool(['--config', 'file', '--json', 'config', 'show'], { cwd: dir, env: { DB_PORT: '7654' }, asUser: undefined });
    assert.equal(r.code, 0, r.stderr);
    const by = Object.fromEntries((JSON.parse(r.stdout) as { settings: Array<{ key: string; value: string | null; origin: string }> }).settings.map((l) => [l.key, l]));
    assert.deepEqual([by.repo!.value, by.repo!.origin], ['/from/file', 'config file dbtool.yaml']);
    assert.deepEqual([by.host!.value, by.host!.origin], ['dothost', '.env DB_HOST']);
    assert.deepEqual([by.port!.value, by.port!.origin], ['7654', 'environment DB_PORT']);
    assert.deepEqual([by.password!.value, by.password!.origin], ['****', 'config file dbtool.yaml']);
    assert.ok(!r.stdout.includes('hunter2'));
    const text = await runDbtool(['--config', 'file', '--repo', '/flag', 'config', 'show'], { cwd: dir, asUser: undefined });
    assert.match(text.stdout, /^repo\s+\/flag\s+--repo$/m);
    assert.match(text.stdout, /^password\s+\*\*\*\*\s+config file dbtool\.yaml$/m);
    assertOneLine(await runDbtool(['config', 'show'], { cwd: dir, env: { DB_ENGINE: 'oracle' }, asUser: undefined }), 2, /environment DB_ENGINE is 'oracle'/);
    await writeFile(join(dir, '.env'), 'DB_PORT=notaport\n');
    assertOneLine(await runDbtool(['config', 'show'], { cwd: dir, asUser: undefined }), 2, /\.env DB_PORT is 'notaport', not a port number/);
  });

  it('each seed command through piped stdin; errors are one line, the console goes on, the exit status says so', async () => {
    const r = await piped([
      'help',
      'help sql',
      'differential backup',
      'full database -path ' + fx.repo,
      'SQL CREATE TABLE t (id int PRIMARY KEY, v text)',
      "SQL INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g",
      'SQL SELEC broken',
      'SQL SELECT count(*) AS n, max(v) AS top FROM t',
      "SQL SELECT repeat('x', 100) AS wide, NULL AS nothing",
      'incremental backup',
      "SQL INSERT INTO t VALUES (11, 'eleven')",
      // Labels have whole seconds and two kinds in one second sort by letter (D < I), not by time:
      // keep the differential in a later second than the incremental (see NOTES).
      'SQL SELECT pg_sleep(1.1)',
      'differential backup',
      'exit',
      'SQL SELECT 1 AS after_exit',
    ]);
    assert.equal(r.code, 1, `a failed command makes the exit status non-zero (stderr: ${r.stderr})`);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('dbtool: '));
    assert.equal(errors.length, 2, r.stderr);
    assert.match(errors[0]!, /^dbtool: a differential backup needs a previous full backup of source main in .*, and there is none\. Take one first: full database -path /);
    assert.match(errors[1]!, /^dbtool: the statement failed: syntax error at or near "SELEC"/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(r.stdout, /dbtool> /, 'no prompt when piped');
    assert.match(r.stdout, /^commands:$/m);
    assert.match(r.stdout, /^SQL <query> \[-extract -path <dir>\]$/m);
    assert.match(r.stdout, /^full backup \d{8}T\d{6}Z-F done in /m);
    assert.match(r.stdout, /^INSERT 10 \(/m);
    assert.match(r.stdout, /^n\s+top\n-+\s+-+\n10\s+v9\n\(1 row, /m, 'aligned table with column names, row count');
    assert.match(r.stdout, /^x{39}…\s+NULL$/m, 'long values truncated, NULL shown');
    assert.match(r.stdout, /^incr backup \d{8}T\d{6}Z-I done in .*\(parent \d{8}T\d{6}Z-F\)/m);
    assert.match(r.stdout, /^diff backup \d{8}T\d{6}Z-D done in .*\(parent \d{8}T\d{6}Z-F\)/m);
    assert.doesNotMatch(r.stdout, /after_exit/, 'nothing runs after exit');

    // The backups' WAL must be archived before verify and a restore to the latest point.
    await switchAndArchive(fx.src);
    const target = join(fx.work, 'restored');
    const port = await freePort();
    const r2 = await piped(['info', 'verify', `restore -target-dir ${target} -start -port ${port} -archive-mode off`]);
    const restored = openInstance({ dataDir: target, port });
    try {
      assert.equal(r2.code, 0, r2.stderr);
      assert.match(r2.stdout, /chain \d{8}T\d{6}Z-F → \d{8}T\d{6}Z-I → \d{8}T\d{6}Z-D/);
      assert.match(r2.stdout, /^verified 3 backup\(s\)/m);
      assert.match(r2.stdout, /^everything verified$/m);
      assert.match(r2.stdout, /^restored backup \d{8}T\d{6}Z-D into /m);
      const [c] = await restored.query<{ n: string; h: string }>("SELECT count(*)::text AS n, md5(string_agg(id || ':' || v, ',' ORDER BY id)) AS h FROM t");
      const [s] = await fx.src.query<{ n: string; h: string }>("SELECT count(*)::text AS n, md5(string_agg(id || ':' || v, ',' ORDER BY id)) AS h FROM t");
      assert.deepEqual(c, s, 'the restored table equals the source');
      assert.equal(c!.n, '11');
    } finally {
      await restored.stop('immediate').catch(() => undefined);
    }
  });

  it("the seed's start form: backup --db postgres --database D --storage local --config file opens the console; -path creates a repository", async () => {
    const dir = join(fx.work, 'seed-form');
    await mkdir(dir);
    const owner = resolveRunAs();
    if (owner) await import('node:fs/promises').then((fs) => fs.chown(dir, owner.uid, owner.gid));
    await writeFile(join(dir, 'dbtool.yaml'), `host: 127.0.0.1\nport: ${fx.src.port}\nuser: postgres\n`);
    await fx.src.query('CREATE DATABASE mydb');
    const fresh = join(dir, 'backups');
    const r = await runDbtool(['backup', '--db', 'postgres', '--database', 'mydb', '--storage', 'local', '--config', 'file'], {
      cwd: dir,
      env: { DBTOOL_HISTORY: join(dir, 'history') },
      input: `SQL SELECT current_database() AS db\nfull database -path ${fresh}\ninfo\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^db\s*\n-+\s*\nmydb\s*\n\(1 row/m);
    assert.match(r.stderr, /created a repository at .*backups/);
    assert.match(r.stdout, /^full backup \d{8}T\d{6}Z-F done in .*backups/m);
    assert.match(r.stdout, /^repository .*backups, source main/m);
    assert.ok(existsSync(join(fresh, 'dbtool-repo.json')));
    const s3 = await runDbtool(['backup', '--storage', 's3'], { env: fx.env });
    assertOneLine(s3, 2, /--storage .*'s3' is invalid\. Allowed choices are local\. See dbtool --help/);
  });

  it('SQL … -extract -path: 1 000 000 rows to an RFC 4180 CSV that round-trips, in bounded memory', { timeout: 300_000 }, async (t) => {
    const outDir = join(fx.work, 'csv');
    const query =
      "SELECT g AS id, CASE WHEN g = 500000 THEN E'a,b \"q\"\\nline é漢字' ELSE 'row ' || g END AS txt, " +
      "CASE WHEN g % 3 = 0 THEN NULL ELSE g * 1.5 END AS num, CASE WHEN g = 500001 THEN '' END AS maybe_empty " +
      'FROM generate_series(1, 1000000) g';
    const bin = await stageDbtool();
    const runAs = resolveRunAs();
    // Peak RSS of the dbtool process itself, from GNU time (%M: maximum resident set size in KiB).
    const { code, stdout, stderr, peakRssKiB: rss } = await runWithPeakRss([process.execPath, bin, '--repo', fx.repo, 'console'], `SQL ${query} -extract -path ${outDir}\n`, {
      ...spawnOptionsFor(runAs, { PATH: process.env.PATH ?? '/usr/bin:/bin', ...fx.env, DBTOOL_HISTORY: join(fx.work, 'history') }),
      cwd: fx.work,
    });
    assert.equal(code, 0, stderr);
    const m = /^wrote 1000000 rows \(4 columns\) to (\S+\.csv) in /m.exec(stdout);
    assert.ok(m, stdout);
    const file = m[1]!;
    assert.deepEqual(await readdir(outDir), [file.split('/').pop()], 'only the finished file, no .partial left');
    assert.ok(rss > 0, `GNU time reported the peak RSS: ${stderr}`);
    t.diagnostic(`peak RSS of dbtool during the extract: ${Math.round(rss / 1024)} MiB; ${/in ([\d.]+ \w+)$/m.exec(stdout)?.[1]}`);
    assert.ok(rss < 200 * 1024, `peak RSS ${Math.round(rss / 1024)} MiB stays under 200 MiB`);

    const head = Buffer.alloc(40);
    const fh = await open(file);
    await fh.read(head, 0, 40, 0);
    await fh.close();
    assert.match(head.toString('utf8'), /^id,txt,num,maybe_empty\r\n1,row 1,1\.5,\r\n2,/, 'header row, CRLF records (RFC 4180)');

    // Parse it back with a real CSV parser, streaming (CRLF only: a bare LF is data).
    const parser = createReadStream(file).pipe(parse({ raw: true, record_delimiter: '\r\n' }));
    let n = 0;
    let header: string[] | undefined;
    for await (const rec of parser as AsyncIterable<{ record: string[]; raw: string }>) {
      // csv-parse's raw text of a record ends inside its delimiter: compare without it.
      const raw = rec.raw.replace(/\r\n?$/, '');
      if (!header) {
        header = rec.record;
        assert.equal(raw, 'id,txt,num,maybe_empty', 'header row');
        continue;
      }
      n++;
      const [id, txt, num, empty] = rec.record;
      if (Number(id) !== n) assert.fail(`row ${n} has id ${id}`);
      if (n === 500000) {
        assert.equal(txt, 'a,b "q"\nline é漢字', 'comma, quote, newline and UTF-8 round-trip');
        assert.equal(raw, '500000,"a,b ""q""\nline é漢字",750000.0,');
      } else if (n === 500001) {
        assert.equal(raw, '500001,row 500001,,""', 'NULL is an empty field, an empty string is ""');
        assert.equal(empty, '');
        assert.equal(num, '', 'NULL');
      } else if (n === 2) assert.equal(raw, '2,row 2,3.0,');
    }
    assert.equal(n, 1_000_000);
  });
});
