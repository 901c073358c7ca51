// Worker thread body: keyed hashing, encoding and decoding (and, on an encrypted repository,
// encryption and authentication) of repository objects.

import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { chunkIdOf, decodeObject, encodeObject } from './object-format.js';
import type { ObjectKindName } from './object-format.js';
import { ownedArrayBuffer } from './owned-array-buffer.js';
import { ZstdScratch } from './zstd-scratch.js';
import { DIRECT_ALIGN, DirectWriter } from './direct-writer.js';

interface Init {
  idKey: Uint8Array;
  level: number;
  /** AES-256-GCM key of an encrypted repository */
  dataKey?: Uint8Array;
}

interface Task {
  id: number;
  op: 'seal' | 'open' | 'openFile' | 'openInto' | 'digestIn' | 'sealIn' | 'arena' | 'dropArena';
  data: ArrayBuffer;
  /** arena ops: which arena, the range of the chunk in it; digestIn: also encode it */
  arena?: number;
  offset?: number;
  length?: number;
  seal?: boolean;
  shared?: SharedArrayBuffer;
  /** for 'open': reply with the plaintext's length only (verify) */
  lengthOnly?: boolean;
  /** for 'openFile': the chunk object's local file; the plaintext is written at `offset` of `fd` when given */
  path?: string;
  fd?: number;
  /** for 'openFile': the same file opened with O_DIRECT, used for the aligned part of the write */
  directFd?: number;
  kind?: ObjectKindName;
  /** the object's identity for encryption: a chunk's id, another object's key */
  name?: string;
  /** for 'open' of a chunk: the id the plaintext must hash to */
  expectId?: string;
}

const init = workerData as Init;
const idKey = Buffer.from(init.idKey);
const dataKey = init.dataKey ? Buffer.from(init.dataKey) : undefined;
/** this thread's reusable buffers: a chunk read, decoded or encoded here allocates nothing */
const scratch = new ZstdScratch();
const direct = new DirectWriter();

/** Shared memory of the ChunkWriters that use this pool (CodecPool.createArena). */
const arenas = new Map<number, SharedArrayBuffer>();

function arenaRange(task: Task): Uint8Array {
  const shared = arenas.get(task.arena ?? 0);
  if (!shared) throw new Error(`unknown chunk arena ${task.arena}`);
  return new Uint8Array(shared, task.offset ?? 0, task.length ?? 0);
}

function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * Read a chunk object from its local file, decode it, check it against its id and, for a
 * restore, write the plaintext into the target file: no buffer crosses threads, and the main
 * thread's event loop schedules no file operations for it. Error names say which step failed.
 */
async function openFile(task: Task): Promise<{ plainBytes: number; storedBytes: number }> {
  let obj: Buffer;
  try {
    obj = readWhole(task.path!);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw namedError(code === 'ENOENT' || code === 'ENOTDIR' ? 'ChunkMissingError' : 'ChunkReadError', (e as Error).message);
  }
  return openInto(obj, task);
}

/** Decode a chunk object, check it against its id, write its plaintext where the task says. */
async function openInto(obj: Buffer, task: Task): Promise<{ plainBytes: number; storedBytes: number }> {
  const storedBytes = obj.length;
  const position = task.offset ?? 0;
  // Where the plaintext goes with O_DIRECT: decompressed straight into it when it can be.
  const aligned = task.fd !== undefined && task.directFd !== undefined && task.length !== undefined ? direct.alignedLength(position, task.length) : 0;
  const view = aligned > 0 ? direct.take(task.directFd!, position, roundUp(task.length!)) : undefined;
  try {
    const plain = decodeObject('chunk', obj, { dataKey, name: task.name, scratch, into: view });
    if (chunkIdOf(idKey, plain) !== task.expectId) throw new Error('content does not match its chunk id');
    if (task.fd !== undefined) {
      if (plain.length !== task.length) throw namedError('ChunkLengthError', `has ${plain.length} bytes where ${task.length} were expected`);
      try {
        if (!view) writeAllSync(task.fd, plain, position);
        else await writeOut(task.fd, task.directFd!, plain, view, aligned, position);
      } catch (e) {
        throw namedError('TargetWriteError', (e as Error).message);
      }
    }
    return { plainBytes: plain.length, storedBytes };
  } finally {
    if (view) direct.give(view);
  }
}

