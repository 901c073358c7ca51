// The binlog archive stores a file in parts and reads it back part by part: identical re-archiving,
// conflicts, a crash before the index entry, damaged, missing and swapped parts, and removal.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDbtoolError } from '../../src/core/errors.js';
import { BinlogScanner } from '../../src/engine/mysql/binlog-file.js';
import { checkBinlog, deleteBinlog, listBinlogs, putBinlogFile, writeBinlogFile } from '../../src/repo/binlog-archive.js';
import { keys } from '../../src/repo/keys.js';
import { Repository } from '../../src/repo/repository.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';
import type { Storage } from '../../src/storage/storage.js';

const code = (c: string) => (e: unknown) => isDbtoolError(e) && e.code === c;
const kdf = { N: 1024, r: 8, p: 1 };

/** A binlog of `events` events of `bodyBytes` random bytes each, the n-th at time 1000 + n. */
function binlogBytes(events: number, bodyBytes: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0xfe, 0x62, 0x69, 0x6e])];
  for (let n = 0; n < events; n++) {
    const header = Buffer.alloc(19);
    header.writeUInt32LE(1000 + n, 0);
    header[4] = 2;
    header.writeUInt32LE(19 + bodyBytes, 9);
    parts.push(header, randomBytes(bodyBytes));
  }
  return Buffer.concat(parts);
}

async function keysUnder(storage: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(prefix)) out.push(o.key);
  return out.sort();
}

