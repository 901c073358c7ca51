// What an S3 repository can do, shared by the driver and its lazy front (which must not load the SDK).

import type { StorageCapabilities } from '../storage.js';

export const S3_CAPABILITIES: StorageCapabilities = Object.freeze({
  // ifAbsent is a stat, then a conditional PUT
  atomicIfAbsent: false,
  localPath: false,
  // 4 MiB: a quarter of the requests of 1 MiB chunks, each costing latency and CPU on both ends
  defaultChunkSize: 4 * 1024 * 1024,
});
