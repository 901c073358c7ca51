// Content-addressed chunks: split entry streams into fixed-size chunks, store each new one once,
// and read them back verified. Writing is pipelined with bounded memory (a Limiter).

import type { FileHandle } from 'node:fs/promises';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import { keys, chunkIdFromKey } from './keys.js';
import { Limiter } from './limiter.js';
import { listKeysOf } from '../storage/storage.js';
import type { Repository } from './repository.js';
import { tamperedError } from './repository.js';
import { arrayBufferCopy, ownedArrayBuffer } from './owned-array-buffer.js';
import type { ChunkArena } from './codec-pool.js';
import type { SharedChunkObjects } from './shared-chunk-objects.js';

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
  for await (const key of listKeysOf(repo.storage, keys.chunksPrefix)) {
    const id = chunkIdFromKey(key);
    if (id) ids.add(id);
  }
  return ids;
}

/**
 * How many chunks of `chunkSize` may be on their way to or from storage at once: 32 MiB of them,
 * at least 4 (a bound on memory, not a speed knob; remote stores want many requests in flight).
 */
export function chunksInFlight(chunkSize: number): number {
  return Math.max(4, Math.floor((32 * 1024 * 1024) / chunkSize));
}

export class ChunkWriter {
  readonly stats: ChunkStats = { read: 0, new: 0, stored: 0, newChunks: 0 };
  private readonly inFlight = new Map<string, Promise<void>>();
  /** chunks being hashed or compressed: plaintext held in arena slots */
  private readonly cpu: Limiter;
  /** compressed chunks being written: storage latency must not stall hashing and compression */
  private readonly io: Limiter;
  private readonly pending = new Set<Promise<unknown>>();
  private failure: unknown;
  /** shared memory of cpuSlots slots of one chunk each, made on first use, dropped by flush() */
  private arena: ChunkArena | undefined;
  private freeSlots: number[] = [];
  /**
   * Whether the last chunk was new: new chunks come in runs (a fresh full, a changed range), so
   * the next one is then hashed and compressed in one round trip to a worker, and a known one
   * costs only a compression thrown away.
   */
  private expectNew = false;

  /**
   * @param known chunk ids already in the repository (they are skipped)
   * @param cpuSlots chunks being hashed or compressed at once
   * @param ioSlots compressed chunks being written at once (memory ≤ (cpu + io) × chunk size)
   */
  constructor(
    private readonly repo: Repository,
    private readonly known: Set<string>,
    private readonly cpuSlots = 6,
    ioSlots = chunksInFlight(repo.chunkSize),
  ) {
    this.cpu = new Limiter(cpuSlots);
    this.io = new Limiter(ioSlots);
  }

  /** A free arena slot for one chunk's plaintext, waiting for one (backpressure). */
  private async takeSlot(): Promise<{ arena: ChunkArena; offset: number }> {
    await this.cpu.acquire();
    if (!this.arena) {
      this.arena = this.repo.codec().createArena(this.cpuSlots * this.repo.chunkSize);
      this.freeSlots = Array.from({ length: this.cpuSlots }, (_, i) => i);
    }
    const slot = this.freeSlots.pop();
    if (slot === undefined) throw dbtoolError('INTERNAL', 'no free chunk slot while holding a cpu slot');
    return { arena: this.arena, offset: slot * this.repo.chunkSize };
  }

  private giveSlot(arena: ChunkArena, offset: number): void {
    // A slot of an arena already dropped (after a failed flush) is not reused.
    if (arena === this.arena) this.freeSlots.push(offset / this.repo.chunkSize);
    this.cpu.release();
  }

