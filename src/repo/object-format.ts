// The byte format of every repository object (chunk, manifest, archive file, meta): an 8-byte
// header and a payload. Pure functions; they run on worker threads (codec-worker.ts) and in tests.
//
//   0..3  magic 'DBT1'     4  format version (1)     5  kind     6  codec     7  flags
//   flags 0 (plain):     kind != chunk: 8..39 SHA-256 of the plaintext (chunks are checked against
//                        their keyed id); then the payload: the plaintext as is (codec 0) or one zstd frame (codec 1)
//   flags 1 (encrypted): 8..19 a random 96-bit nonce, then AES-256-GCM of that payload, then the
//                        16-byte tag. No plaintext digest in clear: the tag authenticates. The
//                        associated data is the header and the object's identity (kind and name:
//                        a chunk's id, another object's storage key), so an object copied under
//                        another name or kind fails authentication.

import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import type { ZstdScratch } from './zstd-scratch.js';

export const OBJECT_MAGIC = Buffer.from('DBT1', 'ascii');
export const OBJECT_FORMAT = 1;

export const ObjectKind = { chunk: 1, manifest: 2, archive: 3, meta: 4 } as const;
export type ObjectKindName = keyof typeof ObjectKind;

export const Codec = { none: 0, zstd: 1 } as const;
export const ObjectFlag = { encrypted: 1 } as const;

const HEADER = 8;
const DIGEST = 32;
const NONCE = 12;
const TAG = 16;
const CIPHER = 'aes-256-gcm';

export class ObjectFormatError extends Error {
  override name = 'ObjectFormatError';
}

/** The object failed authentication: changed bytes, or an object stored under another name. */
export class ObjectAuthError extends ObjectFormatError {
  override name = 'ObjectAuthError';
}

/** The chunk id: HMAC-SHA256 of the plaintext under the repository's id key, as hex. */
export function chunkIdOf(idKey: Buffer, plain: Uint8Array): string {
  return createHmac('sha256', idKey).update(plain).digest('hex');
}

export interface EncodeOptions {
  /** zstd level; 0 stores the plaintext uncompressed */
  level: number;
  /** AES-256 data key: the object is encrypted, bound to `name` */
  dataKey?: Uint8Array;
  /** the object's identity (chunk id or storage key); required with dataKey */
  name?: string;
  /** the thread's reusable zstd buffers: compression then allocates only the object itself */
  scratch?: ZstdScratch;
}

export interface DecodeOptions {
  /** the repository is encrypted: the object must be, and authenticate under `name` */
  dataKey?: Uint8Array;
  name?: string;
  /**
   * the thread's reusable zstd buffers: the plaintext returned then lives in them (or in `obj`)
   * and is valid only until the scratch or `obj` is used again
   */
  scratch?: ZstdScratch;
  /** with scratch: decompress into this buffer when the plaintext fits (else the scratch's own) */
  into?: Buffer;
}

function associatedData(header: Buffer, kind: ObjectKindName, name: string): Buffer {
  return Buffer.concat([header, Buffer.from(`\0${kind}\0${name}`, 'utf8')]);
}

function requireName(name: string | undefined): string {
  if (name === undefined || name === '') throw new Error('an encrypted object needs its name (chunk id or key)');
  return name;
}

