// A one-slot async channel of buffers: the producer's push() settles once the consumer has taken
// the buffer, so a stream parser can feed several files' consumers with backpressure.

export class BufferChannel implements AsyncIterable<Buffer> {
  private item: { buf: Buffer; taken: () => void } | undefined;
  private waiting: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  private rejectPush: ((e: unknown) => void) | undefined;
  written = 0;

  /** Hand a buffer to the consumer; settles when it is taken (rejects if the consumer gave up). */
  push(buf: Buffer): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.written += buf.length;
    return new Promise<void>((resolve, reject) => {
      this.rejectPush = reject;
      this.item = { buf, taken: resolve };
      this.wake();
    });
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The consumer failed: pending and later pushes reject with `e`. */
  abort(e: unknown): void {
    this.failure = e;
    this.rejectPush?.(e);
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.item) {
        const { buf, taken } = this.item;
        this.item = undefined;
        this.rejectPush = undefined;
        taken();
        yield buf;
        continue;
      }
      if (this.ended || this.failure !== undefined) return;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}
