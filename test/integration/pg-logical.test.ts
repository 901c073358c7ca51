// The PostgreSQL LogicalDumper and LogicalLoader against a real cluster: the private pg_dump
// directory is removed when the dump succeeds, when the consumer stops early, and when pg_dump
// fails; database names that need quoting survive the dump, the paths and the load.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDbtoolError } from '../../src/core/errors.js';
import { databaseDir } from '../../src/engine/logical.js';
import { PgLogicalDumper, PgLogicalLoader } from '../../src/engine/postgres/logical.js';
import { startCluster, tableChecksums } from '../harness/pg-cluster.js';
import type { TestCluster } from '../harness/pg-cluster.js';

describe('PgLogicalDumper', () => {
  let src: TestCluster;
  let tempParent: string;

  before(async () => {
    src = await startCluster();
    tempParent = await mkdtemp(join(tmpdir(), 'dbtool-dumper-'));
    await src.query('CREATE DATABASE app');
    await src.query('CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g', [], 'app');
  });

  after(async () => {
    await src?.destroy();
    if (tempParent) await rm(tempParent, { recursive: true, force: true });
  });

  const dumper = (database?: string) => new PgLogicalDumper({ connection: { host: '127.0.0.1', port: src.port, user: 'postgres' }, database, jobs: 2, tempParent });

  it('yields globals.sql, then the files of each database, and leaves no directory behind', async () => {
    const d = dumper('app');
    const info = await d.info();
    assert.deepEqual(info.databases, ['app']);
    assert.match(info.tool, /^pg_dump \(PostgreSQL\) \d+/);
    assert.match(info.systemId, /^\d+$/);
    const paths: string[] = [];
    let globals = '';
    for await (const e of d.entries()) {
      paths.push(e.path);
      const parts: Buffer[] = [];
      for await (const b of e.data) parts.push(b);
      const bytes = Buffer.concat(parts);
      if (e.path === 'globals.sql') globals = bytes.toString('utf8');
      // A file that pg_dump was still writing when it was handed out has no declared size.
      else if (e.size !== undefined) assert.equal(bytes.length, e.size, `${e.path} has its declared size`);
    }
    assert.equal(paths[0], 'globals.sql');
    assert.match(globals, /CREATE ROLE postgres/);
    assert.ok(paths.includes('databases/app/toc.dat'));
    assert.ok(paths.some((p) => /^databases\/app\/\d+\.dat$/.test(p)), 'table data, uncompressed');
    assert.deepEqual(await readdir(tempParent), []);
  });

  it('removes its directory when the consumer stops in the middle of a database', async () => {
    const d = dumper('app');
    await assert.rejects(async () => {
      for await (const e of d.entries()) {
        if (e.path.startsWith('databases/')) {
          assert.equal((await readdir(tempParent)).length, 1, 'the dump directory exists while files are read');
          throw new Error('consumer failed');
        }
        for await (const _ of e.data) void _;
      }
    }, /consumer failed/);
    assert.deepEqual(await readdir(tempParent), []);
  });

  it('removes its directory when pg_dump fails, and says why', async () => {
    await src.query('CREATE DATABASE doomed');
    const d = dumper('doomed');
    await d.info();
    // The database goes away between the facts and the dump: pg_dump cannot connect.
    await src.query('DROP DATABASE doomed');
    await assert.rejects(async () => {
      for await (const e of d.entries()) for await (const _ of e.data) void _;
    }, (e) => isDbtoolError(e) && e.code === 'TOOL_FAILED' && /pg_dump failed \(exit 1\).*doomed/.test(e.message));
    assert.deepEqual(await readdir(tempParent), []);
  });

  it('refuses an unknown database before dumping anything', async () => {
    await assert.rejects(dumper('nope').info(), (e) => isDbtoolError(e) && e.code === 'DATABASE_NOT_FOUND' && e.exitCode === 2);
  });

  it('dumps and loads databases whose names need quoting, creating the target', async () => {
    const weird = `we"ird/o'ne x=1`;
    const target = `copy of "${weird}"`;
    await src.query(`CREATE DATABASE "${weird.replace(/"/g, '""')}"`);
    await src.query('CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 300) g', [], weird);
    const files = new Map<string, Buffer>();
    for await (const e of dumper(weird).entries()) {
      const parts: Buffer[] = [];
      for await (const b of e.data) parts.push(b);
      files.set(e.path, Buffer.concat(parts));
    }
    assert.ok(files.has(`${databaseDir(weird)}toc.dat`), [...files.keys()].join());
    assert.equal(databaseDir(weird).split('/').length, 3, 'the name stays one path segment');

    const loader = new PgLogicalLoader({ connection: { host: '127.0.0.1', port: src.port, user: 'postgres' }, tempParent });
    assert.equal(await loader.isNonEmpty(target), false);
    await loader.load({
      intoDatabase: target,
      fromDatabase: weird,
      clean: false,
      jobs: 2,
      paths: [...files.keys()],
      read: () => {
        throw new Error('the PostgreSQL loader reads a directory');
      },
      check: () => Promise.reject(new Error('the PostgreSQL loader materialises (and so verifies) the dump first')),
      materialise: async (prefix, dir) => {
        await mkdir(dir, { recursive: true });
        for (const [path, data] of files) if (path.startsWith(prefix)) await writeFile(join(dir, path.slice(prefix.length)), data);
      },
    });
    assert.deepEqual(await tableChecksums(src, target), await tableChecksums(src, weird));
    assert.equal(await loader.isNonEmpty(target), true);
    assert.deepEqual(await readdir(tempParent), [], 'the pg_restore directory was removed');
  });

  it("loads into a server that lacks the dump's roles only with noOwner", async () => {
    await src.query('CREATE ROLE gone_owner');
    await src.query('CREATE DATABASE owned OWNER gone_owner');
    await src.query('SET ROLE gone_owner; CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100); GRANT SELECT ON t TO PUBLIC', [], 'owned');
    const expected = await tableChecksums(src, 'owned');
    const files = new Map<string, Buffer>();
    for await (const e of dumper('owned').entries()) {
      const parts: Buffer[] = [];
      for await (const b of e.data) parts.push(b);
      files.set(e.path, Buffer.concat(parts));
    }
    // As on another server: the role is not there.
    await src.query('DROP DATABASE owned');
    await src.query('DROP ROLE gone_owner');
    const options = (into: string) => ({
      intoDatabase: into,
      fromDatabase: 'owned',
      clean: false,
      jobs: 1,
      paths: [...files.keys()],
      read: () => {
        throw new Error('the PostgreSQL loader reads a directory');
      },
      check: () => Promise.reject(new Error('the PostgreSQL loader materialises (and so verifies) the dump first')),
      materialise: async (prefix: string, dir: string) => {
        await mkdir(dir, { recursive: true });
        for (const [path, data] of files) if (path.startsWith(prefix)) await writeFile(join(dir, path.slice(prefix.length)), data);
      },
    });
    const connection = { host: '127.0.0.1', port: src.port, user: 'postgres' };
    await assert.rejects(new PgLogicalLoader({ connection, tempParent }).load(options('owned1')), (e) => isDbtoolError(e) && e.code === 'TOOL_FAILED' && /pg_restore failed.*role "gone_owner" does not exist/.test(e.message));
    await new PgLogicalLoader({ connection, tempParent, noOwner: true }).load(options('owned2'));
    assert.deepEqual(await tableChecksums(src, 'owned2'), expected);
    const [owner] = await src.query<{ o: string }>("SELECT tableowner AS o FROM pg_tables WHERE tablename = 't'", [], 'owned2');
    assert.equal(owner?.o, 'postgres');
    assert.deepEqual(await readdir(tempParent), []);
  });
});
