// A dbtool repository on some Storage: init, open, and the object codec shared by its parts.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Storage } from '../storage/storage.js';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import { CodecPool } from './codec-pool.js';
import { decodeObject, encodeObject, ObjectFormatError } from './object-format.js';
import type { ObjectKindName } from './object-format.js';
import { DEFAULT_CHUNK_SIZE, REPO_CONFIG_KEY, REPO_FORMAT, repoConfigSchema } from './repo-config.js';
import type { RepoConfig } from './repo-config.js';

export interface InitOptions {
  chunkSize?: number;
  compressionLevel?: number;
}

export class Repository {
  private codecPool: CodecPool | undefined;
  readonly idKey: Buffer;

  private constructor(
    readonly storage: Storage,
    readonly config: RepoConfig,
  ) {
    this.idKey = Buffer.from(config.idKey, 'base64');
  }

  /** Create a repository; refuses a location that already holds one. */
  static async init(storage: Storage, options: InitOptions = {}): Promise<Repository> {
    const config: RepoConfig = {
      format: REPO_FORMAT,
      id: randomUUID(),
      created: new Date().toISOString(),
      chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      compression: { codec: 'zstd', level: options.compressionLevel ?? 1 },
      idKey: randomBytes(32).toString('base64'),
    };
    const body = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
    const created = await storage.put(REPO_CONFIG_KEY, body, { ifAbsent: true });
    if (!created) {
      throw dbtoolError('REPO_EXISTS', `${storage.description} already holds a dbtool repository`, 'Use it as it is, or choose another --repo');
    }
    return new Repository(storage, config);
  }

  /** Open an existing repository; a clear error when there is none or it is damaged. */
  static async open(storage: Storage): Promise<Repository> {
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
    if (typeof format === 'number' && format > REPO_FORMAT) {
      throw dbtoolError('REPO_INVALID', `the repository at ${storage.description} has format ${format}, newer than this dbtool understands (${REPO_FORMAT})`, 'Upgrade dbtool');
    }
    const result = repoConfigSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw dbtoolError('REPO_INVALID', `${REPO_CONFIG_KEY} in ${storage.description} is damaged (${issue?.path.join('.')}: ${issue?.message})`, 'Restore the file from a copy; dbtool never rewrites it');
    }
    return new Repository(storage, result.data);
  }

  get chunkSize(): number {
    return this.config.chunkSize;
  }

  /** Worker threads for hashing and compression, started on first use. */
  codec(): CodecPool {
    this.codecPool ??= new CodecPool(this.idKey, this.config.compression.level);
    return this.codecPool;
  }

  /** Encode small metadata objects (manifests, archive files) on the calling thread. */
  encode(kind: ObjectKindName, plain: Uint8Array): Buffer {
    return encodeObject(kind, plain, { level: this.config.compression.level });
  }

  /** Decode a non-chunk object; a damaged one is an error naming the key. */
  decode(kind: ObjectKindName, key: string, obj: Buffer): Buffer {
    try {
      return decodeObject(kind, obj);
    } catch (e) {
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
