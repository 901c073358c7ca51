// full → load → incr → load → diff → load → incr: every backup restores (in one pass) to exactly
// the data at its stop point, and an incr after a 1 % contiguous change stores few bytes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openInstance } from '../../src/engine/postgres/instance.js';
import { archivingFixture, freePort, runDbtool, tableChecksums } from '../harness/pg-cluster.js';
import type { ArchivingFixture, TestCluster } from '../harness/pg-cluster.js';

interface Taken {
  label: string;
  type: string;
  parent: string | null;
  bytes: { database: number; new: number; stored: number };
  checksums: Record<string, string>;
}

describe('backup chains: full, incr, diff', () => {
  let fx: ArchivingFixture;
  let work: string;
  let repo: string;
  let src: TestCluster;
  let env: Record<string, string>;
  const taken: Taken[] = [];
  const dbtool = (args: string[]) => runDbtool(['--repo', repo, ...args], { env });

  async function take(type: string): Promise<Taken> {
    const r = await dbtool(['backup', '--type', type, '--json']);
    assert.equal(r.code, 0, r.stderr);
    // Nothing writes between the backup's end and this read: these are the data at its stop point.
    const t = { ...(JSON.parse(r.stdout) as Omit<Taken, 'checksums'>), checksums: await tableChecksums(src, 'postgres') };
    taken.push(t);
    return t;
  }

  before(async () => {
    fx = await archivingFixture('dbtool-chain-');
    ({ work, src, env } = fx);
    repo = fx.repo;
    await src.query("CREATE TABLE items (id int PRIMARY KEY, v text, n int); INSERT INTO items SELECT g, md5(g::text) || md5((g * 3)::text), 0 FROM generate_series(1, 1500000) g");
    await src.query('VACUUM (FREEZE) items');
    await src.query('CHECKPOINT');
  });

  after(async () => {
    await fx?.destroy();
  });

  it('takes the chain with the right parents', async () => {
    const full = await take('full');
    assert.equal(full.type, 'full');
    // Load 1: 1 % of the rows, one contiguous range.
    await src.query('UPDATE items SET n = n + 1 WHERE id BETWEEN 200001 AND 215000');
    const incr1 = await take('incr');
    assert.deepEqual([incr1.type, incr1.parent], ['incr', full.label]);
    assert.ok(incr1.bytes.stored < full.bytes.stored * 0.1, `incr stored ${incr1.bytes.stored} bytes, full ${full.bytes.stored}`);
    // Load 2: appended rows.
    await src.query("INSERT INTO items SELECT g, md5(g::text), 1 FROM generate_series(1500001, 1530000) g");
    const diff = await take('diff');
    assert.deepEqual([diff.type, diff.parent], ['diff', full.label]);
    // Load 3: deleted rows.
    await src.query('DELETE FROM items WHERE id % 100 = 7');
    const incr2 = await take('incr');
    assert.deepEqual([incr2.type, incr2.parent], ['incr', diff.label]);

    const info = JSON.parse((await dbtool(['info', '--json'])).stdout) as { backups: Array<{ label: string; parent: string | null }>; chains: Array<{ root: string; members: string[] }> };
    assert.deepEqual(info.backups.map((b) => b.parent), [null, full.label, full.label, diff.label]);
    assert.deepEqual(info.chains, [{ root: full.label, members: [incr1.label, diff.label, incr2.label] }]);
    const text = (await dbtool(['info'])).stdout;
    assert.ok(text.includes(`chain ${full.label} → ${incr1.label} → ${diff.label} → ${incr2.label}`), text);
  });

  it('every backup restores to exactly its own data', async () => {
    assert.equal(taken.length, 4);
    for (const t of taken) {
      const port = await freePort();
      const target = join(work, `restore-${t.label}`);
      const r = await dbtool(['restore', '--backup', t.label, '--immediate', '--target-dir', target, '--start', '--port', String(port), '--archive-mode', 'off']);
      assert.equal(r.code, 0, r.stderr);
      const inst = openInstance({ dataDir: target, port });
      try {
        assert.deepEqual(await tableChecksums(inst, 'postgres'), t.checksums, `backup ${t.label} (${t.type})`);
      } finally {
        await inst.stop('immediate');
        await rm(target, { recursive: true, force: true });
      }
    }
  });
});
