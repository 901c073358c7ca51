import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isDbtoolError } from '../../src/core/errors.js';
import { getArchiveFile, pushArchiveFile } from '../../src/repo/archive.js';
import { ChunkWriter, listChunkIds, readChunk } from '../../src/repo/chunk-store.js';
import { rewrapMasterKey, storeKeyFile, unlockMasterKey, wrapMasterKey, unwrapMasterKey, DEFAULT_KDF } from '../../src/repo/keyring.js';
import { repoPasswd } from '../../src/command/repo-passwd/index.js';
import { keys } from '../../src/repo/keys.js';
import { acquireLockKey } from '../../src/repo/lock.js';
import { readManifest, writeManifest } from '../../src/repo/manifest.js';
import type { Manifest } from '../../src/repo/manifest.js';
import { materialise } from '../../src/repo/materialise.js';
import { Repository } from '../../src/repo/repository.js';
import { claimSource, readSourceIdentity } from '../../src/repo/source-identity.js';
import { MemoryStorage } from '../../src/storage/memory/memory-storage.js';

const code = (c: string, ...words: string[]) => (e: unknown) => isDbtoolError(e) && e.code === c && words.every((w) => e.message.includes(w));
/** cheap scrypt for tests; the default cost is exercised once below */
const kdf = { N: 1024, r: 8, p: 1 };

function manifestOf(label: string, chunkSize: number, files: Array<{ path: string; data: Buffer; chunks: string[] }>): Manifest {
  return {
    format: 1, label, source: 'main', engine: 'postgres', type: 'full', parent: null,
    startTime: '2026-11-21T22:10:00Z', stopTime: '2026-11-21T22:11:00Z', chunkSize,
    server: { version: '15', versionNum: 150000, systemId: '1' },
    bytes: { database: 0, read: 0, new: 0, stored: 0 },
    files: files.map((f) => ({ path: f.path, type: 'file' as const, mode: 0o600, size: f.data.length, mtime: '', chunks: f.chunks })),
  };
}

