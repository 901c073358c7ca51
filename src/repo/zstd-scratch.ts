// Per-thread zstd contexts and buffers, reused chunk after chunk: compressing, decompressing or
// reading a chunk then allocates nothing. Fresh memory costs page faults (kernel time), which
// were most of a restore's CPU when every chunk got new 1 MiB buffers.

import { createRequire } from 'node:module';
import { decompress } from 'zstd-napi';
import type * as ZstdBinding from 'zstd-napi/binding.js';

// The package's low-level binding is CommonJS without named ESM exports: load it with require.
const binding = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;

/** Frames that declare more than this are decompressed into a buffer of their own. */
const MAX_SCRATCH = 64 * 1024 * 1024;

export class ZstdScratch {
  private readonly cctx = new binding.CCtx();
  private readonly dctx = new binding.DCtx();
  private packed = Buffer.alloc(0);
  private plain = Buffer.alloc(0);
  private raw = Buffer.alloc(0);

  /** `src` compressed at `level`; the result is valid until the next compress(). */
  compress(src: Uint8Array, level: number): Buffer {
    const bound = binding.compressBound(src.length);
    if (this.packed.length < bound) this.packed = Buffer.allocUnsafe(bound);
    const n = this.cctx.compress(this.packed, src, level);
    return this.packed.subarray(0, n);
  }

  /**
   * One zstd frame decompressed, into `into` when it is large enough (a restore decompresses
   * straight into the buffer it then writes with O_DIRECT), else into the scratch buffer; the
   * result is valid until the next decompress(). Throws on a damaged frame (or one whose content
   * is not the size its header declares).
   */
  decompress(frame: Uint8Array, into?: Buffer): Buffer {
    const size = binding.getFrameContentSize(frame);
    // Unknown or very large: the library's streaming decoder sizes its own output.
    if (size === null || size > MAX_SCRATCH) return decompress(frame);
    let out: Buffer;
    if (into && into.length >= size) out = into.subarray(0, size);
    else {
      if (this.plain.length < size) this.plain = Buffer.allocUnsafe(Math.max(size, 1 << 20));
      out = this.plain.subarray(0, size);
    }
    const n = this.dctx.decompress(out, frame);
    if (n !== size) throw new Error(`frame holds ${n} bytes where its header declares ${size}`);
    return out;
  }

  /** A buffer of `size` bytes to read an object into; valid until the next input(). */
  input(size: number): Buffer {
    if (this.raw.length < size) this.raw = Buffer.allocUnsafe(Math.max(size, 1 << 20));
    return this.raw.subarray(0, size);
  }
}
