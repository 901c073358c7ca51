// S3 end to end with the built CLI, every request through a proxy that fails one in ten (500, 503,
// hangs, resets, lost answers), on an encrypted repository: repo init --encrypt, full backup, WAL
// archived by archive_command, PITR restore by time with --start (row checksums equal the
// source's at that time), verify clean, and no object holding a marker string in plaintext.
// Then with the S3 server stopped: info, backup and wal-push fail within their deadline, one line, exit 1.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chown, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveRunAs } from '../../src/core/os-user.js';
import { openInstance } from '../../src/engine/postgres/instance.js';
import type { PgInstance } from '../../src/engine/postgres/instance.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { startFaultProxy } from '../harness/fault-proxy.js';
import type { FaultProxy } from '../harness/fault-proxy.js';
import { dbtoolCommand, freePort, makeTempDir, runDbtool, shellQuote, stageDbtool, startCluster, switchAndArchive, tableChecksums, verifyRestoredFiles } from '../harness/pg-cluster.js';
import type { TestCluster } from '../harness/pg-cluster.js';
import { startS3Server } from '../harness/s3-server.js';
import type { S3Server } from '../harness/s3-server.js';
import { rm } from 'node:fs/promises';

const MARKER = 'dbtool-s3-marker-7d1f0c55e4a2';

