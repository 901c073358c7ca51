// Typed front of the codec worker pool: digest, seal and open repository objects off-thread.

import { availableParallelism } from 'node:os';
import { WorkerPool, workerScript } from '../core/worker-pool.js';
import type { ObjectKindName } from './object-format.js';

/** Copy a buffer into an ArrayBuffer of its own so it can be transferred to a worker. */
export function ownedArrayBuffer(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  const copy = new ArrayBuffer(b.byteLength);
  new Uint8Array(copy).set(b);
  return copy;
}

export class CodecPool {
  private readonly pool: WorkerPool;

  /** `dataKey`: the repository is encrypted; every object is sealed and opened under it. */
  constructor(idKey: Buffer, level: number, dataKey?: Buffer, size = Math.max(2, availableParallelism())) {
    this.pool = new WorkerPool(workerScript(import.meta.url, 'codec-worker'), size, { idKey: new Uint8Array(idKey), level, dataKey: dataKey ? new Uint8Array(dataKey) : undefined });
  }

  /** Keyed hash of a chunk. The buffer is transferred and handed back. */
  async digest(data: ArrayBuffer): Promise<{ chunkId: string; data: ArrayBuffer }> {
    return this.pool.run({ op: 'digest', data }, [data]);
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

  close(): Promise<void> {
    return this.pool.close();
  }
}
