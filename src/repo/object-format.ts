// The byte format of every repository object (chunk, manifest, archive file): an 8-byte header
// and a payload. Pure functions; they run on worker threads (codec-worker.ts) and in tests.
//
//   0..3  magic 'DBT1'     4  format version (1)     5  kind     6  codec     7  flags
//   kind != chunk: 8..39 SHA-256 of the plaintext (chunks are checked against their keyed id)
//   then the payload: the plaintext as is (codec 0) or one zstd frame (codec 1)

import { createHash, createHmac } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';

export const OBJECT_MAGIC = Buffer.from('DBT1', 'ascii');
export const OBJECT_FORMAT = 1;

export const ObjectKind = { chunk: 1, manifest: 2, archive: 3, meta: 4 } as const;
export type ObjectKindName = keyof typeof ObjectKind;

export const Codec = { none: 0, zstd: 1 } as const;

const HEADER = 8;
const DIGEST = 32;

export class ObjectFormatError extends Error {}

/** The chunk id: HMAC-SHA256 of the plaintext under the repository's id key, as hex. */
export function chunkIdOf(idKey: Buffer, plain: Uint8Array): string {
  return createHmac('sha256', idKey).update(plain).digest('hex');
}

export interface EncodeOptions {
  /** zstd level; 0 stores the plaintext uncompressed */
  level: number;
}

/** Encode plaintext as a repository object; stores uncompressed when zstd does not shrink it. */
export function encodeObject(kind: ObjectKindName, plain: Uint8Array, options: EncodeOptions): Buffer {
  let codec: number = Codec.none;
  let payload: Uint8Array = plain;
  if (options.level > 0 && plain.length > 0) {
    const packed = compress(plain, { compressionLevel: options.level });
    if (packed.length < plain.length) {
      codec = Codec.zstd;
      payload = packed;
    }
  }
  const withDigest = kind !== 'chunk';
  const out = Buffer.allocUnsafe(HEADER + (withDigest ? DIGEST : 0) + payload.length);
  OBJECT_MAGIC.copy(out, 0);
  out[4] = OBJECT_FORMAT;
  out[5] = ObjectKind[kind];
  out[6] = codec;
  out[7] = 0;
  let off = HEADER;
  if (withDigest) {
    createHash('sha256').update(plain).digest().copy(out, off);
    off += DIGEST;
  }
  out.set(payload, off);
  return out;
}

/**
 * Decode an object back to its plaintext, checking the header, the kind and (for non-chunks)
 * the plaintext digest. Chunk contents are verified by the caller against the chunk id.
 */
export function decodeObject(kind: ObjectKindName, obj: Uint8Array): Buffer {
  const buf = Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
  if (buf.length < HEADER || !buf.subarray(0, 4).equals(OBJECT_MAGIC)) throw new ObjectFormatError('not a dbtool object (bad magic)');
  if (buf[4] !== OBJECT_FORMAT) throw new ObjectFormatError(`object format ${buf[4]} is not supported by this dbtool`);
  if (buf[5] !== ObjectKind[kind]) throw new ObjectFormatError(`object is of kind ${buf[5]}, expected ${kind}`);
  if (buf[7] !== 0) throw new ObjectFormatError(`object has flags ${buf[7]} this dbtool does not know (encrypted?)`);
  const withDigest = kind !== 'chunk';
  const start = HEADER + (withDigest ? DIGEST : 0);
  if (buf.length < start) throw new ObjectFormatError('object is truncated');
  const payload = buf.subarray(start);
  let plain: Buffer;
  if (buf[6] === Codec.none) plain = Buffer.from(payload);
  else if (buf[6] === Codec.zstd) {
    try {
      plain = decompress(payload);
    } catch (e) {
      throw new ObjectFormatError(`compressed payload is damaged (${(e as Error).message})`);
    }
  } else throw new ObjectFormatError(`unknown codec ${buf[6]}`);
  if (withDigest) {
    const want = buf.subarray(HEADER, HEADER + DIGEST);
    const got = createHash('sha256').update(plain).digest();
    if (!got.equals(want)) throw new ObjectFormatError('content does not match its checksum');
  }
  return plain;
}
