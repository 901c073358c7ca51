// The one narrow interface every repository backend implements (posix, memory, later s3).
// Keys are relative, '/'-separated, with no '..' or leading '/'. Objects are write-once by
// convention of the layers above; the driver only guarantees atomic visibility.

import type { Readable } from 'node:stream';
import { dbtoolError, isDbtoolError } from '../core/errors.js';

/** Keys are relative, '/'-separated, with no empty, '.' or '..' segments and no backslashes. */
export function assertValidKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw dbtoolError('INTERNAL', `invalid storage key '${key}'`, 'This is a bug in dbtool; please report it');
  }
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** last modification (upload) time, UTC */
  mtime: Date;
}

export interface PutOptions {
  /**
   * Fail with STORAGE_EXISTS semantics (returns false) when the key exists instead of replacing
   * it. Drivers that cannot do this atomically do a best-effort stat first.
   */
  ifAbsent?: boolean;
  /**
   * With ifAbsent: whatever object a concurrent writer stores under this key is as good as ours
   * (chunks are named by their content). A driver whose ifAbsent is a check-then-write may then
   * skip the check, and may return true although the key existed: the caller must not rely on
   * the answer.
   */
  interchangeable?: boolean;
}

export interface StorageCapabilities {
  /** put with ifAbsent is atomic (O_EXCL / link) rather than check-then-write */
  atomicIfAbsent: boolean;
  /** the driver keeps a local path for each object (posix only) */
  localPath: boolean;
  /**
   * chunk size of a repository created here when none is asked for (else DEFAULT_CHUNK_SIZE):
   * an object store costs a request (latency, CPU on both ends, a fee) per object
   */
  defaultChunkSize?: number;
}

export interface Storage {
  readonly capabilities: StorageCapabilities;
  /** A human name for messages: a path or URL, never credentials. */
  readonly description: string;

  /**
   * Store an object atomically and durably: when the promise resolves, readers see either the
   * whole new object or (before) nothing; a crash never leaves a partial object visible.
   * Returns false only when `ifAbsent` is set and the key already exists.
   */
  put(key: string, data: Buffer | Uint8Array, options?: PutOptions): Promise<boolean>;
  /** Like put, from a stream (large objects); same guarantees. */
  putStream(key: string, data: Readable, options?: PutOptions): Promise<boolean>;
  /** The whole object. Throws DbtoolError STORAGE_NOT_FOUND if missing. */
  get(key: string): Promise<Buffer>;
  /** A stream of the object. Throws (or the stream errors with) STORAGE_NOT_FOUND if missing. */
  getStream(key: string): Promise<Readable>;
  /** Metadata, or undefined if missing. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /**
   * Every object whose key starts with `prefix`, sorted by key, any depth. Paginated drivers
   * page internally; the iterator yields each object once.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * The keys list(prefix) gives, in the same order, for drivers where list pays per object for
   * what it reports (posix: a stat); callers that need only keys use it when present.
   */
  listKeys?(prefix: string): AsyncIterable<string>;
  /** Remove an object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Release connections and handles. */
  close(): Promise<void>;
  /**
   * The local file that holds `key`, for drivers with `capabilities.localPath` (posix): worker
   * threads read chunks there themselves. Reading it must mean what get() means.
   */
  localPath?(key: string): string;
}

/**
 * The keys under `prefix`, as list(prefix) gives them: through listKeys where the driver has it
 * (posix: no stat per object), else from list.
 */
export async function* listKeysOf(storage: Storage, prefix: string): AsyncIterable<string> {
  if (storage.listKeys) {
    yield* storage.listKeys(prefix);
    return;
  }
  for await (const o of storage.list(prefix)) yield o.key;
}

/** The whole object, or undefined when it is missing (every other failure still throws). */
export async function getIfPresent(storage: Storage, key: string): Promise<Buffer | undefined> {
  try {
    return await storage.get(key);
  } catch (e) {
    if (isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND') return undefined;
    throw e;
  }
}
