// wal-push --async and wal-get --async: a real archiver with the async archive_command archives
// every segment, and a restore (whose restore_command fetches ahead) to the end of the archive has
// the source's data; each fast path answers from its spool without opening the repository, and
// only for the same file (or data directory), repository and source.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveRunAs } from '../../src/core/os-user.js';
import { openInstance } from '../../src/engine/postgres/instance.js';
import type { PgInstance } from '../../src/engine/postgres/instance.js';
import { dbtoolCommand, freePort, makeTempDir, runDbtool, stageDbtool, startCluster, switchAndArchive, tableChecksums } from '../harness/pg-cluster.js';
import type { TestCluster } from '../harness/pg-cluster.js';
import { assertOneLine } from '../harness/assert-one-line.js';

describe('wal-push --async and wal-get --async', () => {
  let work: string;
  let repo: string;
  let spool: string;
  let src: TestCluster;
  let env: Record<string, string>;
  let restored: PgInstance | undefined;
  const dbtool = (args: string[]) => runDbtool(['--repo', repo, ...args], { env });

  before(async () => {
    const bin = await stageDbtool();
    work = await makeTempDir('dbtool-walasync-', resolveRunAs());
    repo = join(work, 'repo');
    spool = join(work, 'spool');
    src = await startCluster({ archiveCommand: `${dbtoolCommand(bin)} --repo ${repo} wal-push --async --spool ${spool} %p` });
    env = { PGHOST: '127.0.0.1', PGPORT: String(src.port), PGUSER: 'postgres' };
    assert.equal((await dbtool(['repo', 'init'])).code, 0);
  });

  after(async () => {
    await restored?.stop('immediate').catch(() => undefined);
    await src?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('archives every segment of a burst, pushing ready ones ahead, and a restore to the end has the data', async () => {
    const b = await dbtool(['backup', '--type', 'full']);
    assert.equal(b.code, 0, b.stderr);
    await src.query('CREATE TABLE burst (id int, payload text)');
    // Segments become ready faster than one archive_command call per segment keeps up with.
    for (let i = 0; i < 12; i++) await src.query(`INSERT INTO burst SELECT g, md5(g::text) FROM generate_series(${i * 1000}, ${i * 1000 + 999}) g; SELECT pg_switch_wal()`);
    const last = await switchAndArchive(src);
    const sums = await tableChecksums(src, 'postgres');

    const [stats] = await src.query<{ archived: string; failed: string }>('SELECT archived_count::text AS archived, failed_count::text AS failed FROM pg_stat_archiver');
    assert.equal(stats!.failed, '0');
    assert.ok(Number(stats!.archived) >= 13, `archived ${stats!.archived}`);
    const log = await readFile(`${src.dataDir}.log`, 'utf8');
    assert.match(log, /wal-push --async: pushed \d+ ready segment\(s\) ahead/);
    // Every marker was answered (or dropped); none is left behind.
    assert.deepEqual((await readdir(spool)).filter((n) => n.endsWith('.ok')), []);

    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { archive: Array<{ timeline: number; to: string; gaps: unknown[] }> };
    const tl1 = info.archive.find((a) => a.timeline === 1)!;
    assert.deepEqual(tl1.gaps, []);
    assert.ok(tl1.to >= last, `archive ends at ${tl1.to}, the last switched segment is ${last}`);

    const port = await freePort();
    const target = join(work, 'restored');
    const r = await dbtool(['restore', '--target-dir', target, '--start', '--port', String(port), '--archive-mode', 'off']);
    assert.equal(r.code, 0, r.stderr);
    restored = openInstance({ dataDir: target, port });
    assert.deepEqual(await tableChecksums(restored, 'postgres'), sums);
    // restore_command fetched ahead (wal-get --async); what recovery did not use is gone.
    assert.match(await readFile(join(target, 'postgresql.auto.conf'), 'utf8'), /wal-get --async --spool/);
    assert.ok(!existsSync(join(target, 'pg_wal', '.dbtool-prefetch')));
  });

  it('the fast path answers from the spool without the repository, only for the same file, repository and source', async () => {
    // A copy of real segments, each marked ready, beside a repository of their own.
    const wal = join(work, 'fake', 'pg_wal');
    await mkdir(join(wal, 'archive_status'), { recursive: true });
    await src.query('CREATE TABLE fast_path (id int)');
    const segments: string[] = [];
    for (let i = 0; i < 4; i++) {
      await src.query(`INSERT INTO fast_path VALUES (${i})`);
      const [sw] = await src.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f');
      segments.push(sw!.f);
    }
    await switchAndArchive(src);
    for (const s of segments) {
      await copyFile(join(src.dataDir, 'pg_wal', s), join(wal, s));
      await writeFile(join(wal, 'archive_status', `${s}.ready`), '');
    }
    const repo2 = join(work, 'repo2');
    const spool2 = join(work, 'spool2');
    const own = (args: string[]) => runDbtool(args, { asUser: undefined, env });
    assert.equal((await own(['--repo', repo2, 'repo', 'init'])).code, 0);
    const push = (seg: string, extra: string[] = []) => own(['--repo', repo2, ...extra, 'wal-push', '--async', '--spool', spool2, join(wal, seg)]);
    // What the archiver does after a success.
    const done = (seg: string) => rename(join(wal, 'archive_status', `${seg}.ready`), join(wal, 'archive_status', `${seg}.done`));
    const [s1, s2, s3, s4] = segments as [string, string, string, string];

    const first = await push(s1);
    assert.equal(first.code, 0, first.stderr);
    await done(s1);
    assert.deepEqual((await readdir(spool2)).sort(), [`${s2}.ok`, `${s3}.ok`, `${s4}.ok`]);
    const archived = await readdir(join(repo2, 'archive', 'main', '00000001'));
    for (const s of segments) assert.ok(archived.includes(s), `${s} is in the repository`);

    // Without the repository: the marker answers.
    await rename(repo2, `${repo2}.away`);
    assert.equal((await push(s2)).code, 0);
    await done(s2);
    assert.ok(!(await readdir(spool2)).includes(`${s2}.ok`), 'the marker is used once');
    // Another source, or the file changed since it was pushed: no answer from the spool.
    assertOneLine(await push(s3, ['--source', 'other']), 2, /no dbtool repository|REPO_NOT_FOUND|not found/i);
    await utimes(join(wal, s3), new Date(), new Date(Date.now() + 5000));
    assertOneLine(await push(s3), 2, /no dbtool repository|REPO_NOT_FOUND|not found/i);
    await rename(`${repo2}.away`, repo2);
    // Pushed the slow way: its stale marker goes too.
    assert.equal((await push(s3)).code, 0);
    await done(s3);
    assert.deepEqual(await readdir(spool2), [`${s4}.ok`]);

    // --async is refused where the spool could vouch for the wrong repository or source.
    assertOneLine(await own(['--repo', repo2, 'wal-push', '--async', join(wal, s4)]), 2, /--async needs --spool/);
    const config = join(work, 'dbtool.yaml');
    await writeFile(config, `repo: ${repo2}\nsource: other\n`);
    assertOneLine(await own(['--config', config, 'wal-push', '--async', '--spool', spool2, join(wal, s4)]), 2, /--async needs the repository and source on the command line or in DBTOOL_REPO\/DBTOOL_SOURCE, with no config/);
    assertOneLine(await own(['--config', config, '--repo', repo2, 'wal-push', '--async', '--spool', spool2, join(wal, s4)]), 2, /source from config file/);
    // A spool it cannot write notes in is refused before anything is pushed.
    const notADir = join(work, 'spool-file');
    await writeFile(notADir, 'x');
    assertOneLine(await own(['--repo', repo2, 'wal-push', '--async', '--spool', notADir, join(wal, s4)]), 2, /the spool directory .* cannot be used/);
    assert.deepEqual(await readdir(spool2), [`${s4}.ok`]);
  });

  it('wal-get --async fetches the next segments ahead, and the calls for them take them without the repository', async () => {
    const archived = (await readdir(join(repo, 'archive', 'main', '00000001'))).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort();
    assert.ok(archived.length >= 10, `${archived.length} segments archived`);
    const [first, second, third] = archived as [string, string, string];
    // A stand-in data directory (no pg_control: no cluster check) with its pg_wal.
    const data = join(work, 'getter');
    await mkdir(join(data, 'pg_wal'), { recursive: true });
    const spool = join(data, 'pg_wal', '.dbtool-prefetch');
    const get = (name: string, extra: string[] = [], cwd = data) => runDbtool(['--repo', repo, ...extra, 'wal-get', '--async', '--spool', spool, name, 'pg_wal/RECOVERYXLOG'], { asUser: undefined, env, cwd });
    const plain = async (name: string) => {
      const out = join(work, `plain-${name}`);
      assert.equal((await runDbtool(['--repo', repo, 'wal-get', name, out], { asUser: undefined, env })).code, 0);
      return readFile(out);
    };

    const r = await get(first);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readFile(join(data, 'pg_wal', 'RECOVERYXLOG'))).equals(await plain(first)));
    const ahead = (await readdir(spool)).filter((n) => n !== 'identity').sort();
    assert.deepEqual(ahead, archived.slice(1, 9));

    // Without the repository: the segment fetched ahead is moved into place, once.
    await rename(repo, `${repo}.away`);
    assert.equal((await get(second)).code, 0);
    await rename(`${repo}.away`, repo);
    assert.ok((await readFile(join(data, 'pg_wal', 'RECOVERYXLOG'))).equals(await plain(second)));
    assert.ok(!(await readdir(spool)).includes(second));

    // Another source, or another data directory: the spool is not theirs.
    await rename(repo, `${repo}.away`);
    const other = await get(third, ['--source', 'other']);
    assert.equal(other.code, 126, other.stderr);
    const elsewhere = join(work, 'getter2');
    await mkdir(join(elsewhere, 'pg_wal'), { recursive: true });
    assert.equal((await get(third, [], elsewhere)).code, 126);
    await rename(`${repo}.away`, repo);
    // The third segment is still there for the data directory it was fetched for.
    assert.equal((await get(third)).code, 0);
    assert.ok((await readFile(join(data, 'pg_wal', 'RECOVERYXLOG'))).equals(await plain(third)));

    // Without --spool it fetches as before, and says it fetched nothing ahead.
    const bare = await runDbtool(['--repo', repo, 'wal-get', '--async', first, 'pg_wal/RECOVERYXLOG'], { asUser: undefined, env, cwd: data });
    assert.equal(bare.code, 0);
    assert.match(bare.stderr, /wal-get --async: nothing fetched ahead/);
    // --no-prefetch is about restore_command: a logical restore refuses it.
    assertOneLine(await runDbtool(['--repo', repo, 'restore', '--into-database', 'copy', '--no-prefetch'], { asUser: undefined, env }), 2, /--no-prefetch cannot/);
  });
});