describe('encrypted repository', () => {
  const opened: Repository[] = [];
  const track = (r: Repository) => {
    opened.push(r);
    return r;
  };
  after(async () => {
    for (const r of opened) await r.close();
  });

  it('init stores no id key and no secret in dbtool-repo.json; open needs the passphrase', async () => {
    const storage = new MemoryStorage();
    const repo = track(await Repository.init(storage, { passphrase: 'correct horse', kdf, chunkSize: 64 * 1024 }));
    assert.ok(repo.encrypted);
    const config = JSON.parse((await storage.get('dbtool-repo.json')).toString('utf8')) as Record<string, unknown>;
    assert.equal(config.idKey, undefined, 'no chunk-id key in clear');
    assert.equal(config.format, 2);
    assert.deepEqual(config.encryption, { cipher: 'aes-256-gcm', keys: 'keys/*.key', subkeys: 'hkdf-sha256' });
    const keyFiles: string[] = [];
    for await (const o of storage.list('keys/')) keyFiles.push(o.key);
    assert.equal(keyFiles.length, 1);
    const keyText = (await storage.get(keyFiles[0]!)).toString('utf8');
    assert.ok(!keyText.includes(repo.idKey.toString('base64')) && !keyText.includes(repo.dataKey!.toString('base64')));

    const again = track(await Repository.open(storage, { passphrase: () => 'correct horse' }));
    assert.deepEqual(again.idKey, repo.idKey);
    assert.deepEqual(again.dataKey, repo.dataKey);
    assert.notDeepEqual(repo.idKey, repo.dataKey, 'separate subkeys');
    await assert.rejects(Repository.open(storage, { passphrase: () => 'wrong horse' }), code('PASSPHRASE_WRONG'));
    await assert.rejects(Repository.open(storage), code('PASSPHRASE_MISSING'));
    await assert.rejects(Repository.init(storage, { passphrase: 'x', kdf }), code('REPO_EXISTS'));
    await assert.rejects(Repository.init(new MemoryStorage(), { passphrase: '', kdf }), code('PASSPHRASE_MISSING'));
    // A plain repository never asks.
    const plain = new MemoryStorage();
    track(await Repository.init(plain));
    const p = track(await Repository.open(plain, { passphrase: () => assert.fail('a plain repository asked for a passphrase') }));
    assert.equal(p.encrypted, false);
  });

  it('the default scrypt cost wraps and unwraps; the key is bound to its repository', async () => {
    const master = randomBytes(32);
    const file = await wrapMasterKey(master, 'pw', 'repo-a');
    assert.deepEqual({ N: file.kdf.N, r: file.kdf.r, p: file.kdf.p }, DEFAULT_KDF);
    assert.deepEqual(await unwrapMasterKey(file, 'pw', 'repo-a'), master);
    assert.equal(await unwrapMasterKey(file, 'pw2', 'repo-a'), undefined);
    assert.equal(await unwrapMasterKey(file, 'pw', 'repo-b'), undefined);
  });

  it('chunks, manifests, archive files and source identities round-trip; nothing is in clear', async () => {
    const storage = new MemoryStorage();
    const repo = track(await Repository.init(storage, { passphrase: 'pw', kdf, chunkSize: 64 * 1024 }));
    const marker = Buffer.from('MARKER-7f3a9c '.repeat(10000));
    const w = new ChunkWriter(repo, await listChunkIds(repo), 3);
    const ids = await (await w.addStream(Readable.from([marker]), marker.length)).ids;
    await w.flush();
    const manifest = manifestOf('20261121T221000Z-F', repo.chunkSize, [{ path: 'f', data: marker, chunks: ids }]);
    await writeManifest(repo, manifest);
    await pushArchiveFile(repo, 'main', '000000010000000000000003', marker.subarray(0, 5000));
    await claimSource(repo, 'main', 'postgres', '7300000000000000001');
    for await (const o of storage.list('')) {
      const bytes = await storage.get(o.key);
      assert.equal(bytes.indexOf('MARKER-7f3a9c'), -1, `${o.key} holds the plaintext`);
      assert.equal(bytes.indexOf('7300000000000000001'), -1, `${o.key} holds the system id`);
    }
    const reopened = track(await Repository.open(storage, { passphrase: () => 'pw' }));
    assert.deepEqual(await readManifest(reopened, 'main', manifest.label), manifest);
    assert.deepEqual(await getArchiveFile(reopened, 'main', '000000010000000000000003'), marker.subarray(0, 5000));
    assert.equal((await readSourceIdentity(reopened, 'main'))?.systemId, '7300000000000000001');
    const dir = await mkdtemp(join(tmpdir(), 'dbtool-enc-'));
    try {
      await materialise({ repo: reopened, manifest, destination: (p) => join(dir, p) });
      assert.deepEqual(await readFile(join(dir, 'f')), marker);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tampered and swapped objects fail authentication, naming them', async () => {
    const storage = new MemoryStorage();
    const repo = track(await Repository.init(storage, { passphrase: 'pw', kdf, chunkSize: 64 * 1024 }));
    const a = randomBytes(1000);
    const b = randomBytes(1000);
    const w = new ChunkWriter(repo, new Set(), 3);
    const [ia] = await (await w.addStream([a], a.length)).ids;
    const [ib] = await (await w.addStream([b], b.length)).ids;
    await w.flush();
    const m1 = manifestOf('20261121T221000Z-F', repo.chunkSize, [{ path: 'a', data: a, chunks: [ia!] }]);
    const m2 = manifestOf('20261121T221500Z-F', repo.chunkSize, [{ path: 'b', data: b, chunks: [ib!] }]);
    await writeManifest(repo, m1);
    await writeManifest(repo, m2);
    await pushArchiveFile(repo, 'main', '000000010000000000000003', randomBytes(2000));
    await pushArchiveFile(repo, 'main', '000000010000000000000004', randomBytes(2000));

    // A flipped byte in a chunk.
    const ka = keys.chunk(ia!);
    const objA = await storage.get(ka);
    const flipped = Buffer.from(objA);
    flipped[flipped.length - 20]! ^= 1;
    await storage.put(ka, flipped);
    await assert.rejects(readChunk(repo, ia!, 'file a'), code('OBJECT_TAMPERED', ia!, 'file a'));
    // Chunk B's bytes under chunk A's key.
    await storage.put(ka, await storage.get(keys.chunk(ib!)));
    await assert.rejects(readChunk(repo, ia!, 'file a'), code('OBJECT_TAMPERED', ia!));
    await storage.put(ka, objA);
    assert.deepEqual(await readChunk(repo, ia!, 'file a'), a);

    // Manifests: a flipped byte, and one manifest's bytes under another's name.
    const k1 = keys.manifest('main', m1.label);
    const k2 = keys.manifest('main', m2.label);
    const obj1 = await storage.get(k1);
    const bad = Buffer.from(obj1);
    bad[30]! ^= 1;
    await storage.put(k1, bad);
    await assert.rejects(readManifest(repo, 'main', m1.label), code('OBJECT_TAMPERED', k1));
    await storage.put(k1, await storage.get(k2));
    await assert.rejects(readManifest(repo, 'main', m1.label), code('OBJECT_TAMPERED', k1));

    // Archive files likewise.
    const w3 = keys.archive('main', 1, '000000010000000000000003');
    const w4 = keys.archive('main', 1, '000000010000000000000004');
    await storage.put(w3, await storage.get(w4));
    await assert.rejects(getArchiveFile(repo, 'main', '000000010000000000000003'), code('OBJECT_TAMPERED', w3));
  });

  it('a key file asking for more than 1 GiB of scrypt memory is refused as damaged', async () => {
    const storage = new MemoryStorage();
    const repo = track(await Repository.init(storage, { passphrase: 'pw', kdf }));
    for await (const o of storage.list('keys/')) {
      const file = JSON.parse((await storage.get(o.key)).toString('utf8')) as { kdf: { N: number; r: number } };
      file.kdf.N = 2 ** 22;
      file.kdf.r = 64;
      await storage.put(o.key, Buffer.from(JSON.stringify(file)));
    }
    await assert.rejects(Repository.open(storage, { passphrase: () => 'pw' }), code('REPO_INVALID', 'keys/'));
    assert.ok(repo.encrypted);
  });

  it('passwd: the new passphrase opens, the old one no longer does; a crash midway leaves both', async () => {
    const storage = new MemoryStorage();
    const repo = track(await Repository.init(storage, { passphrase: 'old', kdf }));
    const { removed } = await rewrapMasterKey(storage, 'old', 'new', repo.config.id, kdf);
    assert.equal(removed.length, 1);
    await assert.rejects(Repository.open(storage, { passphrase: () => 'old' }), code('PASSPHRASE_WRONG'));
    const reopened = track(await Repository.open(storage, { passphrase: () => 'new' }));
    assert.deepEqual(reopened.dataKey, repo.dataKey, 'the data keys did not change: nothing is rewritten');
    await assert.rejects(rewrapMasterKey(storage, 'old', 'newer', repo.config.id, kdf), code('PASSPHRASE_WRONG'));

    // A crash after the new key file is written and before the old one is deleted.
    const { master } = await unlockMasterKey(storage, 'new', repo.config.id);
    await storeKeyFile(storage, await wrapMasterKey(master, 'newest', repo.config.id, kdf));
    track(await Repository.open(storage, { passphrase: () => 'new' }));
    track(await Repository.open(storage, { passphrase: () => 'newest' }));
    // The next passwd leaves exactly one key file.
    await rewrapMasterKey(storage, 'newest', 'final', repo.config.id, kdf);
    const left: string[] = [];
    for await (const o of storage.list('keys/')) left.push(o.key);
    assert.equal(left.length, 1);
    await assert.rejects(Repository.open(storage, { passphrase: () => 'new' }), code('PASSPHRASE_WRONG'));
    track(await Repository.open(storage, { passphrase: () => 'final' }));
  });

  it('repo passwd refuses a plain repository without asking, and a second passwd at the same time', async () => {
    const ask = () => assert.fail('asked for a passphrase');
    const plain = track(await Repository.init(new MemoryStorage()));
    await assert.rejects(repoPasswd({ repo: plain, oldPassphrase: ask, newPassphrase: ask }), code('USAGE'));
    const repo = track(await Repository.init(new MemoryStorage(), { passphrase: 'a', kdf }));
    const held = await acquireLockKey(repo, keys.passwdLock, 'the repository keys', 'repo passwd');
    await assert.rejects(repoPasswd({ repo, oldPassphrase: async () => 'a', newPassphrase: async () => 'b', kdf }), code('REPO_LOCKED'));
    await held.release();
    await repoPasswd({ repo, oldPassphrase: async () => 'a', newPassphrase: async () => 'b', kdf });
    track(await Repository.open(repo.storage, { passphrase: () => 'b' }));
  });
});
