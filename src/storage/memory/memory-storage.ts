// Repository storage in memory: for unit tests of the layers above and for the conformance suite.

import { Readable } from 'node:stream';
import { dbtoolError } from '../../core/errors.js';
import { assertValidKey } from '../storage.js';
import type { ObjectInfo, PutOptions, Storage, StorageCapabilities } from '../storage.js';

export class MemoryStorage implements Storage {
  readonly capabilities: StorageCapabilities = { atomicIfAbsent: true, localPath: false };
  readonly description = 'memory';
  private readonly objects = new Map<string, { data: Buffer; mtime: Date }>();

  async put(key: string, data: Buffer | Uint8Array, options?: PutOptions): Promise<boolean> {
    assertValidKey(key);
    if (options?.ifAbsent && this.objects.has(key)) return false;
    this.objects.set(key, { data: Buffer.from(data), mtime: new Date() });
    return true;
  }

  async putStream(key: string, data: Readable, options?: PutOptions): Promise<boolean> {
    assertValidKey(key);
    const parts: Buffer[] = [];
    for await (const piece of data) parts.push(Buffer.from(piece as Uint8Array));
    // Only a complete stream becomes visible.
    return this.put(key, Buffer.concat(parts), options);
  }

  private find(key: string): { data: Buffer; mtime: Date } {
    assertValidKey(key);
    const o = this.objects.get(key);
    if (!o) throw dbtoolError('STORAGE_NOT_FOUND', `${key} is not in memory storage`, 'Check the key');
    return o;
  }

  async get(key: string): Promise<Buffer> {
    return Buffer.from(this.find(key).data);
  }

  async getStream(key: string): Promise<Readable> {
    return Readable.from([Buffer.from(this.find(key).data)]);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    const o = this.objects.get(key);
    return o ? { key, size: o.data.length, mtime: o.mtime } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const o = this.objects.get(key);
      if (o) yield { key, size: o.data.length, mtime: o.mtime };
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    this.objects.delete(key);
  }

  async close(): Promise<void> {}
}
