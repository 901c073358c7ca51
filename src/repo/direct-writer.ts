// Writes of restored chunk plaintext that bypass the page cache (O_DIRECT). A restore writes
// gigabytes nobody reads back at once: through the page cache each page must first be found,
// zeroed and later flushed, which cost more CPU than decompressing and hashing (measured: 1.5 GB
// buffered + fsync 3.9 s of kernel time, direct 0.1 s). O_DIRECT needs the memory, the file
// offset and the length aligned; Node cannot align a buffer, so the aligned start inside a
// larger buffer is found by trying (the kernel answers EINVAL to a misaligned one). The writes
// themselves run on libuv's thread pool, so the worker decodes the next chunk meanwhile.

import { write, writeSync } from 'node:fs';

/** Alignment asked of memory, offsets and lengths: a page, which covers 512- and 4096-byte devices. */
export const DIRECT_ALIGN = 4096;
/** Buffer start offsets tried: allocations are at least 16-byte aligned. */
const PROBE_STEP = 16;

function writeAt(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

export class DirectWriter {
  /** aligned buffers not in use (each the aligned part of a larger allocation) */
  private readonly free: Buffer[] = [];
  /** each allocation's whole aligned part, by its memory, to take back what give() returns */
  private readonly whole = new Map<ArrayBufferLike, Buffer>();
  /** O_DIRECT is refused here (filesystem without it, no alignment found): write buffered */
  private refused = false;

  /** How much of `length` bytes at `position` can go direct: a multiple of DIRECT_ALIGN, or 0. */
  alignedLength(position: number, length: number): number {
    if (this.refused || position % DIRECT_ALIGN !== 0) return 0;
    return length - (length % DIRECT_ALIGN);
  }

  /**
   * An aligned buffer of `length` bytes, to fill and hand to write(); give() it back after. A new
   * one is probed with a write where the data will go (it is overwritten right after). Undefined
   * when no alignment works here (then every later call says 0 too).
   */
  take(fd: number, position: number, length: number): Buffer | undefined {
    const reused = this.free.findIndex((b) => b.length >= length);
    if (reused >= 0) return this.free.splice(reused, 1)[0]!.subarray(0, length);
    const raw = Buffer.allocUnsafeSlow(length + DIRECT_ALIGN);
    for (let start = 0; start < DIRECT_ALIGN; start += PROBE_STEP) {
      try {
        writeSync(fd, raw, start, DIRECT_ALIGN, position);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EINVAL') continue;
        throw e;
      }
      this.whole.set(raw.buffer, raw.subarray(start, start + length));
      return raw.subarray(start, start + length);
    }
    this.refused = true;
    return undefined;
  }

  give(view: Buffer): void {
    const full = this.whole.get(view.buffer);
    if (full) this.free.push(full);
  }

  /**
   * Write an aligned buffer from take() at `position` of `fd` (opened with O_DIRECT); resolves to
   * how many bytes went that way, from the start: the caller writes the rest through the page
   * cache. A refusal (EINVAL) stops direct writes here; other errors reject.
   */
  async write(fd: number, view: Buffer, position: number): Promise<number> {
    let done = 0;
    while (done < view.length) {
      let n: number;
      try {
        n = await writeAt(fd, view, done, view.length - done, position + done);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        this.refused = true;
        break;
      }
      done += Math.max(0, n);
      // A short write leaves the rest misaligned: the caller finishes it buffered.
      if (n <= 0 || n % DIRECT_ALIGN !== 0) break;
    }
    return done;
  }
}
