// The PostgreSQL test harness itself: clusters start with the asked-for settings, checksums track data, stop/start work.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDbtoolError } from '../../src/core/errors.js';
import { readControlData, startInstance } from '../../src/engine/postgres/instance.js';
import { startCluster, tableChecksums } from '../harness/pg-cluster.js';
import type { TestCluster } from '../harness/pg-cluster.js';

describe('pg test harness', () => {
  let main: TestCluster | undefined;
  let minimal: TestCluster | undefined;

  before(async () => {
    // Assign each as it comes up, so `after` destroys whichever started even if the other failed.
    await Promise.all([
      startCluster().then((c) => (main = c)),
      startCluster({ walLevel: 'minimal', settings: { work_mem: '8MB' } }).then((c) => (minimal = c)),
    ]);
  });

  after(async () => {
    await Promise.all([main?.destroy(), minimal?.destroy()]);
  });

  it('starts a cluster with the harness settings', async () => {
    const c = main!;
    assert.notEqual(c.port, 5432);
    const [row] = await c.query<{ wal_level: string }>('SHOW wal_level');
    assert.equal(row?.wal_level, 'replica');
    assert.equal(await c.psql('SHOW max_connections'), '30');
    assert.equal(await c.psql('SHOW unix_socket_directories'), c.baseDir);
  });

  it('applies wal_level=minimal and extra settings to a second cluster', async () => {
    const c = minimal!;
    assert.notEqual(c.port, main!.port);
    assert.equal(await c.psql('SHOW wal_level'), 'minimal');
    assert.equal(await c.psql('SHOW max_wal_senders'), '0');
    assert.equal(await c.psql('SHOW work_mem'), '8MB');
  });

  it('tableChecksums is stable and changes when a row changes', async () => {
    const c = main!;
    await c.psql(`
      CREATE DATABASE app;
    `);
    await c.psql(`
      CREATE SCHEMA shop;
      CREATE TABLE shop.items (id int PRIMARY KEY, name text, price numeric);
      INSERT INTO shop.items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 1000) g;
      CREATE TABLE public."Empty" (x int);
      CREATE UNLOGGED TABLE scratch (x int);
    `, 'app');
    const first = await tableChecksums(c, 'app');
    assert.deepEqual(Object.keys(first), ['public.Empty', 'shop.items']);
    assert.match(first['shop.items'] ?? '', /^1000:[0-9a-f]{32}$/);
    assert.match(first['public.Empty'] ?? '', /^0:[0-9a-f]{32}$/);
    assert.deepEqual(await tableChecksums(c, 'app'), first);

    await c.query('UPDATE shop.items SET price = price + 1 WHERE id = $1', [500], 'app');
    const second = await tableChecksums(c, 'app');
    assert.notEqual(second['shop.items'], first['shop.items']);
    assert.equal(second['public.Empty'], first['public.Empty']);
    assert.deepEqual(await tableChecksums(c, 'postgres'), {});
  });

  it('stops and starts the same data directory, keeping the data', async () => {
    const c = main!;
    const before = await tableChecksums(c, 'app');
    await c.stop('fast');
    await c.stop('fast'); // not running: no error
    const control = await readControlData(c.dataDir);
    assert.equal(control['Database cluster state'], 'shut down');
    assert.match(control['Latest checkpoint location'] ?? '', /^[0-9A-F]+\/[0-9A-F]+$/);

    const again = await startInstance({ dataDir: c.dataDir, port: c.port, socketDir: c.baseDir, runAs: c.runAs });
    assert.deepEqual(await tableChecksums(again, 'app'), before);
    assert.equal((await readControlData(c.dataDir))['Database cluster state'], 'in production');
  });

  it('reports a failed start with the end of the server log', async () => {
    const c = main!;
    // A second postmaster on a running data directory refuses to start (lock file).
    await assert.rejects(
      startInstance({ dataDir: c.dataDir, port: c.port, socketDir: c.baseDir, runAs: c.runAs, logFile: `${c.baseDir}/second.log`, timeoutMs: 20_000 }),
      (e: unknown) => {
        assert.ok(isDbtoolError(e));
        assert.equal(e.code, 'SERVER_START_FAILED');
        assert.match(e.message, /exited during startup/);
        assert.match(e.message, /lock file|already/i);
        return true;
      },
    );
    assert.equal(await c.psql('SELECT 1'), '1');
  });
});
