// Buffers handed between threads: transferring moves an ArrayBuffer, so a view must own all of it.

/**
 * The ArrayBuffer of `b` when `b` is all of it, else a copy of `b` in one of its own (a Buffer
 * from Node's pool or a subarray shares memory that must not be moved to another thread).
 */
export function ownedArrayBuffer(b: Uint8Array): ArrayBuffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return arrayBufferCopy(b);
}

/** A copy of `b` in an ArrayBuffer of its own, for a buffer that must stay where it is. */
export function arrayBufferCopy(b: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(b.byteLength);
  new Uint8Array(copy).set(b);
  return copy;
}
