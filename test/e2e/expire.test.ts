// expire on a real repository: --dry-run changes nothing; --keep-full 1 after two fulls removes
// the older chain, its unique chunks and old WAL, the repository shrinks, and what remains
// verifies and restores; a SIGKILLed expire leaves a repository that a re-run makes clean.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveRunAs, spawnOptionsFor } from '../../src/core/os-user.js';
import { openInstance } from '../../src/engine/postgres/instance.js';
import { keys } from '../../src/repo/keys.js';
import { readManifest } from '../../src/repo/manifest.js';
import { Repository } from '../../src/repo/repository.js';
import { PosixStorage } from '../../src/storage/posix/posix-storage.js';
import { archivingFixture, freePort, runDbtool, stageDbtool, switchAndArchive, tableChecksums } from '../harness/pg-cluster.js';
import type { ArchivingFixture, TestCluster } from '../harness/pg-cluster.js';

const runAs = resolveRunAs();

async function treeSize(dir: string): Promise<{ files: string[]; bytes: number }> {
  const files: string[] = [];
  let bytes = 0;
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        files.push(`${p} ${(await stat(p)).mtimeMs}`);
        bytes += (await stat(p)).size;
      }
    }
  };
  await walk(dir);
  return { files: files.sort(), bytes };
}

describe('expire', () => {
  let fx: ArchivingFixture;
  let work: string;
  let repoDir: string;
  let src: TestCluster;
  let env: Record<string, string>;
  const labels: string[] = [];
  const checksums = new Map<string, Record<string, string>>();
  const dbtool = (args: string[]) => runDbtool(['--repo', repoDir, ...args], { env });

  async function take(type: string): Promise<string> {
    const r = await dbtool(['backup', '--type', type, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const label = (JSON.parse(r.stdout) as { label: string }).label;
    labels.push(label);
    checksums.set(label, await tableChecksums(src, 'postgres'));
    return label;
  }

  before(async () => {
    fx = await archivingFixture('dbtool-expire-');
    ({ work, src, env } = fx);
    repoDir = fx.repo;
    await src.query("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200000) g");
    await take('full');
    await src.query("UPDATE t SET v = v || 'x' WHERE id <= 50000");
    await switchAndArchive(src);
    await take('incr');
    // Rewrite the table so the second full shares few chunks with the first chain.
    await src.query('VACUUM FULL t');
    await switchAndArchive(src);
    await take('full');
    await src.query("INSERT INTO t SELECT g, 'new' FROM generate_series(200001, 210000) g");
    await take('incr');
    await switchAndArchive(src);
  });

  after(async () => {
    await fx?.destroy();
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const before = await treeSize(repoDir);
    const r = await dbtool(['expire', '--keep-full', '1', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^dry run: would remove 2 backup\\(s\\): ${labels[0]}, ${labels[1]}`));
    assert.match(r.stdout, new RegExp(`keep ${labels[2]}: within the newest 1 full backup chain`));
    assert.match(r.stdout, /would remove \d+ archive file\(s\)/);
    assert.deepEqual((await treeSize(repoDir)).files, before.files);
  });

  it('--keep-full 1 removes the older chain, its own chunks and old WAL; the rest verifies and restores', async () => {
    const repo = await Repository.open(new PosixStorage(repoDir));
    let onlyOld: string[];
    let firstKeptWal: string;
    try {
      const ms = await Promise.all(labels.map((l) => readManifest(repo, 'main', l)));
      const keptIds = new Set(ms.slice(2).flatMap((m) => m.files.flatMap((f) => f.chunks ?? [])));
      onlyOld = [...new Set(ms.slice(0, 2).flatMap((m) => m.files.flatMap((f) => f.chunks ?? [])))].filter((id) => !keptIds.has(id));
      firstKeptWal = ms[2]!.postgres!.startWal;
    } finally {
      await repo.close();
    }
    assert.ok(onlyOld.length > 10, 'the old chain had chunks of its own');
    const before = await treeSize(repoDir);

    const r = await dbtool(['expire', '--keep-full', '1']);
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: Array<{ label: string }>; archive: Array<{ from: string }> };
    assert.deepEqual(info.backups.map((b) => b.label), labels.slice(2));
    for (const id of onlyOld) assert.equal(existsSync(join(repoDir, keys.chunk(id))), false, `chunk ${id} of the old chain is gone`);
    assert.ok(info.archive[0]!.from >= firstKeptWal, `archive starts at ${info.archive[0]!.from}, not before ${firstKeptWal}`);
    assert.ok((await treeSize(repoDir)).bytes < before.bytes, 'the repository shrank');

    const v = await dbtool(['verify']);
    assert.equal(v.code, 0, `${v.stdout}\n${v.stderr}`);
    for (const label of labels.slice(2)) {
      const port = await freePort();
      const target = join(work, `r-${label}`);
      const rs = await dbtool(['restore', '--backup', label, '--immediate', '--target-dir', target, '--start', '--port', String(port), '--archive-mode', 'off']);
      assert.equal(rs.code, 0, rs.stderr);
      const inst = openInstance({ dataDir: target, port });
      try {
        assert.deepEqual(await tableChecksums(inst, 'postgres'), checksums.get(label));
      } finally {
        await inst.stop('immediate');
        await rm(target, { recursive: true, force: true });
      }
    }
  });

  it('a SIGKILLed expire leaves a repository that a re-run cleans, and verify passes', async () => {
    // A third chain, so there is something to expire again.
    await src.query('VACUUM FULL t');
    await take('full');
    await switchAndArchive(src);
    const bin = await stageDbtool();
    for (const delay of [40, 120]) {
      const child = spawn(process.execPath, [bin, '--repo', repoDir, '--quiet', 'expire', '--keep-full', '1'], { ...spawnOptionsFor(runAs, { PATH: process.env.PATH ?? '' }), cwd: '/', stdio: 'ignore' });
      await sleep(delay);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const mid = await dbtool(['verify']);
      assert.equal(mid.code, 0, `after a kill at ${delay} ms, whatever remains verifies: ${mid.stdout}\n${mid.stderr}`);
    }
    const again = await dbtool(['expire', '--keep-full', '1']);
    assert.equal(again.code, 0, `the re-run takes over the dead process's lock: ${again.stderr}`);
    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: Array<{ label: string }> };
    assert.deepEqual(info.backups.map((b) => b.label), [labels[4]]);
    const v = await dbtool(['verify']);
    assert.equal(v.code, 0, `${v.stdout}\n${v.stderr}`);
    const dry = await dbtool(['expire', '--keep-full', '1', '--dry-run']);
    assert.match(dry.stdout, /would remove 0 chunk\(s\)/, 'nothing left to collect');
  });
});
