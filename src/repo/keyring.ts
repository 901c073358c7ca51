// The keys of an encrypted repository: a random master key, wrapped (AES-256-GCM) under a key
// derived from the passphrase with scrypt, stored as write-once `keys/<id>.key` objects; and the
// subkeys derived from the master key with HKDF (chunk-id HMAC key, data key). Changing the
// passphrase writes a new key object, then deletes the old ones: data is never rewritten.

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, randomUUID, scrypt } from 'node:crypto';
import { z } from 'zod';
import { dbtoolError, messageOf } from '../core/errors.js';
import { getIfPresent, listKeysOf } from '../storage/storage.js';
import type { Storage } from '../storage/storage.js';
import { keys } from './keys.js';

/** scrypt cost: N = 2^16, r = 8 (64 MiB, ≈ 0.12 s on the reference machine), p = 1. */
export const DEFAULT_KDF = { N: 2 ** 16, r: 8, p: 1 } as const;

/** at most 1 GiB of scrypt memory: a key file must not be able to exhaust the machine */
const MAX_KDF_MEMORY = 2 ** 30;

const kdfSchema = z
  .object({
    name: z.literal('scrypt'),
    N: z.number().int().min(2).max(2 ** 22),
    r: z.number().int().min(1).max(64),
    p: z.number().int().min(1).max(64),
    salt: z.string().min(16),
  })
  .refine((k) => 128 * k.N * k.r <= MAX_KDF_MEMORY, { message: 'scrypt parameters need more than 1 GiB' });

const keyFileSchema = z.object({
  format: z.literal(1),
  kdf: kdfSchema,
  cipher: z.literal('aes-256-gcm'),
  nonce: z.string(),
  /** the master key encrypted under the passphrase key, then the GCM tag (base64) */
  wrapped: z.string(),
  created: z.string(),
});

export type KeyFile = z.infer<typeof keyFileSchema>;
export type KdfParams = Pick<z.infer<typeof kdfSchema>, 'N' | 'r' | 'p'>;

/** The keys a repository works with once unlocked. */
export interface RepoKeys {
  /** HMAC-SHA256 key that names chunks */
  idKey: Buffer;
  /** AES-256-GCM key of every object */
  dataKey: Buffer;
}

/** Both subkeys from the master key; the repository id salts them, so two repos never share keys. */
export function deriveKeys(master: Buffer, repoId: string): RepoKeys {
  const sub = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.from(repoId, 'utf8'), Buffer.from(info, 'utf8'), 32));
  return { idKey: sub('dbtool chunk-id key v1'), dataKey: sub('dbtool data key v1') };
}

function passphraseKey(passphrase: string, salt: Buffer, p: KdfParams): Promise<Buffer> {
  // maxmem: scrypt needs 128·N·r bytes; Node's default (32 MiB) is too small for N = 2^16.
  const maxmem = 128 * p.N * p.r * 2 + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize('NFC'), salt, 32, { N: p.N, r: p.r, p: p.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Associated data of a wrapped key: it belongs to this repository. */
function wrapAad(repoId: string): Buffer {
  return Buffer.from(`dbtool master key\0${repoId}`, 'utf8');
}

export async function wrapMasterKey(master: Buffer, passphrase: string, repoId: string, params: KdfParams = DEFAULT_KDF): Promise<KeyFile> {
  const salt = randomBytes(32);
  const kek = await passphraseKey(passphrase, salt, params);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(wrapAad(repoId));
  const wrapped = Buffer.concat([cipher.update(master), cipher.final(), cipher.getAuthTag()]);
  return {
    format: 1,
    kdf: { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64') },
    cipher: 'aes-256-gcm',
    nonce: nonce.toString('base64'),
    wrapped: wrapped.toString('base64'),
    created: new Date().toISOString(),
  };
}

/** The master key, or undefined when the passphrase does not open this key file. */
export async function unwrapMasterKey(file: KeyFile, passphrase: string, repoId: string): Promise<Buffer | undefined> {
  const kek = await passphraseKey(passphrase, Buffer.from(file.kdf.salt, 'base64'), file.kdf);
  const wrapped = Buffer.from(file.wrapped, 'base64');
  if (wrapped.length !== 32 + 16) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(file.nonce, 'base64'));
  decipher.setAAD(wrapAad(repoId));
  decipher.setAuthTag(wrapped.subarray(32));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(0, 32)), decipher.final()]);
  } catch {
    return undefined;
  }
}

