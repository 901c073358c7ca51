// Small files packed together into one chunk ("bundles"): a data directory holds hundreds of files
// of a few KiB, and one object per file costs a request, a file and a worker round trip each, on
// backup and restore alike.

import { basename } from 'node:path';
import { entryTooLong, entryTooShort } from './chunk-store.js';
import type { ChunkWriter } from './chunk-store.js';
import type { ManifestFile } from './manifest.js';

/** Files up to a quarter of a chunk are bundled; larger ones keep chunks of their own. */
export function isBundled(size: number, chunkSize: number): boolean {
  return size > 0 && size <= chunkSize / 4;
}

/**
 * Whether a bundle ends after the file at `path`: decided by its name alone (1 in 16 names), so a
 * changed, added or removed file changes only its own bundle, and databases made from one template
 * (the same file names) bundle alike and deduplicate.
 */
export function endsBundle(path: string): boolean {
  // FNV-1a: cheap, and the same on every machine and version.
  let h = 0x811c9dc5;
  for (const c of basename(path)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h % 16 === 0;
}

export class FileBundler {
  private parts: Buffer[] = [];
  private members: ManifestFile[] = [];
  private bytes = 0;
  private readonly stored: Array<Promise<void>> = [];

  /**
   * @param writer stores each bundle (one chunk)
   * @param onBytes told of each file's bytes once read
   */
  constructor(
    private readonly writer: ChunkWriter,
    private readonly chunkSize: number,
    private readonly onBytes?: (n: number) => void,
  ) {}

  /**
   * Read a small file (isBundled) of `size` bytes from its stream (checked: it must send exactly
   * that) into the open bundle: its `bundle` is set at once (its size when the bundle is sealed),
   * its `chunks` once the bundle is stored.
   */
  async add(file: ManifestFile, stream: AsyncIterable<Buffer> | Iterable<Buffer>, size: number): Promise<void> {
    const data = Buffer.allocUnsafe(size);
    let read = 0;
    for await (const piece of stream) {
      if (read + piece.length > size) throw entryTooLong(size);
      piece.copy(data, read);
      read += piece.length;
    }
    if (read !== size) throw entryTooShort(read, size);
    await this.addWhole(file, data);
  }

  /** Add a small file already read (isBundled), as add() does; the bundle keeps `data`. */
  async addWhole(file: ManifestFile, data: Buffer): Promise<void> {
    file.size = data.length;
    this.onBytes?.(data.length);
    if (this.bytes + data.length > this.chunkSize) await this.seal();
    file.bundle = { offset: this.bytes, size: 0 };
    this.members.push(file);
    this.parts.push(data);
    this.bytes += data.length;
    if (endsBundle(file.path)) await this.seal();
  }

  /** Store the open bundle, then wait until every bundle is stored; rethrows a failure. */
  async flush(): Promise<void> {
    await this.seal();
    await Promise.all(this.stored);
  }

  private async seal(): Promise<void> {
    if (this.members.length === 0) return;
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    const members = this.members;
    this.parts = [];
    this.members = [];
    this.bytes = 0;
    for (const f of members) f.bundle!.size = body.length;
    const { ids } = await this.writer.addStream([body], body.length);
    const stored = ids.then(([id]) => {
      for (const f of members) f.chunks = [id!];
    });
    // Marked as handled here; flush() rethrows it (and the writer's own flush does too).
    stored.catch(() => undefined);
    this.stored.push(stored);
  }
}

/**
 * Read a stream of unknown length until it ends or passes `limit` bytes: the whole of it (copied)
 * when it ended within them, else a stream of all its bytes (those read, then the rest).
 */
export async function readUpTo(stream: AsyncIterable<Buffer>, limit: number): Promise<{ whole: Buffer; rest?: undefined } | { whole?: undefined; rest: AsyncIterable<Buffer> }> {
  const it = stream[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let bytes = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) return { whole: Buffer.concat(head, bytes) };
    // Copied: the producer may reuse its buffer once this one is taken.
    head.push(Buffer.from(next.value));
    bytes += next.value.length;
    if (bytes > limit) break;
  }
  async function* rest() {
    yield* head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { rest: rest() };
}
