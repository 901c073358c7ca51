import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestProblems } from '../../src/command/verify/plan.js';
import { isDbtoolError } from '../../src/core/errors.js';
import { ChunkWriter, listChunkIds } from '../../src/repo/chunk-store.js';
import { endsBundle, FileBundler, isBundled, readUpTo } from '../../src/repo/file-bundler.js';
import { keys } from '../../src/repo/keys.js';
import { chunkLength, readManifest, writeManifest } from '../../src/repo/manifest.js';
import type { Manifest, ManifestFile } from '../../src/repo/manifest.js';
import { materialise } from '../../src/repo/materialise.js';
import { Repository } from '../../src/repo/repository.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';
import { PosixStorage } from '../../src/storage/posix/posix-storage.js';

const code = (c: string) => (e: unknown) => isDbtoolError(e) && e.code === c;

/** A name that does (or does not) end a bundle, found by trying suffixes. */
function nameThat(ends: boolean, prefix: string): string {
  for (let i = 0; ; i++) if (endsBundle(`${prefix}${i}`) === ends) return `${prefix}${i}`;
}

function manifestOf(repo: Repository, files: ManifestFile[]): Manifest {
  return {
    format: 2, label: '20261121T221000Z-F', source: 'main', engine: 'postgres', type: 'full', parent: null,
    startTime: '2026-11-21T22:10:00Z', stopTime: '2026-11-21T22:11:00Z', chunkSize: repo.chunkSize,
    server: { version: '15', versionNum: 150000, systemId: '1' },
    postgres: { startLsn: '0/2000028', stopLsn: '0/2000100', timeline: 1, stopTimeline: 1, startWal: '000000010000000000000002', stopWal: '000000010000000000000002', walSegmentSize: 16 * 1024 * 1024, tablespaces: [] },
    bytes: { database: files.reduce((n, f) => n + f.size, 0), read: 0, new: 0, stored: 0 },
    files,
  };
}