async function readKeyFile(storage: Storage, key: string): Promise<KeyFile | undefined> {
  // Missing: deleted by a concurrent passwd.
  const raw = await getIfPresent(storage, key);
  if (!raw) return undefined;
  try {
    return keyFileSchema.parse(JSON.parse(raw.toString('utf8')));
  } catch (e) {
    throw dbtoolError('REPO_INVALID', `key file ${key} in ${storage.description} is damaged (${messageOf(e)})`, 'Restore it from a copy of the repository');
  }
}

async function listKeyFiles(storage: Storage): Promise<string[]> {
  const out: string[] = [];
  for await (const key of listKeysOf(storage, keys.keysPrefix)) if (key.endsWith('.key')) out.push(key);
  return out.sort();
}

/** Store a new key file (write-once); its key. */
export async function storeKeyFile(storage: Storage, file: KeyFile): Promise<string> {
  const key = keys.keyFile(randomUUID());
  const created = await storage.put(key, Buffer.from(`${JSON.stringify(file, null, 2)}\n`), { ifAbsent: true });
  if (!created) throw dbtoolError('INTERNAL', `key file ${key} already exists`, 'Retry');
  return key;
}

/** Try the passphrase on every key file; the master key and which file opened it. */
export async function unlockMasterKey(storage: Storage, passphrase: string, repoId: string): Promise<{ master: Buffer; keyFile: string }> {
  const files = await listKeyFiles(storage);
  if (files.length === 0) {
    throw dbtoolError('REPO_INVALID', `the encrypted repository at ${storage.description} has no key file (${keys.keysPrefix}*.key)`, 'Restore the keys/ directory from a copy of the repository');
  }
  const tried = new Set<string>();
  const attempt = async (listing: string[]) => {
    for (const key of listing) {
      if (tried.has(key)) continue;
      tried.add(key);
      const file = await readKeyFile(storage, key);
      const master = file && (await unwrapMasterKey(file, passphrase, repoId));
      if (master) return { master, keyFile: key };
    }
    return undefined;
  };
  // Listed twice: a `repo passwd` running meanwhile may have replaced the key file after the first listing.
  const found = (await attempt(files)) ?? (await attempt(await listKeyFiles(storage)));
  if (found) return found;
  throw dbtoolError('PASSPHRASE_WRONG', `the passphrase does not open the encrypted repository at ${storage.description}`, 'Check DBTOOL_PASSPHRASE or the file DBTOOL_PASSPHRASE_FILE names');
}

/**
 * Change the passphrase: write the master key wrapped under the new one, then delete every other
 * key file. A crash in between leaves both passphrases working, never neither.
 */
export async function rewrapMasterKey(storage: Storage, oldPassphrase: string, newPassphrase: string, repoId: string, params: KdfParams = DEFAULT_KDF): Promise<{ keyFile: string; removed: string[] }> {
  const { master } = await unlockMasterKey(storage, oldPassphrase, repoId);
  const keyFile = await storeKeyFile(storage, await wrapMasterKey(master, newPassphrase, repoId, params));
  // Read it back before deleting anything: the old key files go only once the new one works.
  const written = await readKeyFile(storage, keyFile);
  const check = written && (await unwrapMasterKey(written, newPassphrase, repoId));
  if (!check || !check.equals(master)) throw dbtoolError('STORAGE_IO', `the new key file ${keyFile} does not read back`, 'Nothing was deleted; the old passphrase still works. Retry');
  const removed: string[] = [];
  for (const key of await listKeyFiles(storage)) {
    if (key === keyFile) continue;
    await storage.delete(key);
    removed.push(key);
  }
  return { keyFile, removed };
}
