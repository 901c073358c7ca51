// Chunk objects a restore needs more than once (identical files in several databases, repeated
// pages), fetched from a remote store once: each GET costs a round trip and milliseconds of CPU on
// both ends, and a PostgreSQL data directory repeats hundreds of small files.

/** How many times each chunk id occurs in `chunkLists`, for the ids that occur more than once. */
export function repeatedChunks(chunkLists: Iterable<readonly string[]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ids of chunkLists) for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  for (const [id, n] of counts) if (n < 2) counts.delete(id);
  return counts;
}

export interface SharedObject {
  obj: Buffer;
  /** another use of this id will come for the same buffer: do not transfer or change it */
  shared: boolean;
}

/**
 * Holds the object of a repeated chunk from its first use to its last (uses are counted down),
 * within `maxBytes`; past that bound a later use fetches the object again.
 */
export class SharedChunkObjects {
  private readonly remaining: Map<string, number>;
  private readonly held = new Map<string, Promise<Buffer>>();
  private heldBytes = 0;

  constructor(
    repeated: Map<string, number>,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {
    this.remaining = new Map(repeated);
  }

  /** Bytes held now (for tests and diagnostics). */
  get bytes(): number {
    return this.heldBytes;
  }

  async get(id: string, fetch: () => Promise<Buffer>): Promise<SharedObject> {
    const left = this.remaining.get(id);
    if (left === undefined) return { obj: await fetch(), shared: false };
    if (left <= 1) this.remaining.delete(id);
    else this.remaining.set(id, left - 1);
    const last = left <= 1;

    const pending = this.held.get(id);
    if (pending) {
      const obj = await pending;
      // The last use lets go; it may then do what it likes with the buffer.
      if (last && this.held.get(id) === pending) this.drop(id, obj.length);
      return { obj, shared: !last };
    }
    if (last) return { obj: await fetch(), shared: false };

    const fetching = fetch();
    this.held.set(id, fetching);
    let obj: Buffer;
    try {
      obj = await fetching;
    } catch (e) {
      // A later use tries again (and fails the same way, or not).
      if (this.held.get(id) === fetching) this.held.delete(id);
      throw e;
    }
    if (this.held.get(id) === fetching) {
      if (!this.remaining.has(id)) this.held.delete(id);
      else if (this.heldBytes + obj.length > this.maxBytes) this.held.delete(id);
      else this.heldBytes += obj.length;
    }
    // Shared while held: uses already waiting on `fetching` hold the same buffer.
    return { obj, shared: true };
  }

  private drop(id: string, length: number): void {
    this.held.delete(id);
    this.heldBytes -= length;
  }
}
