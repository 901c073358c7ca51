// A Storage that retries another one: exponential backoff with full jitter on transient failures
// (STORAGE_IO: 5xx, throttling, timeouts, resets, refused connections), never on refusals (4xx) or
// missing objects, each operation bounded by a total deadline so nothing hangs forever.

import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import type { ObjectInfo, PutOptions, Storage, StorageCapabilities } from './storage.js';

export interface RetryOptions {
  /** total time one operation may take, retries included */
  deadlineMs: number;
  /** where the objects live, for the final error: `s3://bucket/prefix at http://host:port` */
  endpoint: string;
  /** first backoff ceiling; doubles per attempt up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * putStream bodies up to this size are read into memory first, so they can be sent again; a
   * larger stream is sent once (the driver may still resend its parts: S3 multipart does).
   */
  replayableStreamBytes?: number;
  /** random in [0, 1): injectable for tests */
  random?: () => number;
}

const DEFAULT_BASE_DELAY_MS = 100;
const DEFAULT_MAX_DELAY_MS = 5_000;
const DEFAULT_REPLAYABLE_BYTES = 16 * 1024 * 1024;

/** Whether another attempt may succeed: only the catalogue's retryable storage failures. */
export function isTransient(e: unknown): boolean {
  return isDbtoolError(e) && e.code === 'STORAGE_IO' && e.retryable;
}

/** The innermost cause: the network's or the service's own words. */
function rootOf(e: unknown): unknown {
  let at = e;
  while (at instanceof Error && at.cause !== undefined) at = at.cause;
  return at;
}

export class RetryStorage implements Storage {
  readonly capabilities: StorageCapabilities;
  readonly description: string;
  private readonly base: number;
  private readonly max: number;
  private readonly replayable: number;
  private readonly random: () => number;

  constructor(
    private readonly inner: Storage,
    private readonly options: RetryOptions,
  ) {
    this.capabilities = inner.capabilities;
    this.description = inner.description;
    this.base = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.replayable = options.replayableStreamBytes ?? DEFAULT_REPLAYABLE_BYTES;
    this.random = options.random ?? Math.random;
  }

  /**
   * Run `attempt` until it succeeds, fails for good, or the deadline passes. `attempt` gets the
   * attempt number (0 first) so an operation can tell a first try from a repeat.
   */
  private async retry<T>(what: string, attempt: (n: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.options.deadlineMs;
    for (let n = 0; ; n++) {
      try {
        return await attempt(n);
      } catch (e) {
        if (!isTransient(e)) throw e;
        // Full jitter: anywhere between 0 and the (capped) exponential ceiling.
        const delay = Math.floor(this.random() * Math.min(this.max, this.base * 2 ** n));
        if (Date.now() + delay >= deadline) throw this.gaveUp(what, n + 1, e);
        await sleep(delay);
      }
    }
  }

  private gaveUp(what: string, attempts: number, last: unknown): Error {
    const secs = Math.round(this.options.deadlineMs / 100) / 10;
    return dbtoolError(
      'STORAGE_IO',
      `${what} in ${this.options.endpoint} did not succeed within ${secs} s (${attempts} attempt${attempts === 1 ? '' : 's'}; last: ${messageOf(rootOf(last))})`,
      'Check that the endpoint is up and reachable from this host (address, port, TLS, proxy), then try again; a slow service may need a longer deadline= in the repository URL',
      last,
    );
  }

  put(key: string, data: Buffer | Uint8Array, options?: PutOptions): Promise<boolean> {
    return this.retry(`writing ${key}`, async (n) => {
      const stored = await this.inner.put(key, data, options);
      // An earlier attempt may have been stored although its answer was lost: the object that is
      // there now is ours when it holds exactly our bytes.
      if (!stored && n > 0 && options?.ifAbsent) return this.holds(key, data);
      return stored;
    });
  }

  private async holds(key: string, data: Buffer | Uint8Array): Promise<boolean> {
    try {
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(await this.inner.get(key));
    } catch (e) {
      if (isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND') return false;
      throw e;
    }
  }

  async putStream(key: string, data: Readable, options?: PutOptions): Promise<boolean> {
    // Read up to `replayable` bytes: a stream that ends by then becomes a retried put.
    const head: Buffer[] = [];
    let size = 0;
    const it = data[Symbol.asyncIterator]();
    for (;;) {
      const r = await it.next();
      if (r.done) return this.put(key, Buffer.concat(head, size), options);
      const piece = Buffer.from(r.value as Uint8Array);
      head.push(piece);
      size += piece.length;
      if (size > this.replayable) break;
    }
    // Too large to hold: one attempt with what was read followed by the rest of the stream.
    const rest = Readable.from(
      (async function* () {
        yield* head;
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          yield Buffer.from(r.value as Uint8Array);
        }
      })(),
    );
    return this.inner.putStream(key, rest, options);
  }

  get(key: string): Promise<Buffer> {
    return this.retry(`reading ${key}`, () => this.inner.get(key));
  }

  /** Opening the stream is retried; a failure while it flows reaches the reader. */
  getStream(key: string): Promise<Readable> {
    return this.retry(`reading ${key}`, () => this.inner.getStream(key));
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.retry(`inspecting ${key}`, () => this.inner.stat(key));
  }

  /** A failed page starts the listing again, skipping what was already yielded (lists are sorted). */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let last: string | undefined;
    let deadline = Date.now() + this.options.deadlineMs;
    for (let n = 0; ; ) {
      try {
        for await (const o of this.inner.list(prefix)) {
          if (last !== undefined && o.key <= last) continue;
          last = o.key;
          yield o;
          // Progress renews the deadline: a long listing is fine, a stuck one is not.
          deadline = Date.now() + this.options.deadlineMs;
          n = 0;
        }
        return;
      } catch (e) {
        if (!isTransient(e)) throw e;
        const delay = Math.floor(this.random() * Math.min(this.max, this.base * 2 ** n));
        n++;
        if (Date.now() + delay >= deadline) throw this.gaveUp(`listing ${prefix || '/'}`, n, e);
        await sleep(delay);
      }
    }
  }

  delete(key: string): Promise<void> {
    return this.retry(`deleting ${key}`, () => this.inner.delete(key));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
