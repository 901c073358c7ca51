// A backup killed with SIGKILL half-way leaves only complete backups listed; the re-run succeeds
// (taking over the dead process's lock) and reuses the chunks the killed run already stored.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveRunAs, spawnOptionsFor } from '../../src/core/os-user.js';
import { archivingFixture, freePort, runDbtool, stageDbtool, tableChecksums } from '../harness/pg-cluster.js';
import type { ArchivingFixture, TestCluster } from '../harness/pg-cluster.js';
import { openInstance } from '../../src/engine/postgres/instance.js';

const runAs = resolveRunAs();

/** Bytes of the chunk objects in the repository (temp files of unfinished writes excluded). */
async function chunkBytes(repo: string): Promise<number> {
  let n = 0;
  for (const d of await readdir(join(repo, 'chunks')).catch(() => [] as string[])) {
    for (const f of await readdir(join(repo, 'chunks', d))) if (!f.startsWith('.')) n += (await stat(join(repo, 'chunks', d, f))).size;
  }
  return n;
}

describe('a backup killed half-way', () => {
  let fx: ArchivingFixture;
  let work: string;
  let repo: string;
  let src: TestCluster;
  let env: Record<string, string>;
  const dbtool = (args: string[]) => runDbtool(['--repo', repo, ...args], { env });

  before(async () => {
    fx = await archivingFixture('dbtool-crash-');
    ({ work, src, env } = fx);
    repo = fx.repo;
    // ~150 MB of poorly compressible rows, so a rate-limited backup takes several seconds.
    await src.query("CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS payload FROM generate_series(1, 1200000) g");
    // Settle hint bits and visibility now, so reading the table later does not rewrite its pages.
    await src.query('VACUUM (FREEZE) big');
    await src.query('CHECKPOINT');
  });

  after(async () => {
    await fx?.destroy();
  });

  it('lists no partial backup, and the re-run reuses stored chunks', async () => {
    const bin = await stageDbtool();
    const child = spawn(process.execPath, [bin, '--repo', repo, '--quiet', 'backup', '--max-rate', '25000'], { ...spawnOptionsFor(runAs, { PATH: process.env.PATH ?? '', ...env }), cwd: '/', stdio: 'ignore' });
    // Kill once a good part of the data (30 MiB stored) is in the repository.
    const deadline = Date.now() + 60_000;
    while ((await chunkBytes(repo)) < 30 * 1048576) {
      assert.ok(Date.now() < deadline, 'the backup stored chunks within 60 s');
      await sleep(100);
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const storedBeforeRerun = await chunkBytes(repo);

    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: unknown[] };
    assert.equal(info.backups.length, 0, 'the killed backup is not listed');

    const checksums = await tableChecksums(src, 'postgres');
    const r = await dbtool(['backup', '--json']);
    assert.equal(r.code, 0, `re-run after the crash (stale lock taken over): ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { bytes: { database: number; read: number; new: number } };
    // Every chunk the killed run stored holds at least its stored size of plaintext.
    const reused = out.bytes.read - out.bytes.new;
    assert.ok(reused >= storedBeforeRerun * 0.95, `chunks of the killed run were reused (${reused} bytes reused, ${storedBeforeRerun} stored before the re-run)`);

    const port = await freePort();
    const target = join(work, 'restored');
    const rs = await dbtool(['restore', '--target-dir', target, '--immediate', '--start', '--port', String(port), '--archive-mode', 'off']);
    assert.equal(rs.code, 0, rs.stderr);
    const inst = openInstance({ dataDir: target, port });
    try {
      assert.deepEqual(await tableChecksums(inst, 'postgres'), checksums);
    } finally {
      await inst.stop('immediate');
    }
  });
});
