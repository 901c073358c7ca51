// Reader of the xbstream/mbstream archive format that mariabackup/xtrabackup write with
// --stream: chunks of files (payload, sparse, end of file), each with a CRC-32 of its payload.
//
// Chunk: magic 'XBSTCK01' (8), flags (1), type (1: 'P' payload, 'S' sparse, 'E' end of file),
// path length (4, LE), path, then for P/S: [S: sparse map entries (4)], payload length (8),
// offset in the file (8), CRC-32 of the payload (4), [S: map of (skip 4, write 4) pairs], payload.

import { crc32 } from 'node:zlib';
import { dbtoolError } from '../../core/errors.js';

const MAGIC = Buffer.from('XBSTCK01', 'latin1');
/** flag: a reader may skip a chunk type it does not know */
const FLAG_IGNORABLE = 0x01;
/** no sane file chunk is larger; a bigger length means a corrupt stream */
const MAX_PAYLOAD = 1 << 30;

export interface XbChunk {
  path: string;
  type: 'payload' | 'eof';
  /** where `data` goes in the file */
  offset: number;
  /** the bytes to write at `offset` (holes of sparse chunks filled with zeros) */
  data: Buffer;
}

/** Exact-length reads over an async byte stream. */
class ByteReader {
  private readonly pieces: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(input: AsyncIterable<Buffer>) {
    this.it = input[Symbol.asyncIterator]();
  }

  /** n bytes, or undefined at a clean end of stream (nothing buffered); error on a short read. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        this.pieces.push(r.value);
        this.buffered += r.value.length;
      }
    }
    if (this.buffered === 0 && n > 0) return undefined;
    if (this.buffered < n) throw dbtoolError('SERVER_PROTOCOL', `the backup stream ended inside a chunk (${this.buffered} of ${n} bytes)`, 'The backup tool stopped early: see its error above; retry the backup');
    const all = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pieces.length = 0;
    if (rest.length > 0) this.pieces.push(rest);
    this.buffered = rest.length;
    // Copy: `out` must not pin a large buffer, and the caller hands it on.
    return Buffer.from(out);
  }
}

function bad(what: string): never {
  throw dbtoolError('SERVER_PROTOCOL', `the backup stream is malformed: ${what}`, 'Check that the backup tool writes --stream=xbstream/mbstream to stdout; retry the backup');
}

function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad('a length or offset beyond 2^53');
  return Number(v);
}

/** The chunks of an xbstream, in stream order (chunks of several files may interleave). */
export async function* readXbstream(input: AsyncIterable<Buffer>): AsyncGenerator<XbChunk> {
  const r = new ByteReader(input);
  for (;;) {
    const head = await r.read(14);
    if (!head) return;
    if (!head.subarray(0, 8).equals(MAGIC)) bad('a chunk does not start with XBSTCK01');
    const flags = head[8]!;
    const type = String.fromCharCode(head[9]!);
    const pathLen = head.readUInt32LE(10);
    if (pathLen === 0 || pathLen > 4096) bad(`a path length of ${pathLen}`);
    const path = (await r.read(pathLen))?.toString('utf8') ?? bad('no path');
    if (type === 'E') {
      yield { path, type: 'eof', offset: 0, data: Buffer.alloc(0) };
      continue;
    }
    if (type !== 'P' && type !== 'S') {
      if (flags & FLAG_IGNORABLE) bad(`an ignorable chunk of unknown type '${type}' (its length cannot be known)`);
      bad(`a chunk of unknown type '${type}' for ${path}`);
    }
    const sparseEntries = type === 'S' ? ((await r.read(4)) ?? bad('no sparse map size')).readUInt32LE(0) : 0;
    const fixed = (await r.read(20)) ?? bad('no payload header');
    const payloadLen = u64(fixed, 0);
    const offset = u64(fixed, 8);
    const checksum = fixed.readUInt32LE(16);
    if (payloadLen > MAX_PAYLOAD) bad(`a payload of ${payloadLen} bytes`);
    const map = sparseEntries > 0 ? ((await r.read(sparseEntries * 8)) ?? bad('no sparse map')) : undefined;
    const payload = payloadLen > 0 ? ((await r.read(payloadLen)) ?? bad('no payload')) : Buffer.alloc(0);
    if (crc32(payload) !== checksum) bad(`the checksum of a chunk of ${path} at offset ${offset} does not match`);
    if (!map) {
      yield { path, type: 'payload', offset, data: payload };
      continue;
    }
    // Sparse: (skip, write) pairs; holes become zeros, the file is written densely.
    let size = 0;
    for (let i = 0; i < sparseEntries; i++) size += map.readUInt32LE(i * 8) + map.readUInt32LE(i * 8 + 4);
    const data = Buffer.alloc(size);
    let at = 0;
    let from = 0;
    for (let i = 0; i < sparseEntries; i++) {
      at += map.readUInt32LE(i * 8);
      const n = map.readUInt32LE(i * 8 + 4);
      if (from + n > payload.length) bad(`a sparse map of ${path} larger than its payload`);
      payload.copy(data, at, from, from + n);
      at += n;
      from += n;
    }
    yield { path, type: 'payload', offset, data };
  }
}