/** Encode plaintext as a repository object; stores uncompressed when zstd does not shrink it. */
export function encodeObject(kind: ObjectKindName, plain: Uint8Array, options: EncodeOptions): Buffer {
  let codec: number = Codec.none;
  let payload: Uint8Array = plain;
  if (options.level > 0 && plain.length > 0) {
    const packed = options.scratch ? options.scratch.compress(plain, options.level) : compress(plain, { compressionLevel: options.level });
    if (packed.length < plain.length) {
      codec = Codec.zstd;
      payload = packed;
    }
  }
  const header = Buffer.allocUnsafe(HEADER);
  OBJECT_MAGIC.copy(header, 0);
  header[4] = OBJECT_FORMAT;
  header[5] = ObjectKind[kind];
  header[6] = codec;
  header[7] = options.dataKey ? ObjectFlag.encrypted : 0;
  if (options.dataKey) {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv(CIPHER, options.dataKey, nonce);
    cipher.setAAD(associatedData(header, kind, requireName(options.name)));
    const body = cipher.update(payload);
    const final = cipher.final();
    return Buffer.concat([header, nonce, body, final, cipher.getAuthTag()], HEADER + NONCE + payload.length + TAG);
  }
  const withDigest = kind !== 'chunk';
  const out = Buffer.allocUnsafe(HEADER + (withDigest ? DIGEST : 0) + payload.length);
  header.copy(out, 0);
  let off = HEADER;
  if (withDigest) {
    createHash('sha256').update(plain).digest().copy(out, off);
    off += DIGEST;
  }
  out.set(payload, off);
  return out;
}

function unpack(codec: number | undefined, payload: Buffer, options: DecodeOptions): Buffer {
  const { scratch } = options;
  if (codec === Codec.none) return scratch ? payload : Buffer.from(payload);
  if (codec === Codec.zstd) {
    try {
      return scratch ? scratch.decompress(payload, options.into) : decompress(payload);
    } catch (e) {
      throw new ObjectFormatError(`compressed payload is damaged (${(e as Error).message})`);
    }
  }
  throw new ObjectFormatError(`unknown codec ${codec}`);
}

/**
 * Decode an object back to its plaintext, checking the header, the kind and (for non-chunks)
 * the plaintext digest or, when encrypted, the authentication tag over content, kind and name.
 * Chunk contents are verified by the caller against the chunk id.
 */
export function decodeObject(kind: ObjectKindName, obj: Uint8Array, options: DecodeOptions = {}): Buffer {
  const buf = Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
  if (buf.length < HEADER || !buf.subarray(0, 4).equals(OBJECT_MAGIC)) throw new ObjectFormatError('not a dbtool object (bad magic)');
  if (buf[4] !== OBJECT_FORMAT) throw new ObjectFormatError(`object format ${buf[4]} is not supported by this dbtool`);
  if (buf[5] !== ObjectKind[kind]) throw new ObjectFormatError(`object is of kind ${buf[5]}, expected ${kind}`);
  const flags = buf[7];
  if (options.dataKey) {
    // An encrypted repository accepts only authenticated objects: a plain one could be anyone's.
    if (flags !== ObjectFlag.encrypted) throw new ObjectAuthError('object is not encrypted in an encrypted repository');
    if (buf.length < HEADER + NONCE + TAG) throw new ObjectAuthError('object is truncated');
    const decipher = createDecipheriv(CIPHER, options.dataKey, buf.subarray(HEADER, HEADER + NONCE));
    decipher.setAAD(associatedData(buf.subarray(0, HEADER), kind, requireName(options.name)));
    decipher.setAuthTag(buf.subarray(buf.length - TAG));
    let payload: Buffer;
    try {
      payload = Buffer.concat([decipher.update(buf.subarray(HEADER + NONCE, buf.length - TAG)), decipher.final()]);
    } catch {
      throw new ObjectAuthError('its bytes were changed, or it is another object copied under this name');
    }
    return unpack(buf[6], payload, options);
  }
  if (flags === ObjectFlag.encrypted) throw new ObjectFormatError('object is encrypted, but no key was given (encrypted repository?)');
  if (flags !== 0) throw new ObjectFormatError(`object has flags ${flags} this dbtool does not know`);
  const withDigest = kind !== 'chunk';
  const start = HEADER + (withDigest ? DIGEST : 0);
  if (buf.length < start) throw new ObjectFormatError('object is truncated');
  const plain = unpack(buf[6], buf.subarray(start), options);
  if (withDigest) {
    const want = buf.subarray(HEADER, HEADER + DIGEST);
    const got = createHash('sha256').update(plain).digest();
    if (!got.equals(want)) throw new ObjectFormatError('content does not match its checksum');
  }
  return plain;
}