function roundUp(n: number): number {
  return Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;
}

function writeAllSync(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
}

/**
 * Write a chunk's plaintext at `position`: its `aligned` first bytes from the aligned buffer
 * `view` with O_DIRECT on the thread pool (this worker goes on with the next chunk meanwhile),
 * the rest through the page cache. The plaintext is usually in `view` already (decompressed
 * there); else (stored uncompressed, or decompressed elsewhere) it is copied in first, before
 * any await, since it may live in the scratch buffers.
 */
async function writeOut(fd: number, directFd: number, plain: Buffer, view: Buffer, aligned: number, position: number): Promise<void> {
  const inView = plain.buffer === view.buffer && plain.byteOffset === view.byteOffset;
  if (!inView) view.set(plain.subarray(0, aligned));
  if (aligned < plain.length) writeAllSync(fd, plain.subarray(aligned), position + aligned);
  const done = await direct.write(directFd, view.subarray(0, aligned), position);
  if (done < aligned) writeAllSync(fd, view.subarray(done, aligned), position + done);
}

/** A file's bytes, in the scratch input buffer (valid until the next read). */
function readWhole(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const into = scratch.input(fstatSync(fd).size);
    let done = 0;
    while (done < into.length) {
      const n = readSync(fd, into, done, into.length - done, done);
      if (n === 0) throw new Error(`${path} ended after ${done} of ${into.length} bytes`);
      done += n;
    }
    return into;
  } finally {
    closeSync(fd);
  }
}

parentPort!.on('message', (task: Task) => {
  if (task.op === 'arena') {
    arenas.set(task.arena!, task.shared!);
    return;
  }
  if (task.op === 'dropArena') {
    arenas.delete(task.arena!);
    return;
  }
  try {
    if (task.op === 'openFile' || task.op === 'openInto') {
      // Answered when its write is done; the next task starts meanwhile.
      (task.op === 'openFile' ? openFile(task) : openInto(Buffer.from(task.data), task)).then(
        (value) => parentPort!.postMessage({ id: task.id, ok: true, value }),
        (e: unknown) => fail(task, e),
      );
      return;
    }
    if (task.op === 'digestIn') {
      const plain = arenaRange(task);
      const chunkId = chunkIdOf(idKey, plain);
      if (!task.seal) {
        parentPort!.postMessage({ id: task.id, ok: true, value: { chunkId } });
        return;
      }
      const obj = ownedArrayBuffer(encodeObject('chunk', plain, { level: init.level, dataKey, name: chunkId, scratch }));
      parentPort!.postMessage({ id: task.id, ok: true, value: { chunkId, obj } }, [obj]);
      return;
    }
    if (task.op === 'sealIn') {
      const obj = ownedArrayBuffer(encodeObject('chunk', arenaRange(task), { level: init.level, dataKey, name: task.name, scratch }));
      parentPort!.postMessage({ id: task.id, ok: true, value: obj }, [obj]);
      return;
    }
    const data = new Uint8Array(task.data);
    if (task.op === 'seal') {
      const obj = ownedArrayBuffer(encodeObject(task.kind ?? 'chunk', data, { level: init.level, dataKey, name: task.name, scratch }));
      parentPort!.postMessage({ id: task.id, ok: true, value: obj }, [obj]);
    } else {
      const plain = decodeObject(task.kind ?? 'chunk', data, { dataKey, name: task.name, scratch });
      if (task.expectId !== undefined && chunkIdOf(idKey, plain) !== task.expectId) {
        throw new Error('content does not match its chunk id');
      }
      if (task.lengthOnly) {
        parentPort!.postMessage({ id: task.id, ok: true, value: plain.length });
        return;
      }
      // Always a copy: the plaintext may be the scratch buffer itself, which must stay here.
      const out = new ArrayBuffer(plain.length);
      new Uint8Array(out).set(plain);
      parentPort!.postMessage({ id: task.id, ok: true, value: out }, [out]);
    }
  } catch (e) {
    fail(task, e);
  }
});

function fail(task: Task, e: unknown): void {
  // The error's name crosses the thread boundary so callers can tell tampering from damage.
  parentPort!.postMessage({ id: task.id, ok: false, error: (e as Error).message, errorName: (e as Error).name });
}