describe('binlog archive in parts', () => {
  const opened: Repository[] = [];
  let dir: string;
  const setup = async (encrypted = false) => {
    dir ??= await mkdtemp(join(tmpdir(), 'dbtool-binlog-parts-'));
    const storage = new MemoryStorage();
    const repo = await Repository.init(storage, encrypted ? { passphrase: 'binlog parts', kdf } : {});
    opened.push(repo);
    return { storage, repo };
  };
  const file = async (name: string, content: Buffer) => {
    const path = join(dir, `${name}-${randomBytes(4).toString('hex')}`);
    await writeFile(path, content);
    return path;
  };
  after(async () => {
    for (const r of opened) await r.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stores a large file as parts, reads it back whole, and keeps a small file one object', async () => {
    const { storage, repo } = await setup();
    const big = binlogBytes(300, 1000);
    const small = binlogBytes(3, 10);
    const { outcome, binlog } = await putBinlogFile(repo, 'main', 'binlog.000007', await file('big', big), new BinlogScanner(), { partSize: 64 * 1024 });
    assert.equal(outcome, 'stored');
    assert.equal(binlog.size, big.length);
    assert.equal(binlog.partSize, 64 * 1024);
    assert.equal(binlog.endPosition, big.length);
    assert.equal(binlog.lastTime, new Date(1299_000).toISOString());
    await putBinlogFile(repo, 'main', 'binlog.000008', await file('small', small), new BinlogScanner(), { partSize: 64 * 1024 });
    const parts = Math.ceil(big.length / (64 * 1024));
    assert.equal(parts, 5);
    const objects = await keysUnder(storage, keys.binlogPrefix('main'));
    assert.equal(objects.filter((k) => k.includes('binlog.000007') && !k.endsWith('.meta')).length, parts);
    assert.deepEqual(objects.filter((k) => k.includes('binlog.000008')), [keys.binlog('main', 'binlog.000008'), keys.binlogMeta('main', 'binlog.000008')]);

    const listed = await listBinlogs(repo, 'main');
    assert.deepEqual(listed.map((b) => [b.name, b.partSize]), [['binlog.000007', 64 * 1024], ['binlog.000008', undefined]]);
    for (const [b, content] of [[listed[0]!, big], [listed[1]!, small]] as const) {
      await checkBinlog(repo, 'main', b);
      const out = join(dir, `out-${b.name}`);
      await writeBinlogFile(repo, 'main', b, out);
      assert.ok((await readFile(out)).equals(content), b.name);
    }
  });

  it('re-archiving the same file is identical; other content under the name is a conflict', async () => {
    const { repo } = await setup();
    const content = binlogBytes(100, 500);
    await putBinlogFile(repo, 'main', 'binlog.000001', await file('a', content), new BinlogScanner(), { partSize: 8192 });
    assert.equal((await putBinlogFile(repo, 'main', 'binlog.000001', await file('a', content), new BinlogScanner(), { partSize: 8192 })).outcome, 'identical');
    await assert.rejects(putBinlogFile(repo, 'main', 'binlog.000001', await file('b', binlogBytes(100, 500)), new BinlogScanner(), { partSize: 8192 }), code('ARCHIVE_CONFLICT'));
    await assert.rejects(putBinlogFile(repo, 'main', 'not-a-binlog', await file('c', content), new BinlogScanner()), code('WAL_INVALID'));
  });

  it('after a crash before the index entry, the same file completes the archive and another one is refused', async () => {
    const { storage, repo } = await setup();
    const content = binlogBytes(100, 500);
    await putBinlogFile(repo, 'main', 'binlog.000002', await file('a', content), new BinlogScanner(), { partSize: 8192 });
    // The crash: every part written, the index entry not.
    await storage.delete(keys.binlogMeta('main', 'binlog.000002'));
    assert.deepEqual(await listBinlogs(repo, 'main'), []);
    await assert.rejects(putBinlogFile(repo, 'main', 'binlog.000002', await file('b', binlogBytes(100, 500)), new BinlogScanner(), { partSize: 8192 }), code('ARCHIVE_CONFLICT'));
    assert.deepEqual(await listBinlogs(repo, 'main'), []);
    assert.equal((await putBinlogFile(repo, 'main', 'binlog.000002', await file('a', content), new BinlogScanner(), { partSize: 8192 })).outcome, 'stored');
    const [b] = await listBinlogs(repo, 'main');
    const out = join(dir, 'out-crash');
    await writeBinlogFile(repo, 'main', b!, out);
    assert.ok((await readFile(out)).equals(content));
  });

  it('a damaged or missing part fails the check and the read, naming the binlog', async () => {
    const { storage, repo } = await setup();
    await putBinlogFile(repo, 'main', 'binlog.000003', await file('a', binlogBytes(100, 500)), new BinlogScanner(), { partSize: 8192 });
    const [b] = await listBinlogs(repo, 'main');
    const part2 = keys.binlogPart('main', 'binlog.000003', 2);
    const original = await storage.get(part2);
    // Another part's bytes under this part's key: decodes, but the whole no longer matches.
    await storage.delete(part2);
    await storage.put(part2, repo.encode('archive', part2, Buffer.alloc(8192, 7)));
    await assert.rejects(checkBinlog(repo, 'main', b!), (e: unknown) => code('REPO_INVALID')(e) && /binlog binlog\.000003/.test((e as Error).message));
    await assert.rejects(writeBinlogFile(repo, 'main', b!, join(dir, 'out-damaged')), code('REPO_INVALID'));
    // A part of the wrong length is named as such.
    await storage.delete(part2);
    await storage.put(part2, repo.encode('archive', part2, Buffer.alloc(100, 7)));
    await assert.rejects(checkBinlog(repo, 'main', b!), (e: unknown) => code('REPO_INVALID')(e) && /has 100 bytes, its index entry says 8192/.test((e as Error).message));
    await storage.delete(part2);
    await assert.rejects(checkBinlog(repo, 'main', b!), code('STORAGE_NOT_FOUND'));
    await storage.put(part2, original);
    await checkBinlog(repo, 'main', b!);
  });

  it('an index entry with an impossible part size is damaged, not read', async () => {
    const { storage, repo } = await setup();
    const { binlog } = await putBinlogFile(repo, 'main', 'binlog.000009', await file('a', binlogBytes(100, 500)), new BinlogScanner(), { partSize: 8192 });
    const metaKey = keys.binlogMeta('main', 'binlog.000009');
    await storage.delete(metaKey);
    await storage.put(metaKey, repo.encode('archive', metaKey, Buffer.from(JSON.stringify({ ...binlog, partSize: 0 }))));
    await assert.rejects(listBinlogs(repo, 'main'), (e: unknown) => code('REPO_INVALID')(e) && /binlog\.000009\.meta is damaged/.test((e as Error).message));
  });

  it('encrypted: each part is bound to its key, so swapped parts fail authentication', async () => {
    const { storage, repo } = await setup(true);
    await putBinlogFile(repo, 'main', 'binlog.000004', await file('a', binlogBytes(100, 500)), new BinlogScanner(), { partSize: 8192 });
    const [b] = await listBinlogs(repo, 'main');
    await checkBinlog(repo, 'main', b!);
    const k1 = keys.binlogPart('main', 'binlog.000004', 1);
    const k2 = keys.binlogPart('main', 'binlog.000004', 2);
    const [o1, o2] = [await storage.get(k1), await storage.get(k2)];
    await storage.delete(k1);
    await storage.delete(k2);
    await storage.put(k1, o2);
    await storage.put(k2, o1);
    await assert.rejects(checkBinlog(repo, 'main', b!), code('OBJECT_TAMPERED'));
  });

  it('deleteBinlog removes the index entry and every part', async () => {
    const { storage, repo } = await setup();
    await putBinlogFile(repo, 'main', 'binlog.000005', await file('a', binlogBytes(100, 500)), new BinlogScanner(), { partSize: 8192 });
    await putBinlogFile(repo, 'main', 'binlog.000006', await file('b', binlogBytes(5, 10)), new BinlogScanner(), { partSize: 8192 });
    const [five] = await listBinlogs(repo, 'main');
    await deleteBinlog(repo, 'main', five!);
    assert.deepEqual(await keysUnder(storage, keys.binlogPrefix('main')), [keys.binlog('main', 'binlog.000006'), keys.binlogMeta('main', 'binlog.000006')]);
  });
});
