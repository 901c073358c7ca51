// A dbtool repository on some Storage: init, open (unlocking an encrypted one), and the object
// codec shared by its parts.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Storage } from '../storage/storage.js';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import { CodecPool } from './codec-pool.js';
import { deriveKeys, storeKeyFile, unlockMasterKey, wrapMasterKey } from './keyring.js';
import type { KdfParams } from './keyring.js';
import { decodeObject, encodeObject, ObjectAuthError, ObjectFormatError } from './object-format.js';
import type { ObjectKindName } from './object-format.js';
import { DEFAULT_CHUNK_SIZE, REPO_CONFIG_KEY, REPO_FORMAT, REPO_FORMAT_ENCRYPTED, REPO_FORMAT_NEWEST, repoConfigSchema } from './repo-config.js';
import type { RepoConfig } from './repo-config.js';

export interface InitOptions {
  chunkSize?: number;
  compressionLevel?: number;
  /** encrypt the repository under this passphrase */
  passphrase?: string;
  /** scrypt cost (tests use a cheap one) */
  kdf?: KdfParams;
}

export interface OpenOptions {
  /** asked only when the repository is encrypted (so plain repositories never need one) */
  passphrase?: () => string | Promise<string>;
}

export class Repository {
  private codecPool: CodecPool | undefined;

  private constructor(
    readonly storage: Storage,
    readonly config: RepoConfig,
    /** HMAC key that names chunks */
    readonly idKey: Buffer,
    /** AES-256-GCM key of every object, on an encrypted repository */
    readonly dataKey: Buffer | undefined,
  ) {}

  /** Create a repository; refuses a location that already holds one. */
  static async init(storage: Storage, options: InitOptions = {}): Promise<Repository> {
    const encrypt = options.passphrase !== undefined;
    const base = {
      id: randomUUID(),
      created: new Date().toISOString(),
      chunkSize: options.chunkSize ?? storage.capabilities.defaultChunkSize ?? DEFAULT_CHUNK_SIZE,
      compression: { codec: 'zstd' as const, level: options.compressionLevel ?? 1 },
    };
    const exists = () => dbtoolError('REPO_EXISTS', `${storage.description} already holds a dbtool repository`, 'Use it as it is, or choose another --repo');
    if (!encrypt) {
      const config: RepoConfig = { format: REPO_FORMAT, ...base, idKey: randomBytes(32).toString('base64') };
      if (!(await storage.put(REPO_CONFIG_KEY, configBody(config), { ifAbsent: true }))) throw exists();
      return new Repository(storage, config, Buffer.from(config.idKey!, 'base64'), undefined);
    }
    if (options.passphrase === '') throw dbtoolError('PASSPHRASE_MISSING', 'the passphrase is empty', 'Choose a non-empty passphrase');
    // The key file first (a crash leaves a stray key no repository uses), then the config, once.
    if (await storage.stat(REPO_CONFIG_KEY)) throw exists();
    const config: RepoConfig = { format: REPO_FORMAT_ENCRYPTED, ...base, encryption: { cipher: 'aes-256-gcm', keys: 'keys/*.key', subkeys: 'hkdf-sha256' } };
    const master = randomBytes(32);
    const keyFile = await storeKeyFile(storage, await wrapMasterKey(master, options.passphrase!, config.id, options.kdf));
    if (!(await storage.put(REPO_CONFIG_KEY, configBody(config), { ifAbsent: true }))) {
      await storage.delete(keyFile);
      throw exists();
    }
    const k = deriveKeys(master, config.id);
    return new Repository(storage, config, k.idKey, k.dataKey);
  }

  /** Open an existing repository; a clear error when there is none, it is damaged, or the passphrase is wrong. */
  static async open(storage: Storage, options: OpenOptions = {}): Promise<Repository> {
    const config = await readRepoConfig(storage);
    if (!config.encryption) return new Repository(storage, config, Buffer.from(config.idKey!, 'base64'), undefined);
    if (!options.passphrase) {
      throw dbtoolError('PASSPHRASE_MISSING', `the repository at ${storage.description} is encrypted and no passphrase was given`, 'Set DBTOOL_PASSPHRASE or DBTOOL_PASSPHRASE_FILE');
    }
    const { master } = await unlockMasterKey(storage, await options.passphrase(), config.id);
    const k = deriveKeys(master, config.id);
    return new Repository(storage, config, k.idKey, k.dataKey);
  }

  get chunkSize(): number {
    return this.config.chunkSize;
  }

  get encrypted(): boolean {
    return this.dataKey !== undefined;
  }

  /** Worker threads for hashing, compression and encryption, started on first use. */
  codec(): CodecPool {
    this.codecPool ??= new CodecPool(this.idKey, this.config.compression.level, this.dataKey);
    return this.codecPool;
  }

  /** Encode small objects (manifests, archive files, meta) on the calling thread; `key` is where it is stored. */
  encode(kind: ObjectKindName, key: string, plain: Uint8Array): Buffer {
    return encodeObject(kind, plain, { level: this.config.compression.level, dataKey: this.dataKey, name: key });
  }

  /** Decode a non-chunk object stored under `key`; a damaged or tampered one is an error naming the key. */
  decode(kind: ObjectKindName, key: string, obj: Buffer): Buffer {
    try {
      return decodeObject(kind, obj, { dataKey: this.dataKey, name: key });
    } catch (e) {
      if (e instanceof ObjectAuthError) throw tamperedError(key, this.storage.description, e.message);
      if (e instanceof ObjectFormatError) {
        throw dbtoolError(kind === 'manifest' ? 'MANIFEST_INVALID' : 'REPO_INVALID', `${key} in ${this.storage.description} is damaged: ${e.message}`, 'Run `dbtool verify` to see what else is affected');
      }
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.codecPool?.close();
    this.codecPool = undefined;
    await this.storage.close();
  }
}

/** The one wording of a failed authentication, for every kind of object. */
export function tamperedError(key: string, where: string, detail: string) {
  return dbtoolError('OBJECT_TAMPERED', `${key} in ${where} failed authentication: ${detail}`, 'Nothing from it was used. Run `dbtool verify` to see what else is affected, and check who can write the repository');
}

function configBody(config: RepoConfig): Buffer {
  return Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
}

/** dbtool-repo.json, validated; no passphrase needed (it holds no secret of an encrypted repository). */
export async function readRepoConfig(storage: Storage): Promise<RepoConfig> {
  let raw: Buffer;
  try {
    raw = await storage.get(REPO_CONFIG_KEY);
  } catch (e) {
    if (isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND') {
      throw dbtoolError('REPO_NOT_FOUND', `no dbtool repository at ${storage.description}`, 'Create one with `dbtool repo init`, or point --repo (DBTOOL_REPO) at an existing one');
    }
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw dbtoolError('REPO_INVALID', `${REPO_CONFIG_KEY} in ${storage.description} is not valid JSON (${messageOf(e)})`, 'Restore the file from a copy; dbtool never rewrites it');
  }
  const format = (parsed as { format?: unknown }).format;
  if (typeof format === 'number' && format > REPO_FORMAT_NEWEST) {
    throw dbtoolError('REPO_INVALID', `the repository at ${storage.description} has format ${format}, newer than this dbtool understands (${REPO_FORMAT_NEWEST})`, 'Upgrade dbtool');
  }
  const result = repoConfigSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw dbtoolError('REPO_INVALID', `${REPO_CONFIG_KEY} in ${storage.description} is damaged (${issue?.path.join('.')}: ${issue?.message})`, 'Restore the file from a copy; dbtool never rewrites it');
  }
  return result.data;
}
