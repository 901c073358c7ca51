// An S3 repository whose driver (and the AWS SDK, a large import) is loaded on first use: every
// command opens its storage at start, and a local repository should not pay for the SDK.

import type { Readable } from 'node:stream';
import type { ObjectInfo, PutOptions, Storage, StorageCapabilities } from '../storage.js';
import { S3_CAPABILITIES } from './s3-capabilities.js';
import type { S3Location } from './s3-location.js';
import type { S3Storage } from './s3-storage.js';

export class LazyS3Storage implements Storage {
  readonly capabilities: StorageCapabilities = S3_CAPABILITIES;
  readonly description: string;
  /** as S3Storage names them, for messages */
  readonly endpointName: string;
  readonly location: string;
  private driver: Promise<S3Storage> | undefined;

  constructor(private readonly loc: S3Location) {
    this.description = loc.description;
    this.endpointName = loc.endpoint ?? `S3 (${loc.region ?? 'default region'})`;
    this.location = `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
  }

  private s3(): Promise<S3Storage> {
    this.driver ??= import('./s3-storage.js').then((m) => new m.S3Storage(this.loc));
    return this.driver;
  }

  async put(key: string, data: Buffer | Uint8Array, options?: PutOptions): Promise<boolean> {
    return (await this.s3()).put(key, data, options);
  }

  async putStream(key: string, data: Readable, options?: PutOptions): Promise<boolean> {
    return (await this.s3()).putStream(key, data, options);
  }

  async get(key: string): Promise<Buffer> {
    return (await this.s3()).get(key);
  }

  async getStream(key: string): Promise<Readable> {
    return (await this.s3()).getStream(key);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    return (await this.s3()).stat(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this.s3()).list(prefix);
  }

  async delete(key: string): Promise<void> {
    return (await this.s3()).delete(key);
  }

  async close(): Promise<void> {
    // Never loads the SDK just to close it.
    if (this.driver) await (await this.driver).close();
  }
}
