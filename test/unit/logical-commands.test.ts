// The engine-neutral logical commands on an in-memory repository, driven by a dumper and a loader
// that hold their bytes in memory (the contract every engine implements; the PostgreSQL engine
// is tested against real clusters in test/e2e/logical.test.ts).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupLogical } from '../../src/command/backup/logical.js';
import { restoreLogical } from '../../src/command/restore/logical.js';
import { isDbtoolError } from '../../src/core/errors.js';
import { silentReporter } from '../../src/core/reporter.js';
import { databaseDir } from '../../src/engine/logical.js';
import type { DumpEntry, LogicalDumpInfo, LogicalDumper, LogicalLoadOptions, LogicalLoader } from '../../src/engine/logical.js';
import { keys } from '../../src/repo/keys.js';
import { listBackupLabels, readManifest } from '../../src/repo/manifest.js';
import { Repository } from '../../src/repo/repository.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';

const CHUNK = 64 * 1024;

/** A dump held in memory; `failAfter` entries it throws, as a dump tool that dies would. */
class BufferDumper implements LogicalDumper {
  constructor(
    private readonly files: Map<string, Buffer>,
    private readonly failAfter?: number,
  ) {}

  async info(): Promise<LogicalDumpInfo> {
    return { serverVersion: '1.0', serverVersionNum: 10000, systemId: 'sys-1', databases: ['app', 'shop'], tool: 'buffer-dump 1.0' };
  }

  async *entries(): AsyncGenerator<DumpEntry> {
    let n = 0;
    for (const [path, data] of this.files) {
      if (this.failAfter !== undefined && n++ >= this.failAfter) throw new Error('dump tool died');
      // Odd-sized pieces; every other entry of unknown length, as a dump on stdout.
      async function* pieces() {
        for (let off = 0; off < data.length; off += 10_000) yield data.subarray(off, off + 10_000);
      }
      yield { path, size: path.endsWith('.sql') || n % 2 ? undefined : data.length, data: pieces() };
    }
  }
}

/** Loads into memory: what it read through `read` and through `materialise`. */
class MemoryLoader implements LogicalLoader {
  readonly nonEmpty = new Set<string>();
  readonly loaded = new Map<string, Map<string, Buffer>>();

  async isNonEmpty(database: string): Promise<boolean> {
    return this.nonEmpty.has(database);
  }

  async load(o: LogicalLoadOptions): Promise<void> {
    const prefix = databaseDir(o.fromDatabase);
    const got = new Map<string, Buffer>();
    for (const path of o.paths.filter((p) => p.startsWith(prefix))) {
      await o.check(path);
      const parts: Buffer[] = [];
      for await (const b of o.read(path)) parts.push(b as Buffer);
      got.set(path, Buffer.concat(parts));
    }
    // The directory form must hold the same bytes.
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-memload-'));
    try {
      await o.materialise(prefix, dir);
      for (const name of await readdir(dir)) assert.deepEqual(await readFile(join(dir, name)), got.get(prefix + name));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    this.loaded.set(o.intoDatabase, got);
    this.nonEmpty.add(o.intoDatabase);
  }
}

describe('backupLogical and restoreLogical', () => {
  const repos: Repository[] = [];
  after(async () => {
    for (const r of repos) await r.close();
  });
  const newRepo = async () => {
    const r = await Repository.init(new MemoryStorage(), { chunkSize: CHUNK });
    repos.push(r);
    return r;
  };
  const files = new Map<string, Buffer>([
    ['globals.sql', Buffer.from('CREATE ROLE app;\n')],
    [`${databaseDir('app')}toc.dat`, randomBytes(3000)],
    [`${databaseDir('app')}3001.dat`, randomBytes(CHUNK * 2 + 123)],
    [`${databaseDir('app')}empty.dat`, Buffer.alloc(0)],
    [`${databaseDir('shop')}toc.dat`, randomBytes(500)],
  ]);

  it('stores every entry, known length or not, and writes a logical manifest last', async () => {
    const repo = await newRepo();
    const m = await backupLogical({ repo, source: 'main', engine: 'mysql', dumper: new BufferDumper(files), reporter: silentReporter });
    assert.match(m.label, /-L$/);
    assert.equal(m.engine, 'mysql');
    assert.deepEqual(m.logical, { tool: 'buffer-dump 1.0', databases: ['app', 'shop'] });
    assert.deepEqual(m.files.map((f) => [f.path, f.size, f.chunks?.length]), [...files].map(([p, b]) => [p, b.length, Math.ceil(b.length / CHUNK)]));
    assert.deepEqual(await readManifest(repo, 'main', m.label), m);

    // An unchanged dump adds no chunks: the reason dumps are stored uncompressed.
    const again = await backupLogical({ repo, source: 'main', engine: 'mysql', dumper: new BufferDumper(files), reporter: silentReporter });
    assert.equal(again.bytes.new, 0);
    assert.equal(again.bytes.read, m.bytes.read);
  });

  it('a dump that fails leaves no backup and no lock', async () => {
    const repo = await newRepo();
    await assert.rejects(backupLogical({ repo, source: 'main', engine: 'postgres', dumper: new BufferDumper(files, 2), reporter: silentReporter }), /dump tool died/);
    assert.deepEqual(await listBackupLabels(repo, 'main'), []);
    assert.equal(await repo.storage.stat(keys.lock('main')), undefined);
  });

  it('loads one database through read() and materialise(), verified; refuses a non-empty target without clean', async () => {
    const repo = await newRepo();
    const m = await backupLogical({ repo, source: 'main', engine: 'postgres', dumper: new BufferDumper(files), reporter: silentReporter });
    const loader = new MemoryLoader();
    const r = await restoreLogical({ repo, source: 'main', loader, intoDatabase: 'app2', fromDatabase: 'app', clean: false, jobs: 2, reporter: silentReporter });
    assert.deepEqual(r, { label: m.label, fromDatabase: 'app', intoDatabase: 'app2', clean: false, files: 3, bytes: 3000 + CHUNK * 2 + 123 });
    assert.deepEqual([...loader.loaded.get('app2')!], [...files].filter(([p]) => p.startsWith(databaseDir('app'))));

    await assert.rejects(
      restoreLogical({ repo, source: 'main', loader, intoDatabase: 'app2', fromDatabase: 'app', clean: false, jobs: 2, reporter: silentReporter }),
      (e) => isDbtoolError(e) && e.code === 'TARGET_DB_NOT_EMPTY' && e.exitCode === 2,
    );
    await restoreLogical({ repo, source: 'main', loader, intoDatabase: 'app2', fromDatabase: 'app', clean: true, jobs: 2, reporter: silentReporter });

    // A damaged chunk fails the load, naming the chunk and the file.
    const id = m.files.find((f) => f.path.endsWith('3001.dat'))!.chunks![1]!;
    const obj = await repo.storage.get(keys.chunk(id));
    obj[obj.length - 1]! ^= 0x55;
    await repo.storage.put(keys.chunk(id), obj);
    await assert.rejects(
      restoreLogical({ repo, source: 'main', loader, intoDatabase: 'app3', fromDatabase: 'app', clean: false, jobs: 2, reporter: silentReporter }),
      (e) => isDbtoolError(e) && e.code === 'CHUNK_CORRUPT' && e.message.includes(id) && e.message.includes('3001.dat'),
    );
    assert.equal(loader.loaded.has('app3'), false);
  });
});
