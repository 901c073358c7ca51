// Content-addressed chunks: split entry streams into fixed-size chunks, store each new one once,
// and read them back verified. Writing is pipelined with bounded memory (a Limiter).

import { Readable } from 'node:stream';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import { keys, chunkIdFromKey } from './keys.js';
import { Limiter } from './limiter.js';
import type { Repository } from './repository.js';
import { tamperedError } from './repository.js';
import { ownedArrayBuffer } from './codec-pool.js';

export interface ChunkStats {
  /** plaintext bytes read from the source */
  read: number;
  /** plaintext bytes of chunks that were not in the repository yet */
  new: number;
  /** bytes written to storage for those chunks (after compression) */
  stored: number;
  /** chunks written */
  newChunks: number;
}

/** Every chunk id present in the repository (listing `chunks/`). */
export async function listChunkIds(repo: Repository): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const obj of repo.storage.list(keys.chunksPrefix)) {
    const id = chunkIdFromKey(obj.key);
    if (id) ids.add(id);
  }
  return ids;
}

export class ChunkWriter {
  readonly stats: ChunkStats = { read: 0, new: 0, stored: 0, newChunks: 0 };
  private readonly inFlight = new Map<string, Promise<void>>();
  /** chunks being hashed or compressed: plaintext buffers in memory */
  private readonly cpu: Limiter;
  /** compressed chunks being written: storage latency must not stall hashing and compression */
  private readonly io: Limiter;
  private readonly pending = new Set<Promise<unknown>>();
  private failure: unknown;

  /**
   * @param known chunk ids already in the repository (they are skipped)
   * @param cpuSlots chunks being hashed or compressed at once
   * @param ioSlots compressed chunks being written at once (memory ≤ (cpu + io) × chunk size)
   */
  constructor(
    private readonly repo: Repository,
    private readonly known: Set<string>,
    cpuSlots = 6,
    ioSlots = 32,
  ) {
    this.cpu = new Limiter(cpuSlots);
    this.io = new Limiter(ioSlots);
  }

  /**
   * Read a stream to its end, chunking it; returns once it is read, with the number of bytes read
   * and a promise of the chunk ids (in order) that settles when every new chunk is durably stored.
   * `size` is the declared length (checked: a stream that sends more or less is an error), or
   * undefined for a stream of unknown length (a dump on stdout, an xbstream file).
   */
  async addStream(stream: AsyncIterable<Buffer>, size: number | undefined, onBytes?: (n: number) => void): Promise<{ ids: Promise<string[]>; size: number }> {
    const chunkSize = this.repo.chunkSize;
    const results: Array<Promise<string>> = [];
    const known = size !== undefined;
    let remaining = size ?? Number.POSITIVE_INFINITY;
    let total = 0;
    const nextBuffer = () => (remaining > 0 ? Buffer.allocUnsafeSlow(Math.min(chunkSize, remaining)) : undefined);
    let current = nextBuffer();
    let filled = 0;
    const cut = async (buf: Buffer) => {
      remaining -= buf.length;
      total += buf.length;
      onBytes?.(buf.length);
      await this.cpu.acquire();
      const stored = this.storeChunk(buf);
      // Mark as handled at once: the failure is rethrown by the next read or by flush().
      stored.catch((e: unknown) => {
        this.failure ??= e;
      });
      results.push(stored);
    };
    for await (const piece of stream) {
      this.throwIfFailed();
      let off = 0;
      while (off < piece.length) {
        if (!current) throw dbtoolError('SERVER_PROTOCOL', `an entry sent more than its declared ${size} bytes`, 'Retry the backup; report a bug if it persists');
        const n = Math.min(current.length - filled, piece.length - off);
        piece.copy(current, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === current.length) {
          await cut(current);
          current = nextBuffer();
          filled = 0;
        }
      }
    }
    if (!known && current && filled > 0) {
      // The tail of a stream of unknown length: a buffer of its own, exactly its size (it is transferred to a worker).
      const tail = Buffer.allocUnsafeSlow(filled);
      current.copy(tail, 0, 0, filled);
      await cut(tail);
    } else if (known && (current || remaining !== 0)) {
      throw dbtoolError('SERVER_PROTOCOL', `an entry ended after ${total + filled} of its ${size} bytes`, 'Retry the backup; the connection may have been cut');
    }
    const all = Promise.all(results);
    this.track(all);
    // Wrapped: an async function returning a bare promise would wait for it.
    return { ids: all, size: total };
  }

  /** Store one in-memory buffer as chunks (small files, generated files). */
  async addBuffer(data: Buffer): Promise<string[]> {
    const { ids } = await this.addStream(Readable.from([data]), data.length);
    return ids;
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    p.then(
      () => this.pending.delete(p),
      (e: unknown) => {
        this.pending.delete(p);
        this.failure ??= e;
      },
    );
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Hash (off-thread), skip if known, else compress (off-thread) and put. Called holding a cpu
   * slot, which it gives back once the plaintext is no longer needed.
   */
  private async storeChunk(buf: Buffer): Promise<string> {
    let holdsCpu = true;
    const releaseCpu = () => {
      if (holdsCpu) this.cpu.release();
      holdsCpu = false;
    };
    try {
      this.stats.read += buf.length;
      const codec = this.repo.codec();
      const { chunkId, data } = await codec.digest(buf.buffer as ArrayBuffer);
      if (this.known.has(chunkId)) return chunkId;
      const existing = this.inFlight.get(chunkId);
      if (existing) {
        releaseCpu();
        await existing;
        return chunkId;
      }
      const plainLen = data.byteLength;
      const write = (async () => {
        const obj = await codec.seal('chunk', chunkId, data);
        releaseCpu();
        await this.io.run(() => this.repo.storage.put(keys.chunk(chunkId), obj, { ifAbsent: true, interchangeable: true }));
        this.stats.new += plainLen;
        this.stats.stored += obj.length;
        this.stats.newChunks++;
        this.known.add(chunkId);
      })();
      this.inFlight.set(chunkId, write);
      try {
        await write;
      } finally {
        this.inFlight.delete(chunkId);
      }
      return chunkId;
    } finally {
      releaseCpu();
    }
  }

  /** Wait until every chunk handed in so far is stored; rethrows the first failure. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.throwIfFailed();
  }
}

/** Read a chunk, verify it against its id; errors name the chunk and the caller's context. */
export async function readChunk(repo: Repository, id: string, context: string): Promise<Buffer> {
  const key = keys.chunk(id);
  let obj: Buffer;
  try {
    obj = await repo.storage.get(key);
  } catch (e) {
    if (isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND') {
      throw dbtoolError('CHUNK_MISSING', `chunk ${id} of ${context} is missing from the repository`, 'Run `dbtool verify` to see every affected backup; restore another backup');
    }
    throw e;
  }
  try {
    return await repo.codec().open('chunk', id, ownedArrayBuffer(obj), id);
  } catch (e) {
    if (e instanceof Error && e.name === 'ObjectAuthError') throw tamperedError(`chunk ${id} of ${context} (${key})`, repo.storage.description, e.message);
    throw dbtoolError('CHUNK_CORRUPT', `chunk ${id} of ${context} is corrupt (${messageOf(e)})`, 'Run `dbtool verify` to see every affected backup; restore another backup');
  }
}
