// A MySQL backup killed (SIGKILL) mid-stream leaves no backup and a usable repository: the next
// backup is a full that restores to exactly the source's data.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checksums, startMariadb, stopServerDir, trackServerDir } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { freePort, makeTempDir, runDbtool, stageDbtool } from '../harness/pg-cluster.js';

function chunkCount(repo: string): number {
  const dir = join(repo, 'chunks');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).reduce((n, d) => n + readdirSync(join(dir, d)).length, 0);
}

describe('mysql: a backup killed mid-stream', () => {
  let my: TestMariadb;
  let work: string;
  let repo: string;

  before(async () => {
    my = await startMariadb();
    work = await makeTempDir('dbtool-mycrash-');
    repo = join(work, 'repo');
    assert.equal((await runDbtool(['--repo', repo, 'repo', 'init', '--chunk-size', '65536'], { asUser: undefined })).code, 0);
    await my.query('CREATE DATABASE app; CREATE TABLE app.big (id int PRIMARY KEY, v varchar(200)); INSERT INTO app.big SELECT seq, repeat(md5(seq), 5) FROM app.seq_1_to_60000');
  });

  after(async () => {
    await my?.destroy();
    if (work) await stopServerDir(work);
  });

  it('leaves no manifest, and the next backup restores exactly', async () => {
    const bin = await stageDbtool();
    // The killed process cannot remove its temp dirs (option file, tool scratch): keep them in `work`.
    const tmp = join(work, 'tmp');
    mkdirSync(tmp);
    const child = spawn(process.execPath, [bin, '--repo', repo, 'backup'], { env: { PATH: process.env.PATH ?? '', TMPDIR: tmp, ...my.env }, stdio: ['ignore', 'ignore', 'ignore'] });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // Kill once chunks are arriving: the stream is in flight.
    const deadline = Date.now() + 60_000;
    while (chunkCount(repo) < 20 && Date.now() < deadline && child.exitCode === null) await sleep(10);
    assert.equal(child.exitCode, null, 'the backup finished before it could be killed; make the data larger');
    child.kill('SIGKILL');
    await exited;
    assert.ok(chunkCount(repo) >= 20);
    assert.deepEqual(existsSync(join(repo, 'backups', 'main')) ? readdirSync(join(repo, 'backups', 'main')) : [], []);

    const again = await runDbtool(['--repo', repo, 'backup', '--json'], { env: my.env, asUser: undefined });
    assert.equal(again.code, 0, again.stderr);
    const taken = JSON.parse(again.stdout) as { label: string; type: string; parent: string | null };
    assert.deepEqual([taken.type, taken.parent], ['full', null]);
    const expected = await checksums(my.connection);

    const target = join(work, 'restored');
    trackServerDir(target, join(target, 'mysqld.pid'));
    const r = await runDbtool(['--repo', repo, 'restore', '--target-dir', target, '--start', '--port', String(await freePort())], { env: my.env, asUser: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await checksums({ socket: join(target, 'mysqld.sock'), user: 'root' }), expected);
    await stopServerDir(target);
    const v = await runDbtool(['--repo', repo, 'verify'], { env: my.env, asUser: undefined });
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
