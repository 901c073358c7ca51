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

  constructor(idKey: Buffer, level: number, size = Math.max(2, availableParallelism())) {
    this.pool = new WorkerPool(workerScript(import.meta.url, 'codec-worker'), size, { idKey: new Uint8Array(idKey), level });
  }

  /** Keyed hash of a chunk. The buffer is transferred and handed back. */
  async digest(data: ArrayBuffer): Promise<{ chunkId: string; data: ArrayBuffer }> {
    return this.pool.run({ op: 'digest', data }, [data]);
  }

  async seal(kind: ObjectKindName, data: ArrayBuffer): Promise<Buffer> {
    const out = await this.pool.run<ArrayBuffer>({ op: 'seal', kind, data }, [data]);
    return Buffer.from(out);
  }

  /** Decode an object; for chunks pass the id to verify the plaintext against. */
  async open(kind: ObjectKindName, obj: ArrayBuffer, expectId?: string): Promise<Buffer> {
    const out = await this.pool.run<ArrayBuffer>({ op: 'open', kind, data: obj, expectId }, [obj]);
    return Buffer.from(out);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
