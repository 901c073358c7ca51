// MySQL bad input end to end: each gives one clear line on stderr, exit status 2, and leaves the
// repository as it was.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startMariadb, stopServerDir } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { makeTempDir, runDbtool } from '../harness/pg-cluster.js';
import { assertOneLine } from '../harness/assert-one-line.js';


function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('mysql bad input', () => {
  let my: TestMariadb;
  let noBinlog: TestMariadb;
  let work: string;
  let repo: string;
  let repo2: string;
  const dbtool = (r: string, server: TestMariadb, args: string[], env: Record<string, string> = {}) => runDbtool(['--repo', r, ...args], { env: { ...server.env, ...env }, asUser: undefined });

  before(async () => {
    my = await startMariadb();
    noBinlog = await startMariadb({ binlog: false });
    work = await makeTempDir('dbtool-mybad-');
    repo = join(work, 'repo');
    repo2 = join(work, 'repo2');
    assert.equal((await dbtool(repo, my, ['repo', 'init'])).code, 0);
    assert.equal((await dbtool(repo2, noBinlog, ['repo', 'init'])).code, 0);
  });

  after(async () => {
    await my?.destroy();
    await noBinlog?.destroy();
    if (work) await stopServerDir(work);
  });

  it('backup without mariabackup on PATH: TOOL_MISSING naming the package', async () => {
    const before = listTree(repo);
    const r = await dbtool(repo, my, ['backup'], { PATH: '/nonexistent' });
    assertOneLine(r, 2, /^dbtool: the backup tool \(mariadb-backup or mariabackup\) was not found on PATH\. Install the mariadb-backup package/);
    assert.deepEqual(listTree(repo), before);
  });

  it('backup with a wrong password: SERVER_AUTH', async () => {
    const before = listTree(repo);
    const r = await dbtool(repo, my, ['backup'], { DB_PASSWORD: 'wrong' });
    assertOneLine(r, 2, /^dbtool: authentication as 'root' to MySQL at 127\.0\.0\.1:\d+ failed/);
    assert.deepEqual(listTree(repo), before);
  });

  it('an option file that is missing: one line naming it and DB_DEFAULTS_FILE, for backup and check', async () => {
    const before = listTree(repo);
    const missing = join(work, 'no-such-dir', 'my.cnf');
    for (const args of [['backup'], ['check']]) {
      const r = await dbtool(repo, my, args, { DB_DEFAULTS_FILE: missing });
      assertOneLine(r, 2, new RegExp(`^dbtool: cannot read the MySQL option file ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(ENOENT.*Check DB_DEFAULTS_FILE`));
    }
    assert.deepEqual(listTree(repo), before);
  });

  it('bad targets: syntax, a PostgreSQL-only flag, and a source with no backup', async () => {
    const target = join(work, 't');
    assertOneLine(await dbtool(repo, my, ['restore', '--target-dir', target]), 2, /^dbtool: source 'main' has no MySQL backup to restore/);
    const b = await dbtool(repo, my, ['backup']);
    assert.equal(b.code, 0, b.stderr);
    assertOneLine(await dbtool(repo, my, ['restore', '--target-dir', target, '--start', '--port', '1', '--to-position', 'binlog:12']), 2, /^dbtool: 'binlog:12' is not a binlog position/);
    assertOneLine(await dbtool(repo, my, ['restore', '--target-dir', target, '--to-lsn', '0/1']), 2, /^dbtool: --to-lsn applies to PostgreSQL sources only/);
    assertOneLine(await dbtool(repo, my, ['restore', '--target-dir', target, '--to-time', new Date().toISOString()]), 2, /needs --start and --port/);
    assert.ok(!readdirSync(work).includes('t'));
  });

  it('another server into the same source: REPO_OTHER_CLUSTER', async () => {
    const before = listTree(repo);
    const r = await dbtool(repo, noBinlog, ['backup']);
    assertOneLine(r, 2, /^dbtool: source 'main' in .* belongs to mysql system .*, but this is mysql system /);
    assert.deepEqual(listTree(repo), before);
  });

  it('check passes on a server with binlogs, and archives a binlog to prove it', async () => {
    const r = await dbtool(repo, my, ['check']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^check passed: log_bin ON, binlog_format ROW, server_id 1, mariadb-backup installed; binlog\.\d+ archived into the repository/);
  });

  it('verify names a damaged binlog and a backup whose base is gone', async () => {
    const ok = await dbtool(repo, my, ['verify']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const incr = await dbtool(repo, my, ['backup', '--type', 'incr', '--json']);
    assert.equal(incr.code, 0, incr.stderr);
    const base = (JSON.parse(incr.stdout) as { parent: string }).parent;
    const binlogDir = join(repo, 'archive', 'main', 'binlog');
    const victim = readdirSync(binlogDir).find((n) => !n.endsWith('.meta'))!;
    const bytes = readFileSync(join(binlogDir, victim));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(join(binlogDir, victim), bytes);
    rmSync(join(repo, 'backups', 'main', `${base}.manifest`));
    const r = await dbtool(repo, my, ['verify']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`binlog ${victim.replace(/\./g, '\\.')}`));
    assert.match(r.stdout, new RegExp(`its base backup ${base} is missing`));
    assert.match(r.stderr, /^dbtool: verify found 2 problem\(s\)/m);
  });

  it('a server without binlogs: check and binlog-archive refuse, PITR after its backup is out of range', async () => {
    assertOneLine(await dbtool(repo2, noBinlog, ['check']), 2, /^dbtool: binary logging is off on this server \(log_bin OFF\)/);
    assertOneLine(await dbtool(repo2, noBinlog, ['binlog-archive', '--once']), 2, /^dbtool: binary logging is off on this server/);
    const b = await dbtool(repo2, noBinlog, ['backup', '--json']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal((JSON.parse(b.stdout) as { binlog?: unknown }).binlog, undefined);
    const before = listTree(repo2);
    const target = join(work, 'nb');
    assertOneLine(await dbtool(repo2, noBinlog, ['restore', '--target-dir', target, '--start', '--port', '1', '--to-time', new Date(Date.now() + 1000).toISOString()]), 2, /has no binlog coordinates \(the server ran without log-bin\)/);
    assert.deepEqual(listTree(repo2), before);
    assert.ok(!readdirSync(work).includes('nb'));
  });
});