  /**
   * Read a stream to its end, chunking it; returns once it is read, with the number of bytes read
   * and a promise of the chunk ids (in order) that settles when every new chunk is durably stored.
   * `size` is the declared length (checked: a stream that sends more or less is an error), or
   * undefined for a stream of unknown length (a dump on stdout, an xbstream file).
   */
  async addStream(stream: AsyncIterable<Buffer> | Iterable<Buffer>, size: number | undefined, onBytes?: (n: number) => void): Promise<{ ids: Promise<string[]>; size: number }> {
    const chunkSize = this.repo.chunkSize;
    const results: Array<Promise<string>> = [];
    const known = size !== undefined;
    let remaining = size ?? Number.POSITIVE_INFINITY;
    let total = 0;
    /** the slot being filled, and how much of this chunk it should hold */
    let current: { arena: ChunkArena; offset: number; length: number } | undefined;
    let filled = 0;
    const cut = (length: number) => {
      const { arena, offset } = current!;
      current = undefined;
      filled = 0;
      remaining -= length;
      total += length;
      onBytes?.(length);
      const stored = this.storeChunk(arena, offset, length);
      // Mark as handled at once: the failure is rethrown by the next read or by flush().
      stored.catch((e: unknown) => {
        this.failure ??= e;
      });
      results.push(stored);
    };
    try {
      for await (const piece of stream) {
        this.throwIfFailed();
        let off = 0;
        while (off < piece.length) {
          if (remaining <= 0) throw entryTooLong(size!);
          if (!current) current = { ...(await this.takeSlot()), length: Math.min(chunkSize, remaining) };
          const n = Math.min(current.length - filled, piece.length - off);
          piece.copy(current.arena.bytes, current.offset + filled, off, off + n);
          filled += n;
          off += n;
          if (filled === current.length) cut(current.length);
        }
      }
      if (!known && current && filled > 0) cut(filled);
      else if (known && remaining !== 0) {
        throw entryTooShort(total + filled, size);
      }
    } finally {
      // A slot taken for a chunk that was never cut (a failed stream) goes back.
      if (current) this.giveSlot(current.arena, current.offset);
    }
    const all = Promise.all(results);
    this.track(all);
    // Wrapped: an async function returning a bare promise would wait for it.
    return { ids: all, size: total };
  }

