import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isDbtoolError } from '../../src/core/errors.js';
import { pushArchiveFile, getArchiveFile, listArchive } from '../../src/repo/archive.js';
import { checkChunk, ChunkWriter, listChunkIds } from '../../src/repo/chunk-store.js';
import { keys } from '../../src/repo/keys.js';
import { acquireLock, isStale } from '../../src/repo/lock.js';
import { readManifest, writeManifest, listBackupLabels } from '../../src/repo/manifest.js';
import type { Manifest } from '../../src/repo/manifest.js';
import { materialise } from '../../src/repo/materialise.js';
import { Repository } from '../../src/repo/repository.js';
import { claimSource } from '../../src/repo/source-identity.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';
import { PosixStorage } from '../../src/storage/posix/posix-storage.js';

const code = (c: string) => (e: unknown) => isDbtoolError(e) && e.code === c;

describe('repository', () => {
  const opened: Repository[] = [];
  const newRepo = async (chunkSize = 64 * 1024) => {
    const r = await Repository.init(new MemoryStorage(), { chunkSize });
    opened.push(r);
    return r;
  };
  after(async () => {
    for (const r of opened) await r.close();
  });

  it('init refuses an existing repository; open refuses a missing or damaged one', async () => {
    const storage = new MemoryStorage();
    const r = await Repository.init(storage);
    opened.push(r);
    await assert.rejects(Repository.init(storage), code('REPO_EXISTS'));
    await assert.rejects(Repository.open(new MemoryStorage()), code('REPO_NOT_FOUND'));
    const broken = new MemoryStorage();
    await broken.put('dbtool-repo.json', Buffer.from('{"format":1,"id":"x"}'));
    await assert.rejects(Repository.open(broken), code('REPO_INVALID'));
    const newer = new MemoryStorage();
    await newer.put('dbtool-repo.json', Buffer.from('{"format":9}'));
    await assert.rejects(Repository.open(newer), (e) => isDbtoolError(e) && /newer than this dbtool/.test(e.message));
  });

  it('chunks a stream of unknown length, and the same bytes give the same chunks', async () => {
    const repo = await newRepo();
    const data = randomBytes(repo.chunkSize * 2 + 12_345);
    const w = new ChunkWriter(repo, await listChunkIds(repo), 3);
    const pieces = [data.subarray(0, 1000), data.subarray(1000, repo.chunkSize + 7), data.subarray(repo.chunkSize + 7)];
    const unknown = await w.addStream(Readable.from(pieces), undefined);
    const declared = await w.addStream(Readable.from([data]), data.length);
    const empty = await w.addStream(Readable.from([]), undefined);
    await w.flush();
    assert.equal(unknown.size, data.length);
    assert.deepEqual(await unknown.ids, await declared.ids);
    assert.equal((await unknown.ids).length, 3);
    assert.equal(empty.size, 0);
    assert.deepEqual(await empty.ids, []);
    await assert.rejects(w.addStream(Readable.from([data]), data.length - 1), code('SERVER_PROTOCOL'));
  });

  it('stores each distinct chunk once and restores files byte for byte', async () => {
    const repo = await newRepo();
    const a = randomBytes(200_000);
    const b = Buffer.concat([a.subarray(0, 131072), randomBytes(1000)]); // shares two chunks with a
    const w = new ChunkWriter(repo, await listChunkIds(repo), 3);
    const ia = (await w.addStream(Readable.from([a.subarray(0, 70_000), a.subarray(70_000)]), a.length)).ids;
    const ib = (await w.addStream(Readable.from([b]), b.length)).ids;
    await w.flush();
    const [ca, cb] = [await ia, await ib];
    assert.equal(ca.length, 4);
    assert.deepEqual(cb.slice(0, 2), ca.slice(0, 2));
    assert.equal((await listChunkIds(repo)).size, 5, 'shared chunks stored once');
    assert.equal(w.stats.read, a.length + b.length);
    assert.equal(w.stats.new, a.length + 1000);

    const manifest = {
      format: 1, label: '20261121T221000Z-F', source: 'main', engine: 'postgres', type: 'full', parent: null,
      startTime: '2026-11-21T22:10:00Z', stopTime: '2026-11-21T22:11:00Z', chunkSize: repo.chunkSize,
      server: { version: '15', versionNum: 150000, systemId: '1' },
      bytes: { database: a.length + b.length, read: 0, new: 0, stored: 0 },
      files: [
        { path: 'dir', type: 'directory', mode: 0o700, size: 0, mtime: '' },
        { path: 'dir/a', type: 'file', mode: 0o600, size: a.length, mtime: '', chunks: ca },
        { path: 'b', type: 'file', mode: 0o600, size: b.length, mtime: '', chunks: cb },
        { path: 'empty', type: 'file', mode: 0o600, size: 0, mtime: '', chunks: [] },
      ],
    } satisfies Manifest;
    await writeManifest(repo, manifest);
    await assert.rejects(writeManifest(repo, manifest), /already exists/);
    assert.deepEqual(await readManifest(repo, 'main', manifest.label), manifest);
    assert.deepEqual(await listBackupLabels(repo, 'main'), [manifest.label]);

    const dir = await mkdtemp(join(tmpdir(), 'dbtool-mat-'));
    try {
      const r = await materialise({ repo, manifest, destination: (p) => join(dir, p) });
      assert.equal(r.files, 3);
      assert.deepEqual(await readFile(join(dir, 'dir/a')), a);
      assert.deepEqual(await readFile(join(dir, 'b')), b);
      assert.equal((await readFile(join(dir, 'empty'))).length, 0);

      // A flipped byte in a chunk fails the restore, naming the chunk and the file.
      const key = keys.chunk(cb[2]!);
      const obj = await repo.storage.get(key);
      obj[obj.length - 1]! ^= 0x55;
      await repo.storage.put(key, obj);
      await rm(dir, { recursive: true, force: true });
      await assert.rejects(materialise({ repo, manifest, destination: (p) => join(dir, p) }), (e) => isDbtoolError(e) && e.code === 'CHUNK_CORRUPT' && e.message.includes(cb[2]!) && e.message.includes('file b'));
      await repo.storage.delete(key);
      await rm(dir, { recursive: true, force: true });
      await assert.rejects(materialise({ repo, manifest, destination: (p) => join(dir, p) }), (e) => isDbtoolError(e) && e.code === 'CHUNK_MISSING' && e.message.includes('file b'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('on posix storage, workers read, verify and write chunks themselves, with the same errors', async () => {
    const root = await mkdtemp(join(tmpdir(), 'dbtool-posix-repo-'));
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-mat-'));
    const repo = await Repository.init(new PosixStorage(root), { chunkSize: 64 * 1024 });
    opened.push(repo);
    try {
      const a = randomBytes(150_000);
      const w = new ChunkWriter(repo, await listChunkIds(repo), 2);
      // A stream that fails half-way gives its slots back: the writer still works afterwards.
      async function* broken() {
        yield a.subarray(0, 70_000);
        throw new Error('cut');
      }
      await assert.rejects(w.addStream(broken(), a.length), /cut/);
      const ids = await (await w.addStream(Readable.from([a]), a.length)).ids;
      await w.flush();
      assert.equal(ids.length, 3);
      const checked = await checkChunk(repo, ids[2]!, 'file a');
      assert.equal(checked.plainBytes, a.length - 2 * 65536);
      assert.equal(checked.storedBytes, (await repo.storage.stat(keys.chunk(ids[2]!)))!.size);
      const manifest = {
        format: 1, label: '20261121T221000Z-F', source: 'main', engine: 'postgres', type: 'full', parent: null,
        startTime: '2026-11-21T22:10:00Z', stopTime: '2026-11-21T22:11:00Z', chunkSize: repo.chunkSize,
        server: { version: '15', versionNum: 150000, systemId: '1' },
        bytes: { database: a.length, read: 0, new: 0, stored: 0 },
        files: [{ path: 'a', type: 'file', mode: 0o600, size: a.length, mtime: '', chunks: ids }],
      } satisfies Manifest;
      const restore = async () => {
        await rm(join(dir, 'a'), { force: true });
        return materialise({ repo, manifest, destination: (p) => join(dir, p) });
      };
      assert.equal((await restore()).bytes, a.length);
      assert.deepEqual(await readFile(join(dir, 'a')), a);
      // A chunk listed where another of a different length belongs: corrupt, naming the file.
      await assert.rejects(materialise({ repo, manifest: { ...manifest, files: [{ ...manifest.files[0]!, chunks: [ids[0]!, ids[2]!, ids[2]!] }] }, destination: (p) => join(dir, `x-${p}`) }), (e) => isDbtoolError(e) && e.code === 'CHUNK_CORRUPT' && e.message.includes('file a'));
      const key = keys.chunk(ids[1]!);
      const obj = await repo.storage.get(key);
      obj[obj.length - 1]! ^= 0x55;
      await repo.storage.delete(key);
      await repo.storage.put(key, obj);
      await assert.rejects(restore(), (e) => isDbtoolError(e) && e.code === 'CHUNK_CORRUPT' && e.message.includes(ids[1]!) && e.message.includes('file a'));
      await assert.rejects(checkChunk(repo, ids[1]!, 'file a'), code('CHUNK_CORRUPT'));
      await repo.storage.delete(key);
      await assert.rejects(restore(), (e) => isDbtoolError(e) && e.code === 'CHUNK_MISSING' && e.message.includes('file a'));
      await assert.rejects(checkChunk(repo, ids[1]!, 'file a'), code('CHUNK_MISSING'));
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a damaged manifest is reported, naming it', async () => {
    const repo = await newRepo();
    const mkey = keys.manifest('main', '20261121T221000Z-F');
    await repo.storage.put(mkey, repo.encode('manifest', mkey, Buffer.from('{"format":1}')));
    await assert.rejects(readManifest(repo, 'main', '20261121T221000Z-F'), (e) => isDbtoolError(e) && e.code === 'MANIFEST_INVALID' && /20261121T221000Z-F/.test(e.message));
    await assert.rejects(readManifest(repo, 'main', '20261121T221001Z-F'), code('BACKUP_NOT_FOUND'));
  });

  it('a source belongs to one cluster', async () => {
    const repo = await newRepo();
    await claimSource(repo, 'main', 'postgres', '111');
    await claimSource(repo, 'main', 'postgres', '111');
    await assert.rejects(claimSource(repo, 'main', 'postgres', '222'), code('REPO_OTHER_CLUSTER'));
    await claimSource(repo, 'other', 'postgres', '222');
  });

  it('archive: write once, identical re-push is fine, different content is a conflict', async () => {
    const repo = await newRepo();
    const seg = randomBytes(4096);
    assert.equal(await pushArchiveFile(repo, 'main', '000000010000000000000003', seg), 'stored');
    assert.equal(await pushArchiveFile(repo, 'main', '000000010000000000000003', Buffer.from(seg)), 'identical');
    await assert.rejects(pushArchiveFile(repo, 'main', '000000010000000000000003', randomBytes(4096)), code('ARCHIVE_CONFLICT'));
    await pushArchiveFile(repo, 'main', '00000002.history', Buffer.from('1\t0/3000000\tx\n'));
    assert.deepEqual(await getArchiveFile(repo, 'main', '000000010000000000000003'), seg);
    assert.equal(await getArchiveFile(repo, 'main', '000000010000000000000004'), undefined);
    assert.deepEqual((await listArchive(repo, 'main')).map((f) => [f.timeline, f.kind]), [[1, 'segment'], [2, 'history']]);
  });

  it('locks: a live holder blocks, a dead one is taken over', async () => {
    const repo = await newRepo();
    const lock = await acquireLock(repo, 'main', 'backup');
    await assert.rejects(acquireLock(repo, 'main', 'backup'), (e) => isDbtoolError(e) && e.code === 'REPO_LOCKED' && /pid \d+/.test(e.message));
    await lock.release();
    await (await acquireLock(repo, 'main', 'backup')).release();
    // A lock left by a process that no longer exists on this host.
    await repo.storage.put(keys.lock('main'), Buffer.from(JSON.stringify({ pid: 2 ** 22 + 17, host: hostname(), command: 'backup', since: '' })));
    assert.ok(isStale({ pid: 2 ** 22 + 17, host: hostname(), command: 'backup', since: '' }));
    await (await acquireLock(repo, 'main', 'backup')).release();
    assert.equal(isStale({ pid: 1, host: 'another-host', command: 'backup', since: '' }), false, 'another host is never presumed dead');
  });
});
