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
  /**
   * The bytes to write at `offset` (holes of sparse chunks filled with zeros). A payload chunk of
   * the stream comes as one or more pieces in order, each a view of the bytes read from the input
   * (no copy): a consumer that keeps one past its next read must copy it.
   */
  data: Buffer;
  /** payload: this piece ends its chunk of the stream (and the chunk's checksum was verified) */
  chunkEnd: boolean;
}

const EMPTY = Buffer.alloc(0);

function shortRead(have: number, n: number): never {
  throw dbtoolError('SERVER_PROTOCOL', `the backup stream ended inside a chunk (${have} of ${n} bytes)`, 'The backup tool stopped early: see its error above; retry the backup');
}

/** Reads over an async byte stream: small exact-length reads for headers, views for payloads. */
class ByteReader {
  /** the piece being read, and how far */
  private cur: Buffer = EMPTY;
  private pos = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(input: AsyncIterable<Buffer>) {
    this.it = input[Symbol.asyncIterator]();
  }

  /** The next non-empty piece as `cur`; false at the end of the input. */
  private async next(): Promise<boolean> {
    while (!this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        this.cur = r.value;
        this.pos = 0;
        return true;
      }
    }
    return false;
  }

  /**
   * Exactly n bytes (a view when they lie in one piece, else a copy), or undefined at a clean end
   * of the input (nothing read); error on a short read. Valid until the next call.
   */
  async read(n: number): Promise<Buffer | undefined> {
    if (this.cur.length - this.pos >= n) {
      const out = this.cur.subarray(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let have = 0;
    for (;;) {
      const k = Math.min(n - have, this.cur.length - this.pos);
      this.cur.copy(out, have, this.pos, this.pos + k);
      this.pos += k;
      have += k;
      if (have === n) return out;
      if (!(await this.next())) {
        if (have === 0) return undefined;
        shortRead(have, n);
      }
    }
  }

  /** Up to `max` (> 0) bytes as a view of the input, no copy; error at the end of the input. */
  async take(max: number, have: number, n: number): Promise<Buffer> {
    if (this.pos === this.cur.length && !(await this.next())) shortRead(have, n);
    const k = Math.min(max, this.cur.length - this.pos);
    const out = this.cur.subarray(this.pos, this.pos + k);
    this.pos += k;
    return out;
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

/**
 * The chunks of an xbstream, in stream order (chunks of several files may interleave). Payloads
 * are passed on piece by piece as they arrive, never gathered: a chunk's checksum is checked
 * once its last piece is read, and a mismatch is thrown before that piece is yielded.
 */
export async function* readXbstream(input: AsyncIterable<Buffer>): AsyncGenerator<XbChunk> {
  const r = new ByteReader(input);
  for (;;) {
    const head = await r.read(14);
    if (!head) return;
    if (head.compare(MAGIC, 0, 8, 0, 8) !== 0) bad('a chunk does not start with XBSTCK01');
    const flags = head[8]!;
    const type = String.fromCharCode(head[9]!);
    const pathLen = head.readUInt32LE(10);
    if (pathLen === 0 || pathLen > 4096) bad(`a path length of ${pathLen}`);
    const path = (await r.read(pathLen))?.toString('utf8') ?? bad('no path');
    if (type === 'E') {
      yield { path, type: 'eof', offset: 0, data: EMPTY, chunkEnd: true };
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
    const checksumError = () => bad(`the checksum of a chunk of ${path} at offset ${offset} does not match`);
    if (type === 'P') {
      if (payloadLen === 0) {
        if (crc32(EMPTY) !== checksum) checksumError();
        yield { path, type: 'payload', offset, data: EMPTY, chunkEnd: true };
        continue;
      }
      // Each piece is handed on as it arrives; the last one only once the whole chunk checks out.
      let crc = 0;
      let done = 0;
      while (done < payloadLen) {
        const piece = await r.take(payloadLen - done, done, payloadLen);
        crc = crc32(piece, crc);
        const at = offset + done;
        done += piece.length;
        if (done === payloadLen && crc !== checksum) checksumError();
        yield { path, type: 'payload', offset: at, data: piece, chunkEnd: done === payloadLen };
      }
      continue;
    }
    // Sparse (rare: punched holes): (skip, write) pairs; holes become zeros, the file is written densely.
    const map = sparseEntries > 0 ? Buffer.from((await r.read(sparseEntries * 8)) ?? bad('no sparse map')) : EMPTY;
    const payload = payloadLen > 0 ? Buffer.from((await r.read(payloadLen)) ?? bad('no payload')) : EMPTY;
    if (crc32(payload) !== checksum) checksumError();
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
    yield { path, type: 'payload', offset, data, chunkEnd: true };
  }
}
