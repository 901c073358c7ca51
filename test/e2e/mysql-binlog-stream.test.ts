// Continuous binlog archiving: `binlog-archive` streams until SIGTERM; each file is archived once it
// is complete; a restart resumes from the first unarchived file (the partly spooled one is fetched
// whole), so the archive holds every file exactly as the server wrote it.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Repository } from '../../src/repo/repository.js';
import { BinlogScanner } from '../../src/engine/mysql/binlog-file.js';
import { listBinlogs, putBinlogFile, writeBinlogFile } from '../../src/repo/binlog-archive.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { startMariadb, stopServerDir } from '../harness/mariadb-instance.js';
import type { TestMariadb } from '../harness/mariadb-instance.js';
import { makeTempDir, runDbtool, stageDbtool } from '../harness/pg-cluster.js';

describe('mysql: continuous binlog archiving', () => {
  let my: TestMariadb;
  let work: string;
  let repo: string;
  let streamer: ChildProcess | undefined;

  async function archivedNames(): Promise<string[]> {
    const r = await Repository.open(openStorage(repo));
    try {
      return (await listBinlogs(r, 'main')).map((b) => b.name);
    } finally {
      await r.close();
    }
  }

  async function startStreamer(): Promise<ChildProcess> {
    const bin = await stageDbtool();
    const child = spawn(process.execPath, [bin, '--repo', repo, 'binlog-archive'], { env: { PATH: process.env.PATH ?? '', ...my.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.resume();
    child.stdout!.resume();
    return child;
  }

  async function stopStreamer(child: ChildProcess): Promise<number | null> {
    const exit = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exit;
  }

  async function waitFor(name: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!(await archivedNames()).includes(name)) {
      if (Date.now() > deadline) throw new Error(`${name} was not archived within 60 s (have ${(await archivedNames()).join(', ')})`);
      await sleep(300);
    }
  }

  before(async () => {
    my = await startMariadb();
    work = await makeTempDir('dbtool-mystream-');
    repo = join(work, 'repo');
    assert.equal((await runDbtool(['--repo', repo, 'repo', 'init'], { asUser: undefined })).code, 0);
    await my.query('CREATE DATABASE app; CREATE TABLE app.t (id int PRIMARY KEY); INSERT INTO app.t VALUES (1)');
  });

  after(async () => {
    if (streamer && streamer.exitCode === null) streamer.kill('SIGKILL');
    await my?.destroy();
    if (work) await stopServerDir(work);
  });

  it('archives each file once complete, stops on SIGTERM, and resumes without duplicates', async () => {
    streamer = await startStreamer();
    await sleep(1000);
    await my.query('INSERT INTO app.t VALUES (2); FLUSH BINARY LOGS');
    await waitFor('binlog.000001');
    // binlog.000002 is being spooled, partly: stop in the middle of it.
    await my.query('INSERT INTO app.t VALUES (3)');
    await sleep(500);
    assert.equal(await stopStreamer(streamer), 0);
    assert.deepEqual(await archivedNames(), ['binlog.000001']);

    await my.query('INSERT INTO app.t VALUES (4); FLUSH BINARY LOGS; INSERT INTO app.t VALUES (5); FLUSH BINARY LOGS');
    streamer = await startStreamer();
    await waitFor('binlog.000003');
    assert.equal(await stopStreamer(streamer), 0);
    assert.deepEqual(await archivedNames(), ['binlog.000001', 'binlog.000002', 'binlog.000003']);

    // Byte for byte what the server wrote.
    const r = await Repository.open(openStorage(repo));
    try {
      for (const b of await listBinlogs(r, 'main')) {
        const copy = join(work, `restored-${b.name}`);
        await writeBinlogFile(r, 'main', b, copy);
        assert.ok(readFileSync(copy).equals(readFileSync(join(my.dataDir, b.name))), b.name);
        // The same server file archived in parts of 64 bytes (events and headers cut across parts): the same
        // facts, and the same bytes back.
        const parted = await Repository.init(new MemoryStorage());
        try {
          const { binlog } = await putBinlogFile(parted, 'main', b.name, join(my.dataDir, b.name), new BinlogScanner(), { partSize: 64 });
          assert.ok(binlog.partSize === 64 && b.size > 256, `${b.name}: ${b.size} bytes in parts of ${binlog.partSize}`);
          const facts = ({ size, endPosition, firstTime, lastTime, lastGtids, sha256 }: typeof b) => ({ size, endPosition, firstTime, lastTime, lastGtids, sha256 });
          assert.deepEqual(facts(binlog), facts(b));
          const partedCopy = join(work, `parted-${b.name}`);
          await writeBinlogFile(parted, 'main', binlog, partedCopy);
          assert.ok(readFileSync(partedCopy).equals(readFileSync(copy)), b.name);
        } finally {
          await parted.close();
        }
      }
    } finally {
      await r.close();
    }
  });
});
