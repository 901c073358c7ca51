// MariaDB logical backups through the CLI: backup --type logical (mariadb-dump streamed into the
// repository), restore --into-database into another database with equal CHECKSUM TABLE results,
// a non-empty target refused without --clean, and replaced with it; a damaged dump fails before
// --clean drops anything.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import type { ManifestFile } from '../../src/repo/manifest.js';
import { assertOneLine } from '../harness/assert-one-line.js';
import { withDamagedChunk } from '../harness/damaged-chunk.js';
import { checksums, startMariadb } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { makeTempDir, runDbtool } from '../harness/pg-cluster.js';

/** The checksums of one database's tables, keyed by table name only (so two databases compare). */
function tablesOf(all: Record<string, string>, db: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(all)) if (k.startsWith(`${db}.`)) out[k.slice(db.length + 1)] = v;
  return out;
}

describe('mysql: logical backup and restore through the CLI', () => {
  let my: TestMariadb;
  let work: string;
  let repo: string;
  let label: string;
  let source: Record<string, string>;
  const dbtool = (args: string[]) => runDbtool(['--repo', repo, ...args], { env: my.env, asUser: undefined });

  before(async () => {
    my = await startMariadb();
    work = await makeTempDir('dbtool-mylogical-');
    repo = join(work, 'repo');
    assert.equal((await dbtool(['repo', 'init'])).code, 0);
    await my.query(`CREATE DATABASE app;
      CREATE TABLE app.items (id int PRIMARY KEY, v varchar(64), n int) ENGINE=InnoDB;
      CREATE TABLE app.notes (id int AUTO_INCREMENT PRIMARY KEY, body text) ENGINE=InnoDB;
      INSERT INTO app.items SELECT seq, md5(seq), seq % 13 FROM app.seq_1_to_5000;
      INSERT INTO app.notes (body) VALUES ('a, "quoted" note'), (NULL), ('line\\nbreak');
      CREATE DATABASE other;
      CREATE TABLE other.t (k varchar(8) PRIMARY KEY) ENGINE=InnoDB;
      INSERT INTO other.t VALUES ('x'), ('y')`);
    source = tablesOf(await checksums(my.connection), 'app');
  });

  after(async () => {
    await my?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('backs up every user database as a logical backup', async () => {
    const r = await dbtool(['backup', '--type', 'logical', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const b = JSON.parse(r.stdout) as { label: string; type: string; databases: string[] };
    assert.equal(b.type, 'logical');
    assert.match(b.label, /-L$/);
    assert.deepEqual([...b.databases].sort(), ['app', 'other']);
    label = b.label;
  });

  it('restores one database into another with equal table checksums', async () => {
    // Changes after the backup must not show in the restored copy.
    await my.query('UPDATE app.items SET n = n + 1 WHERE id <= 10');
    const r = await dbtool(['restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(tablesOf(await checksums(my.connection), 'app_copy'), source);
  });

  it('refuses a non-empty target without --clean, and replaces it with --clean', async () => {
    await my.query('INSERT INTO app_copy.items VALUES (999999, "extra", 0); CREATE TABLE app_copy.stray (id int)');
    const r = await dbtool(['restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /app_copy/);
    const c = await dbtool(['restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app', '--clean']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(tablesOf(await checksums(my.connection), 'app_copy'), source);
  });

  it('a damaged chunk of the dump fails the restore before --clean drops anything', async () => {
    // The last chunk: the client would have loaded everything before it.
    const pick = (files: ManifestFile[]) => files.find((f) => f.path === 'databases/app.sql')!.chunks!.at(-1)!;
    await withDamagedChunk(repo, label, pick, async () => {
      await my.query('INSERT INTO app_copy.items VALUES (777777, "kept", 0)');
      const before = tablesOf(await checksums(my.connection), 'app_copy');
      const r = await dbtool(['--quiet', 'restore', '--backup', label, '--into-database', 'app_copy', '--from-database', 'app', '--clean']);
      assertOneLine(r, 1, /chunk [0-9a-f]{64} of file databases\/app\.sql .* is corrupt/);
      assert.deepEqual(tablesOf(await checksums(my.connection), 'app_copy'), before, 'the target database was not dropped');
    });
  });
});