describe('file bundles', () => {
  const opened: Repository[] = [];
  after(async () => {
    for (const r of opened) await r.close();
  });

  it('bundles files up to a quarter of a chunk, never empty ones', () => {
    assert.equal(isBundled(1, 1024), true);
    assert.equal(isBundled(256, 1024), true);
    assert.equal(isBundled(257, 1024), false);
    assert.equal(isBundled(0, 1024), false);
  });

  it('ends a bundle by the file name alone, about one name in 16', () => {
    assert.equal(endsBundle('base/1/2619'), endsBundle('base/5/2619'), 'the same name in another database');
    let ends = 0;
    for (let i = 0; i < 16_000; i++) if (endsBundle(`base/5/${16384 + i}`)) ends++;
    assert.ok(ends > 800 && ends < 1200, `${ends} of 16000 names end a bundle`);
  });

  it('packs small files into shared chunks and restores each byte for byte', async () => {
    for (const storage of ['memory', 'posix'] as const) {
      const root = await mkdtemp(join(tmpdir(), 'dbtool-bundle-repo-'));
      const dir = await mkdtemp(join(tmpdir(), 'dbtool-bundle-out-'));
      try {
        const repo = await Repository.init(storage === 'memory' ? new MemoryStorage() : new PosixStorage(root), { chunkSize: 64 * 1024 });
        opened.push(repo);
        const w = new ChunkWriter(repo, await listChunkIds(repo), 2);
        let told = 0;
        const bundler = new FileBundler(w, repo.chunkSize, (n) => (told += n));
        // Three files in one bundle (the third's name ends it), then two that do not fit one chunk.
        const names = [nameThat(false, 'a'), nameThat(false, 'b'), nameThat(true, 'c'), nameThat(false, 'd'), nameThat(false, 'e')];
        const sizes = [1000, 5000, 300, 16_000, 50_000];
        const datas = sizes.map((n) => randomBytes(n));
        const files: ManifestFile[] = names.map((path, i) => ({ path, type: 'file', mode: 0o600, size: sizes[i]!, mtime: '' }));
        for (let i = 0; i < files.length; i++) {
          // Delivered in pieces, as a tar stream would.
          const d = datas[i]!;
          await bundler.add(files[i]!, [d.subarray(0, 100), d.subarray(100)], d.length);
        }
        await bundler.flush();
        await w.flush();
        assert.equal(told, sizes.reduce((a, b) => a + b, 0));
        assert.deepEqual(files.map((f) => f.bundle?.offset), [0, 1000, 6000, 0, 0]);
        assert.deepEqual(files.map((f) => f.bundle?.size), [6300, 6300, 6300, 16_000, 50_000]);
        assert.equal(new Set(files.map((f) => f.chunks![0])).size, 3);
        assert.equal((await listChunkIds(repo)).size, 3);
        assert.equal(chunkLength(repo.chunkSize, files[1]!, 0), 6300);

        const manifest = manifestOf(repo, files);
        assert.deepEqual(manifestProblems(manifest), []);
        await writeManifest(repo, manifest);
        assert.deepEqual(await readManifest(repo, 'main', manifest.label), manifest);
        const r = await materialise({ repo, manifest, destination: (p) => join(dir, p) });
        assert.equal(r.files, 5);
        assert.equal(r.bytes, told);
        for (let i = 0; i < files.length; i++) assert.deepEqual(await readFile(join(dir, names[i]!)), datas[i], names[i]);
      } finally {
        await rm(root, { recursive: true, force: true });
        await rm(dir, { recursive: true, force: true });
      }
    }
  });

  it('readUpTo: a stream that ends within the limit comes whole (copied), a longer one whole as a stream', async () => {
    async function* pieces(bufs: Buffer[]) {
      yield* bufs;
    }
    const a = randomBytes(300);
    const b = randomBytes(200);
    const small = await readUpTo(pieces([a, b]), 500);
    assert.ok(small.whole);
    const expected = Buffer.concat([a, b]);
    a.fill(0); // the producer reusing its buffer does not reach what was read
    assert.deepEqual(small.whole, expected);
    assert.deepEqual((await readUpTo(pieces([]), 500)).whole, Buffer.alloc(0));

    const c = randomBytes(300);
    const d = randomBytes(300);
    const e = randomBytes(50);
    const large = await readUpTo(pieces([c, d, e]), 500);
    assert.ok(large.rest);
    const got: Buffer[] = [];
    for await (const p of large.rest) got.push(p);
    assert.deepEqual(Buffer.concat(got), Buffer.concat([c, d, e]));
  });

  it('a file that sends more or fewer bytes than it declared is refused', async () => {
    const repo = await Repository.init(new MemoryStorage(), { chunkSize: 64 * 1024 });
    opened.push(repo);
    const bundler = new FileBundler(new ChunkWriter(repo, new Set()), repo.chunkSize);
    const file = (): ManifestFile => ({ path: 'x', type: 'file', mode: 0o600, size: 10, mtime: '' });
    await assert.rejects(bundler.add(file(), [Buffer.alloc(11)], 10), (e) => code('SERVER_PROTOCOL')(e) && /more than its declared 10 bytes/.test(String(e)));
    await assert.rejects(bundler.add(file(), [Buffer.alloc(9)], 10), (e) => code('SERVER_PROTOCOL')(e) && /after 9 of its 10 bytes/.test(String(e)));
  });

  it('a bundled file that does not fit its bundle, or a bundle of the wrong size, restores nothing from it', async () => {
    const repo = await Repository.init(new MemoryStorage(), { chunkSize: 64 * 1024 });
    opened.push(repo);
    const w = new ChunkWriter(repo, new Set());
    const bundler = new FileBundler(w, repo.chunkSize);
    const data = randomBytes(2000);
    const file: ManifestFile = { path: nameThat(true, 'f'), type: 'file', mode: 0o600, size: data.length, mtime: '' };
    await bundler.add(file, [data], data.length);
    await bundler.flush();
    await w.flush();
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-bundle-out-'));
    try {
      const past = manifestOf(repo, [{ ...file, bundle: { offset: 1, size: 2000 } }]);
      assert.match(manifestProblems(past).join(), /ends past its bundle of 2000 bytes/);
      await assert.rejects(materialise({ repo, manifest: past, destination: (p) => join(dir, p) }), (e) => code('MANIFEST_INVALID')(e) && /ends past its bundle of 2000 bytes/.test(String(e)));
      const two = manifestOf(repo, [{ ...file, chunks: [file.chunks![0]!, file.chunks![0]!] }]);
      assert.match(manifestProblems(two).join(), /has 2 chunk\(s\) for 2000 bytes, expected 1/);
      await assert.rejects(materialise({ repo, manifest: two, destination: (p) => join(dir, p) }), code('MANIFEST_INVALID'));
      // A manifest that claims a larger bundle than the chunk holds: the chunk is refused.
      const wrong = manifestOf(repo, [{ ...file, size: 1000, bundle: { offset: 0, size: 4000 } }]);
      await assert.rejects(materialise({ repo, manifest: wrong, destination: (p) => join(dir, p) }), (e) => code('CHUNK_CORRUPT')(e) && /has 2000 bytes, expected 4000/.test(String(e)));
      // A damaged bundle fails the restore, naming the chunk and the file.
      const key = keys.chunk(file.chunks![0]!);
      const obj = await repo.storage.get(key);
      obj[obj.length - 1]! ^= 0x55;
      await repo.storage.put(key, obj);
      await rm(dir, { recursive: true, force: true });
      await assert.rejects(materialise({ repo, manifest: manifestOf(repo, [file]), destination: (p) => join(dir, p) }), (e) => code('CHUNK_CORRUPT')(e) && String(e).includes(file.chunks![0]!) && String(e).includes(`file ${file.path}`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('manifests of format 1 still read; a newer format is refused', async () => {
    const repo = await Repository.init(new MemoryStorage(), { chunkSize: 64 * 1024 });
    opened.push(repo);
    const old = { ...manifestOf(repo, []), format: 1 as const };
    await writeManifest(repo, old);
    assert.deepEqual(await readManifest(repo, 'main', old.label), old);
    const label = '20261121T221001Z-F';
    const key = keys.manifest('main', label);
    await repo.storage.put(key, repo.encode('manifest', key, Buffer.from(JSON.stringify({ ...old, label, format: 3 }))));
    await assert.rejects(readManifest(repo, 'main', label), (e) => code('MANIFEST_INVALID')(e) && /format/.test(String(e)));
  });
});
