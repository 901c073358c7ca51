// check: passes on a server archiving into this repository, and says what is wrong otherwise.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveRunAs } from '../../src/core/os-user.js';
import { dbtoolCommand, makeTempDir, runDbtool, stageDbtool, startCluster } from '../harness/pg-cluster.js';
import type { TestCluster } from '../harness/pg-cluster.js';

const runAs = resolveRunAs();

describe('check', () => {
  let work: string;
  let repo: string;
  let good: TestCluster;
  let bin: string;
  const envFor = (c: TestCluster) => ({ PGHOST: '127.0.0.1', PGPORT: String(c.port), PGUSER: 'postgres' });
  const oneLine = (r: { stderr: string }) => r.stderr.trim().split('\n').pop()!;

  before(async () => {
    bin = await stageDbtool();
    work = await makeTempDir('dbtool-check-', runAs);
    repo = join(work, 'repo');
    good = await startCluster({ archiveCommand: `${dbtoolCommand(bin)} wal-push --repo ${repo} --source main %p` });
    assert.equal((await runDbtool(['--repo', repo, 'repo', 'init'])).code, 0);
  });

  after(async () => {
    await good?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('passes when a switched segment reaches the repository', async () => {
    const r = await runDbtool(['--repo', repo, 'check', '--timeout', '60'], { env: envFor(good) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^check passed: wal_level replica, archive_mode on, [0-9A-F]{24} archived/);
  });

  it('names a role without REPLICATION', async () => {
    await good.query('CREATE ROLE norepl LOGIN');
    const r = await runDbtool(['--repo', repo, 'check'], { env: { ...envFor(good), PGUSER: 'norepl' } });
    assert.equal(r.code, 2);
    assert.match(oneLine(r), /role 'norepl' lacks the REPLICATION privilege.*ALTER ROLE "norepl" REPLICATION/);
  });

  it('times out clearly when archiving fails', async () => {
    await good.query(`ALTER SYSTEM SET archive_command = 'exit 1; wal-push --repo ${repo} %p'`);
    await good.query('SELECT pg_reload_conf()');
    try {
      const r = await runDbtool(['--repo', repo, 'check', '--timeout', '3'], { env: envFor(good) });
      assert.equal(r.code, 1);
      assert.match(oneLine(r), /did not reach the repository within 3 s \(the archiver last failed on [0-9A-F]{24}/);
    } finally {
      await good.query('ALTER SYSTEM RESET archive_command');
      await good.query('SELECT pg_reload_conf()');
    }
  });

  it('names archive_mode off and an archive_command for another repository', async () => {
    const off = await startCluster();
    try {
      const r = await runDbtool(['--repo', repo, 'check'], { env: envFor(off) });
      assert.equal(r.code, 2);
      assert.match(oneLine(r), /archive_mode is off.*Set archive_mode = on/);
    } finally {
      await off.destroy();
    }
    const elsewhere = await startCluster({ archiveCommand: `${dbtoolCommand(bin)} wal-push --repo /srv/other-repo %p` });
    try {
      const r = await runDbtool(['--repo', repo, 'check'], { env: envFor(elsewhere) });
      assert.equal(r.code, 2);
      assert.match(oneLine(r), /does not name this repository/);
    } finally {
      await elsewhere.destroy();
    }
  });
});
