// Repository storage on an S3-compatible object store (AWS S3, MinIO, Ceph, s3rver) through the AWS
// SDK v3. Keys live under the URL's prefix; PUT is atomic on S3, so no object is ever half-visible.
// Retries are RetryStorage's (one SDK attempt per call), but for the parts of a multipart upload.

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type * as ClientS3 from '@aws-sdk/client-s3';
import type { ListObjectsV2CommandOutput, S3Client, ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import type * as HttpHandler from '@smithy/node-http-handler';
import type { BuildMiddleware } from '@smithy/types';
import { dbtoolError, isDbtoolError, messageOf } from '../../core/errors.js';
import { assertValidKey } from '../storage.js';
import type { ObjectInfo, PutOptions, Storage, StorageCapabilities } from '../storage.js';
import { S3_CAPABILITIES } from './s3-capabilities.js';
import { S3Getter } from './s3-getter.js';
import type { S3Location } from './s3-location.js';

/** Enough sockets for ChunkWriter's io slots and materialise's concurrency, with room to spare. */
const MAX_SOCKETS = 64;
/** putStream: parts of this size, a few in flight (each part is a buffer the SDK can resend). */
const PART_SIZE = 8 * 1024 * 1024;
const PART_QUEUE = 4;
const UPLOAD_ATTEMPTS = 6;

// The SDK ships CommonJS bundles. require() loads them as such; an ESM import would first scan a
// bundle's source for its export names (about 20 ms of every S3 command's start, measured).
const requireCjs = createRequire(import.meta.url);
const { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client: S3ClientClass } = requireCjs('@aws-sdk/client-s3') as typeof ClientS3;
const { NodeHttpHandler } = requireCjs('@smithy/node-http-handler') as typeof HttpHandler;

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** The HTTP status of an SDK error, when the service answered at all. */
export function httpStatusOf(e: unknown): number | undefined {
  const s = e as SdkErrorShape | undefined;
  return s?.$metadata?.httpStatusCode ?? s?.$response?.statusCode;
}

function isMissing(e: unknown): boolean {
  const s = e as SdkErrorShape | undefined;
  return s?.name === 'NoSuchKey' || s?.name === 'NotFound' || s?.Code === 'NoSuchKey' || httpStatusOf(e) === 404;
}

function isPreconditionFailed(e: unknown): boolean {
  const s = e as SdkErrorShape | undefined;
  return s?.name === 'PreconditionFailed' || httpStatusOf(e) === 412;
}

/**
 * Whether the service refused the request for good (bad credentials, no such bucket, …): 4xx but
 * for timeouts (408) and throttling (429). Everything else (5xx, SlowDown, resets, timeouts,
 * refused connections) may pass and is left to RetryStorage.
 */
function isRefusal(e: unknown): boolean {
  const status = httpStatusOf(e);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/** Failures of the client's own configuration (no region, no credentials): no retry can help. */
function configProblem(e: unknown): string | undefined {
  const name = (e as SdkErrorShape | undefined)?.name ?? '';
  const msg = messageOf(e);
  if (/region is missing/i.test(msg)) return 'Give the region: ?region=… in the repository URL, s3.region in the config file, or AWS_REGION';
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(msg)) {
    return 'Give credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE (shared config), or s3.accessKeyId/s3.secretAccessKey in the config file';
  }
  return undefined;
}

/**
 * PUT bodies are not hashed into the request signature (SigV4's UNSIGNED-PAYLOAD): that SHA-256,
 * and a Content-MD5 beside it, cost a third of a backup's main-thread time. The SDK's CRC32
 * checksum still lets the service check what it received; TLS protects the bytes on the way; every
 * chunk is checked against its keyed id (and, encrypted, its GCM tag) when it is read back.
 */
const unsignedPayload: BuildMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
  const request = args.request as { headers?: Record<string, string>; method?: string };
  if (request.method === 'PUT' && request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  return next(args);
};

export class S3Storage implements Storage {
  /** ifAbsent is a stat, then a PUT with If-None-Match: * (honoured by AWS, ignored by some servers). */
  readonly capabilities: StorageCapabilities = S3_CAPABILITIES;
  readonly description: string;
  readonly endpointName: string;
  /** s3://bucket/prefix, without parameters */
  readonly location: string;
  private readonly client: S3Client;
  private readonly uploadClient: S3Client;
  /** get() goes this shorter way (s3-getter.ts says why) */
  private readonly getter: S3Getter;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(loc: S3Location) {
    this.description = loc.description;
    this.endpointName = loc.endpoint ?? `S3 (${loc.region ?? 'default region'})`;
    this.location = `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
    this.bucket = loc.bucket;
    this.prefix = loc.prefix ? `${loc.prefix}/` : '';
    const agent = { keepAlive: true, maxSockets: MAX_SOCKETS };
    const agents = { http: new HttpAgent(agent), https: new HttpsAgent(agent) };
    // The pinned SDK supports Node 20; its notice about later releases would break dbtool's
    // one-line stderr (archive_command logs, scripts). The SDK documents this switch.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const config = {
      // undefined leaves each to the SDK's own chain (AWS_ENDPOINT_URL_S3, AWS_REGION, profile, …).
      ...(loc.endpoint !== undefined ? { endpoint: loc.endpoint } : {}),
      ...(loc.region !== undefined ? { region: loc.region } : {}),
      ...(loc.credentials ? { credentials: loc.credentials } : {}),
      forcePathStyle: loc.forcePathStyle,
      requestHandler: new NodeHttpHandler({
        httpAgent: agents.http,
        httpsAgent: agents.https,
        connectionTimeout: Math.min(loc.requestTimeoutMs, 10_000),
        socketTimeout: loc.requestTimeoutMs,
      }),
    };
    // One attempt per call: RetryStorage owns backoff and the per-operation deadline.
    this.client = new S3ClientClass({ ...config, maxAttempts: 1 });
    this.client.middlewareStack.add(unsignedPayload, { step: 'build', name: 'dbtoolUnsignedPayload' });
    // Large putStreams are sent once by RetryStorage (a stream cannot be replayed), but each
    // multipart part is a buffer: the SDK's own retries (backoff, same sockets) resend a failed part.
    this.uploadClient = new S3ClientClass({ ...config, maxAttempts: UPLOAD_ATTEMPTS });
    this.getter = new S3Getter(this.client, loc.bucket, loc.endpoint, loc.forcePathStyle, agents, loc.requestTimeoutMs);
  }

  private fullKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  private where(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  /** An SDK failure as a catalogue error: STORAGE_REFUSED for a final 4xx, else STORAGE_IO (retryable). */
  private failure(what: string, key: string, e: unknown): Error {
    if (isDbtoolError(e)) return e;
    const status = httpStatusOf(e);
    const detail = `${(e as SdkErrorShape).name ?? 'error'}${status ? ` ${status}` : ''}: ${messageOf(e)}`;
    const config = configProblem(e);
    if (config) return dbtoolError('CONFIG_INVALID', `cannot reach the repository ${this.description} (${messageOf(e)})`, config, e);
    if (isRefusal(e)) {
      const hint =
        status === 403 || status === 401
          ? 'Check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the config file s3: keys) and the bucket policy'
          : 'Check the bucket name, region, endpoint and pathStyle of the repository URL';
      return dbtoolError('STORAGE_REFUSED', `${what} ${this.where(key)} at ${this.endpointName} was refused (${detail})`, hint, e);
    }
    return dbtoolError('STORAGE_IO', `${what} ${this.where(key)} at ${this.endpointName} failed (${detail})`, 'Check that the endpoint is reachable and healthy', e);
  }

  private notFound(key: string): Error {
    return dbtoolError('STORAGE_NOT_FOUND', `${key} is not in ${this.description}`, 'Check the repository location');
  }

  async put(key: string, data: Buffer | Uint8Array, options?: PutOptions): Promise<boolean> {
    const full = this.fullKey(key);
    // A HEAD per chunk would double the requests of a backup: for interchangeable objects the
    // conditional PUT alone decides where the service honours it, and a lost race costs nothing.
    if (options?.ifAbsent && !options.interchangeable && (await this.stat(key))) return false;
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: full,
          Body: body,
          ContentLength: body.length,
          ...(options?.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return true;
    } catch (e) {
      if (options?.ifAbsent && isPreconditionFailed(e)) return false;
      throw this.failure('writing', key, e);
    }
  }

  async putStream(key: string, data: Readable, options?: PutOptions): Promise<boolean> {
    const full = this.fullKey(key);
    if (options?.ifAbsent && (await this.stat(key))) return false;
    // A failure of the source is the caller's error, not a storage failure: remember it.
    let sourceError: unknown;
    data.once('error', (e) => (sourceError ??= e));
    // Loaded here, not at the top: only backups upload streams, and a restore need not pay for it.
    const { Upload } = requireCjs('@aws-sdk/lib-storage') as typeof LibStorage;
    const upload = new Upload({
      client: this.uploadClient,
      partSize: PART_SIZE,
      queueSize: PART_QUEUE,
      leavePartsOnError: false,
      params: { Bucket: this.bucket, Key: full, Body: data, ...(options?.ifAbsent ? { IfNoneMatch: '*' } : {}) },
    });
    try {
      await upload.done();
      return true;
    } catch (e) {
      if (sourceError !== undefined) throw sourceError;
      if (options?.ifAbsent && isPreconditionFailed(e)) return false;
      throw this.failure('writing', key, e);
    }
  }

  private async getObject(key: string): Promise<Readable> {
    const full = this.fullKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
      if (!(out.Body instanceof Readable)) throw new Error('the SDK returned no readable body');
      return out.Body;
    } catch (e) {
      if (isMissing(e)) throw this.notFound(key);
      throw this.failure('reading', key, e);
    }
  }

  async get(key: string): Promise<Buffer> {
    const full = this.fullKey(key);
    try {
      return await this.getter.get(full);
    } catch (e) {
      if (isMissing(e)) throw this.notFound(key);
      throw this.failure('reading', key, e);
    }
  }

  async getStream(key: string): Promise<Readable> {
    return this.getObject(key);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const full = this.fullKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return { key, size: out.ContentLength ?? 0, mtime: out.LastModified ?? new Date(0) };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.failure('inspecting', key, e);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    let last = '';
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      } catch (e) {
        throw this.failure('listing', prefix, e);
      }
      // S3 lists in UTF-8 byte order; keys are ASCII, where that is JavaScript's order too.
      const objects = (page.Contents ?? []).filter((o) => o.Key !== undefined).sort((a, b) => (a.Key! < b.Key! ? -1 : a.Key! > b.Key! ? 1 : 0));
      for (const o of objects) {
        const key = o.Key!.slice(this.prefix.length);
        if (key <= last) continue; // each once, even if a service repeats a key across pages
        last = key;
        yield { key, size: o.Size ?? 0, mtime: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    const full = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (e) {
      if (isMissing(e)) return;
      throw this.failure('deleting', key, e);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.uploadClient.destroy();
  }
}