  /**
   * Chunk one file's stream into `file`: its size once read, its chunk ids once they are stored.
   * flush() waits for the ids too, so every file is complete when it returns.
   */
  async addFile(file: { size: number; chunks?: string[] }, stream: AsyncIterable<Buffer> | Iterable<Buffer>, size: number | undefined, onBytes?: (n: number) => void): Promise<void> {
    const { ids, size: read } = await this.addStream(stream, size, onBytes);
    file.size = read;
    this.track(
      ids.then((list) => {
        file.chunks = list;
      }),
    );
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
   * Hash (off-thread), skip if known, else compress (off-thread) and put. Called holding the
   * arena slot of the chunk, which it gives back once the plaintext is no longer needed.
   */
  private async storeChunk(arena: ChunkArena, offset: number, length: number): Promise<string> {
    let holdsSlot = true;
    const releaseSlot = () => {
      if (holdsSlot) this.giveSlot(arena, offset);
      holdsSlot = false;
    };
    try {
      this.stats.read += length;
      const codec = this.repo.codec();
      const guess = this.expectNew;
      const digested = await codec.digestIn(arena, offset, length, guess);
      const { chunkId } = digested;
      if (this.known.has(chunkId)) {
        this.expectNew = false;
        return chunkId;
      }
      const existing = this.inFlight.get(chunkId);
      if (existing) {
        releaseSlot();
        await existing;
        return chunkId;
      }
      this.expectNew = true;
      const write = (async () => {
        const obj = digested.obj ?? (await codec.sealIn(arena, offset, length, chunkId));
        releaseSlot();
        await this.io.run(() => this.repo.storage.put(keys.chunk(chunkId), obj, { ifAbsent: true, interchangeable: true }));
        this.stats.new += length;
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
      releaseSlot();
    }
  }

  /** Wait until every chunk handed in so far is stored; rethrows the first failure. */
  async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    } finally {
      // Idle now (or failed): the workers let go of the shared memory; the next chunk makes a new one.
      if (this.arena) this.repo.codec().dropArena(this.arena);
      this.arena = undefined;
      this.freeSlots = [];
    }
    this.throwIfFailed();
  }
}

/** An entry of the source's stream longer than its header said. */
export function entryTooLong(size: number) {
  return dbtoolError('SERVER_PROTOCOL', `an entry sent more than its declared ${size} bytes`, 'Retry the backup; report a bug if it persists');
}

/** An entry of the source's stream that ended before its header's length. */
export function entryTooShort(read: number, size: number) {
  return dbtoolError('SERVER_PROTOCOL', `an entry ended after ${read} of its ${size} bytes`, 'Retry the backup; the connection may have been cut');
}

/** Read a chunk, verify it against its id; errors name the chunk and the caller's context. */
export async function readChunk(repo: Repository, id: string, context: string): Promise<Buffer> {
  const obj = await getChunkObject(repo, id, context);
  return inWorker(repo, id, context, () => repo.codec().open('chunk', id, ownedArrayBuffer(obj), id));
}

/**
 * Read a chunk and verify it against its id, as readChunk, without bringing the plaintext back
 * from the worker: its length, and the size of the stored object (what verify reports as read).
 */
export async function checkChunk(repo: Repository, id: string, context: string): Promise<{ plainBytes: number; storedBytes: number }> {
  const path = repo.storage.localPath?.(keys.chunk(id));
  if (path) return inWorker(repo, id, context, () => repo.codec().openFile(path, id));
  const obj = await getChunkObject(repo, id, context);
  const plainBytes = await inWorker(repo, id, context, () => repo.codec().check('chunk', id, ownedArrayBuffer(obj), id));
  return { plainBytes, storedBytes: obj.length };
}

/**
 * Read a chunk, verify it and write its plaintext (which must be `length` bytes) at `offset` of
 * the open file `fh`; returns the bytes written. A worker does all of it (on local storage it
 * also reads the object), writing the aligned part through `directFd` (the same file opened
 * O_DIRECT) when given. On a remote store, `shared` fetches a repeated chunk's object once.
 */
export async function writeChunkTo(repo: Repository, id: string, context: string, fh: FileHandle, offset: number, length: number, directFd?: number, shared?: SharedChunkObjects): Promise<number> {
  const into = { fd: fh.fd, offset, length, directFd };
  const path = repo.storage.localPath?.(keys.chunk(id));
  if (path) return (await inWorker(repo, id, context, () => repo.codec().openFile(path, id, into))).plainBytes;
  const fetch = () => getChunkObject(repo, id, context);
  const got = shared ? await shared.get(id, fetch) : { obj: await fetch(), shared: false };
  // The buffer moves to the worker; a buffer that another use still needs is copied instead.
  const data = got.shared ? arrayBufferCopy(got.obj) : ownedArrayBuffer(got.obj);
  return (await inWorker(repo, id, context, () => repo.codec().openInto(data, id, into))).plainBytes;
}

/** A chunk's stored object; a missing one is CHUNK_MISSING, naming the caller's context. */
async function getChunkObject(repo: Repository, id: string, context: string): Promise<Buffer> {
  try {
    return await repo.storage.get(keys.chunk(id));
  } catch (e) {
    if (isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND') throw missingError(id, context);
    throw e;
  }
}

/** A worker's chunk operation, its failures (told apart by the error's name) as catalogue errors. */
async function inWorker<T>(repo: Repository, id: string, context: string, op: () => Promise<T>): Promise<T> {
  const key = keys.chunk(id);
  try {
    return await op();
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    if (name === 'ChunkMissingError') throw missingError(id, context);
    if (name === 'ChunkReadError') throw dbtoolError('STORAGE_IO', `reading ${key} in ${repo.storage.description} failed (${messageOf(e)})`, 'Check permissions and the filesystem of the repository', e);
    if (name === 'ObjectAuthError') throw tamperedError(`chunk ${id} of ${context} (${key})`, repo.storage.description, messageOf(e));
    if (name === 'ChunkLengthError') throw dbtoolError('CHUNK_CORRUPT', `chunk ${id} of ${context} ${messageOf(e)}`, 'Run `dbtool verify`; restore another backup');
    if (name === 'TargetWriteError') throw writeError(context, e);
    throw dbtoolError('CHUNK_CORRUPT', `chunk ${id} of ${context} is corrupt (${messageOf(e)})`, 'Run `dbtool verify` to see every affected backup; restore another backup');
  }
}

function missingError(id: string, context: string) {
  return dbtoolError('CHUNK_MISSING', `chunk ${id} of ${context} is missing from the repository`, 'Run `dbtool verify` to see every affected backup; restore another backup');
}

function writeError(context: string, e: unknown) {
  return dbtoolError('STORAGE_IO', `writing ${context} failed (${messageOf(e)})`, 'Check free space and permissions of the target directory', e);
}
