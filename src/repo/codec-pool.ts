// Typed front of the codec worker pool: hash, seal and open repository objects off-thread.

import { availableParallelism } from 'node:os';
import { WorkerPool, workerScript } from '../core/worker-pool.js';
import type { ObjectKindName } from './object-format.js';

/**
 * Shared memory the main thread fills with chunk plaintext and the workers read in place: no
 * buffer is allocated, transferred or collected per chunk. The owner decides which ranges are
 * in use; a range must not change until the task that reads it has settled.
 */
export interface ChunkArena {
  readonly id: number;
  /** the whole arena, for the owner to write into */
  readonly bytes: Buffer;
}

/** Where a restored chunk's plaintext goes: `fd` at `offset`; `directFd` is the same file opened O_DIRECT. */
export interface ChunkTarget {
  fd: number;
  offset: number;
  length: number;
  directFd?: number;
}

export class CodecPool {
  private readonly pool: WorkerPool;
  private nextArena = 1;

  /** `dataKey`: the repository is encrypted; every object is sealed and opened under it. */
  constructor(idKey: Buffer, level: number, dataKey?: Buffer, size = Math.max(2, availableParallelism())) {
    this.pool = new WorkerPool(workerScript(import.meta.url, 'codec-worker'), size, { idKey: new Uint8Array(idKey), level, dataKey: dataKey ? new Uint8Array(dataKey) : undefined });
  }

  /** Shared memory of `size` bytes every worker can read chunk plaintext from. */
  createArena(size: number): ChunkArena {
    const id = this.nextArena++;
    const shared = new SharedArrayBuffer(size);
    this.pool.broadcast({ op: 'arena', arena: id, shared });
    return { id, bytes: Buffer.from(shared) };
  }

  /** The workers forget the arena (tasks posted before this still see it). */
  dropArena(arena: ChunkArena): void {
    this.pool.broadcast({ op: 'dropArena', arena: arena.id });
  }

  /**
   * Keyed hash of the chunk at `offset`/`length` in an arena; with `seal`, also its encoded
   * object (one round trip when the caller expects the chunk to be new).
   */
  async digestIn(arena: ChunkArena, offset: number, length: number, seal: boolean): Promise<{ chunkId: string; obj?: Buffer }> {
    const r = await this.pool.run<{ chunkId: string; obj?: ArrayBuffer }>({ op: 'digestIn', arena: arena.id, offset, length, seal });
    return r.obj ? { chunkId: r.chunkId, obj: Buffer.from(r.obj) } : { chunkId: r.chunkId };
  }

  /** Encode the chunk `chunkId` held at `offset`/`length` in an arena. */
  async sealIn(arena: ChunkArena, offset: number, length: number, chunkId: string): Promise<Buffer> {
    const out = await this.pool.run<ArrayBuffer>({ op: 'sealIn', arena: arena.id, offset, length, name: chunkId });
    return Buffer.from(out);
  }

  /** Encode an object; `name` is its identity (a chunk's id, another object's key). */
  async seal(kind: ObjectKindName, name: string, data: ArrayBuffer): Promise<Buffer> {
    const out = await this.pool.run<ArrayBuffer>({ op: 'seal', kind, name, data }, [data]);
    return Buffer.from(out);
  }

  /**
   * Decode an object stored as `name`; for chunks pass the id to verify the plaintext against.
   * A failed authentication rejects with an Error named 'ObjectAuthError'.
   */
  async open(kind: ObjectKindName, name: string, obj: ArrayBuffer, expectId?: string): Promise<Buffer> {
    const out = await this.pool.run<ArrayBuffer>({ op: 'open', kind, name, data: obj, expectId }, [obj]);
    return Buffer.from(out);
  }

  /** open() without the plaintext coming back: checks the object, returns the plaintext's length. */
  async check(kind: ObjectKindName, name: string, obj: ArrayBuffer, expectId?: string): Promise<number> {
    return this.pool.run<number>({ op: 'open', kind, name, data: obj, expectId, lengthOnly: true }, [obj]);
  }

  /**
   * A chunk object read by a worker from its local file (`path`), decoded and checked against
   * `chunkId`; with `into`, its plaintext (which must be `length` bytes) is written at `offset`
   * of the open file `fd` (the aligned part through `directFd` when given). Failures reject with
   * Errors named ChunkMissingError, ChunkReadError, ObjectAuthError, ChunkLengthError,
   * TargetWriteError, or anything else for a damaged object.
   */
  async openFile(path: string, chunkId: string, into?: ChunkTarget): Promise<{ plainBytes: number; storedBytes: number }> {
    return this.pool.run({ op: 'openFile', path, kind: 'chunk', name: chunkId, expectId: chunkId, ...into });
  }

  /**
   * openFile() for an object already fetched (a remote repository): the worker decodes it, checks
   * it against `chunkId` and writes the plaintext into `into`. The buffer is transferred.
   */
  async openInto(obj: ArrayBuffer, chunkId: string, into: ChunkTarget): Promise<{ plainBytes: number; storedBytes: number }> {
    return this.pool.run({ op: 'openInto', data: obj, kind: 'chunk', name: chunkId, expectId: chunkId, ...into }, [obj]);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