describe('encrypted S3 repository through a faulty proxy: backup, WAL archive, PITR, verify', () => {
  let server: S3Server;
  let proxy: FaultProxy;
  let src: TestCluster;
  let work: string;
  let repo: string;
  let env: Record<string, string>;
  const restored: PgInstance[] = [];

  const dbtool = (args: string[], extraEnv: Record<string, string> = {}) => runDbtool(['--repo', repo, ...args], { env: { ...env, ...extraEnv } });

  before(async () => {
    server = await startS3Server();
    proxy = await startFaultProxy(server.endpoint, { rate: 0.1, seed: 2026 });
    // Short silences count as failures (timeout=2), generous deadlines: every fault is survived.
    repo = server.url('e2e/repo', { endpoint: proxy.endpoint, timeout: '2', deadline: '120' });
    const bin = await stageDbtool();
    const runAs = resolveRunAs();
    work = await makeTempDir('dbtool-s3-e2e-', runAs);
    // The passphrase reaches archive_command (the server's user, the server's environment) as a file.
    const passFile = join(work, 'passphrase');
    await writeFile(passFile, 'correct horse battery staple s3\n', { mode: 0o600 });
    if (runAs) await chown(passFile, runAs.uid, runAs.gid);
    const secretEnv = { ...server.env, DBTOOL_PASSPHRASE_FILE: passFile };
    src = await startCluster({ archiveCommand: `${dbtoolCommand(bin)} wal-push --repo ${shellQuote(repo)} --source main %p`, env: secretEnv });
    env = { PGHOST: '127.0.0.1', PGPORT: String(src.port), PGUSER: 'postgres', ...secretEnv };
    const init = await dbtool(['repo', 'init', '--encrypt']);
    assert.equal(init.code, 0, `repo init failed: ${init.stderr}`);
    assert.match(init.stdout, /created encrypted repository/);
    assert.ok(!init.stdout.includes('S3RVER'), 'no credentials in the output');
    // An object store gets 4 MiB chunks unless asked otherwise (a quarter of the requests).
    const config = openStorage(server.url('e2e/repo'), undefined, { s3: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      assert.equal((JSON.parse((await config.get('dbtool-repo.json')).toString('utf8')) as { chunkSize: number }).chunkSize, 4 * 1024 * 1024);
    } finally {
      await config.close();
    }
    await src.query(`CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
      INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 5000) g;
      CREATE TABLE secrets (id int, note text);
      INSERT INTO secrets SELECT g, '${MARKER}' FROM generate_series(1, 50) g;
      CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 200000) g;
      CREATE TABLE markers (name text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());`);
  });

  after(async () => {
    for (const inst of restored) await inst.stop('immediate').catch(() => undefined);
    await src?.destroy();
    await proxy?.close();
    await server?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('backs up, archives WAL and restores to a point in time, all through the faults', async () => {
    const backup = await dbtool(['backup', '--type', 'full', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const label = (JSON.parse(backup.stdout) as { label: string }).label;

    await src.query(`UPDATE accounts SET balance = balance + 1 WHERE id % 3 = 0; INSERT INTO markers (name) VALUES ('m1')`);
    await sleep(1100);
    const [p] = await src.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    const atTarget = await tableChecksums(src, 'postgres');
    await sleep(1100);
    await src.query(`DELETE FROM accounts WHERE id > 4000; INSERT INTO markers (name) VALUES ('m2')`);
    await switchAndArchive(src, 180_000);

    const archived = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: Array<{ label: string }>; restorableWindow: { to: string } | null };
    assert.deepEqual(archived.backups.map((b) => b.label), [label]);
    assert.ok(archived.restorableWindow, 'a restorable window');

    const port = await freePort();
    const target = join(work, 'pitr');
    const r = await dbtool(['restore', '--target-dir', target, '--to-time', p!.t.toISOString(), '--start', '--port', String(port), '--archive-mode', 'off']);
    assert.equal(r.code, 0, `restore failed: ${r.stderr}`);
    const inst = openInstance({ dataDir: target, port });
    restored.push(inst);
    assert.deepEqual(await tableChecksums(inst, 'postgres'), atTarget);
    assert.deepEqual((await inst.query<{ name: string }>('SELECT name FROM markers ORDER BY name')).map((x) => x.name), ['m1']);

    // The backup's own files, fetched through the faults, against the server's backup_manifest.
    const files = join(work, 'files');
    const f = await dbtool(['restore', '--backup', label, '--target-dir', files, '--immediate']);
    assert.equal(f.code, 0, `restore failed: ${f.stderr}`);
    await verifyRestoredFiles(files);

    const v = await dbtool(['verify']);
    assert.equal(v.code, 0, `verify failed: ${v.stdout}\n${v.stderr}`);

    // expire takes and releases the source and gc locks (the only deletes besides its own).
    const x = await dbtool(['expire', '--keep-full', '1']);
    assert.equal(x.code, 0, x.stderr);
    const direct = openStorage(server.url('e2e/repo'), undefined, { s3: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      const locks = [];
      for await (const o of direct.list('locks/')) locks.push(o.key);
      assert.deepEqual(locks, [], 'every lock was released');
      assert.ok((await direct.stat('dbtool-repo.json')) !== undefined, 'keys live under the prefix');
    } finally {
      await direct.close();
    }
  });

  it('no object in the encrypted S3 repository holds the marker in plaintext', async () => {
    const direct = openStorage(server.url('e2e/repo'), undefined, { s3: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      let objects = 0;
      let chunks = 0;
      for await (const o of direct.list('')) {
        objects++;
        if (o.key.startsWith('chunks/')) chunks++;
        assert.ok(!(await direct.get(o.key)).includes(MARKER), `${o.key} holds the marker`);
      }
      assert.ok(chunks > 10 && objects > chunks, `searched ${objects} objects, ${chunks} chunks`);
    } finally {
      await direct.close();
    }
  });

  it('the proxy did fail requests of every kind meanwhile', () => {
    for (const [kind, n] of Object.entries(proxy.stats.faults)) assert.ok(n > 0, `${kind} faults injected (${n} of ${proxy.stats.requests})`);
  });

  it('a config file can give the endpoint, region, path style and credentials', async () => {
    const cfg = join(work, 'dbtool.yaml');
    const s3 = { endpoint: server.endpoint, region: 'us-east-1', pathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    await writeFile(cfg, `repo: s3://${server.bucket}/e2e/repo\ns3: ${JSON.stringify(s3)}\n`);
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _b, AWS_REGION: _c, ...noAws } = env;
    const r = await runDbtool(['--config', cfg, 'info', '--json'], { env: noAws });
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { repository: string; backups: unknown[] };
    assert.equal(info.backups.length, 1);
    assert.ok(!r.stdout.includes('S3RVER'), 'no credentials in the output');
  });

  it('the endpoint and region may come from the SDK environment (AWS_ENDPOINT_URL_S3, AWS_REGION)', async () => {
    const r = await runDbtool(['--repo', `s3://${server.bucket}/e2e/repo?pathStyle=true`, 'info', '--json'], { env: { ...env, AWS_ENDPOINT_URL_S3: server.endpoint } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { backups: unknown[] }).backups.length, 1);
  });

  it('wrong credentials: refused at once, one line, exit 1', async () => {
    // s3rver checks the key id (it does not verify v4 signatures).
    const r = await dbtool(['info'], { AWS_ACCESS_KEY_ID: 'NOBODY', AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /was refused \(.*403.*\)\. Check the credentials/);
    assert.ok(!r.stderr.includes('not-the-secret'), 'the secret is not echoed');
  });

  it('a bad s3:// URL: one line, exit 2, no secret echoed', async () => {
    const r = await runDbtool(['--repo', `s3://${server.bucket}/p?secretAccessKey=hunter2`, 'info'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /unknown parameter 'secretAccessKey'/);
    assert.ok(!r.stderr.includes('hunter2'));
  });

  describe('with the S3 server stopped', () => {
    let down: string;
    before(async () => {
      await server.stop();
      down = server.url('e2e/repo', { timeout: '1', deadline: '3' });
    });

    for (const [name, args] of [
      ['info', ['info']],
      ['backup', ['backup', '--type', 'full']],
    ] as const) {
      it(`${name} fails within its deadline with one clear line and exit 1`, async () => {
        const r = await runDbtool(['--repo', down, ...args], { env, timeoutMs: 60_000 });
        assert.equal(r.code, 1, r.stderr);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, /^dbtool: .*127\.0\.0\.1:\d+.* did not succeed within 3 s/);
        assert.ok(!r.stderr.includes('S3RVER'), 'no credentials in the message');
      });
    }

    it('wal-push fails within its deadline with one clear line and exit 1', async () => {
      const wal = (await readdir(join(src.dataDir, 'pg_wal'))).find((f) => /^[0-9A-F]{24}$/.test(f));
      assert.ok(wal, 'a WAL segment to push');
      const r = await runDbtool(['--repo', down, '--source', 'main', 'wal-push', join(src.dataDir, 'pg_wal', wal)], { env: server.env, timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /did not succeed within 3 s/);
    });
  });
});
