// Repository storage on a local (POSIX) filesystem: each object a file, written to a temp name,
// fsynced, then linked or renamed into place and the directory fsynced, so a crash never leaves
// a partial object visible.

import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { dbtoolError, messageOf } from '../../core/errors.js';
import { assertValidKey } from '../storage.js';
import type { ObjectInfo, PutOptions, Storage, StorageCapabilities } from '../storage.js';

const TEMP_PREFIX = '.tmp-';
const FILE_MODE = 0o640;
const DIR_MODE = 0o750;

function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class PosixStorage implements Storage {
  readonly capabilities: StorageCapabilities = { atomicIfAbsent: true, localPath: true };
  readonly root: string;
  private readonly knownDirs = new Set<string>();

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  get description(): string {
    return this.root;
  }

  /** The file that holds `key`. */
  pathOf(key: string): string {
    assertValidKey(key);
    return join(this.root, ...key.split('/'));
  }

  localPath(key: string): string {
    return this.pathOf(key);
  }

  private ioError(what: string, key: string, e: unknown): Error {
    return dbtoolError('STORAGE_IO', `${what} ${key} in ${this.root} failed (${messageOf(e)})`, 'Check free space, permissions and the filesystem of the repository', e);
  }

  /** Create a directory (and parents), fsyncing each new one's parent so the entry is durable. */
  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    const parent = dirname(dir);
    if (parent !== dir && !this.knownDirs.has(parent) && dir !== this.root) await this.ensureDir(parent);
    try {
      await mkdir(dir, { mode: DIR_MODE });
      if (dir !== this.root) await fsyncDir(parent);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    this.knownDirs.add(dir);
  }

  private tempPath(path: string): string {
    return join(dirname(path), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  }

  /** Move a complete, fsynced temp file into place; false when ifAbsent and the key exists. */
  private async publish(tmp: string, path: string, options?: PutOptions): Promise<boolean> {
    try {
      if (options?.ifAbsent) {
        try {
          await link(tmp, path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw e;
        }
      } else {
        await rename(tmp, path);
      }
      await fsyncDir(dirname(path));
      return true;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Write a temp file with `fill`, fsync it, then publish it under `key`. */
  private async putVia(key: string, options: PutOptions | undefined, fill: (fh: FileHandle) => Promise<void>): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      await this.ensureDir(dirname(path));
      const tmp = this.tempPath(path);
      try {
        const fh = await open(tmp, 'wx', FILE_MODE);
        try {
          await fill(fh);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
      return await this.publish(tmp, path, options);
    } catch (e) {
      throw this.ioError('writing', key, e);
    }
  }

  put(key: string, data: Buffer | Uint8Array, options?: PutOptions): Promise<boolean> {
    return this.putVia(key, options, (fh) => fh.writeFile(data));
  }

  putStream(key: string, data: Readable, options?: PutOptions): Promise<boolean> {
    return this.putVia(key, options, async (fh) => {
      for await (const piece of data) await fh.write(piece as Uint8Array);
    });
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (e) {
      if (isNotFound(e)) throw dbtoolError('STORAGE_NOT_FOUND', `${key} is not in ${this.root}`, 'Check the repository location');
      throw this.ioError('reading', key, e);
    }
  }

  async getStream(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    // Open first so a missing object fails here, not later inside the stream.
    try {
      const fh = await open(path, 'r');
      return fh.createReadStream();
    } catch (e) {
      if (isNotFound(e)) throw dbtoolError('STORAGE_NOT_FOUND', `${key} is not in ${this.root}`, 'Check the repository location');
      throw this.ioError('reading', key, e);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.pathOf(key));
      if (!s.isFile()) return undefined;
      return { key, size: s.size, mtime: s.mtime };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.ioError('inspecting', key, e);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for await (const { key, path } of this.files(prefix)) {
      try {
        const s = await stat(path);
        yield { key, size: s.size, mtime: s.mtime };
      } catch (e) {
        if (!isNotFound(e)) throw this.ioError('listing', key, e);
      }
    }
  }

  /** The keys list() would give, without a stat per object (a repository holds a file per chunk). */
  async *listKeys(prefix: string): AsyncIterable<string> {
    for await (const { key } of this.files(prefix)) yield key;
  }

  /** The files whose keys start with `prefix`, sorted by key. */
  private files(prefix: string): AsyncIterable<{ key: string; path: string }> {
    // Walk only the directory the prefix lives in; the rest of the prefix filters names.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = dirKey ? join(this.root, ...dirKey.split('/')) : this.root;
    return this.walk(start, dirKey, prefix);
  }

  private async *walk(dir: string, dirKey: string, prefix: string): AsyncIterable<{ key: string; path: string }> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.ioError('listing', dirKey || '/', e);
    }
    // Sort as full keys would sort: a directory's keys continue with '/'.
    const sortKey = (e: { name: string; isDirectory(): boolean }) => (e.isDirectory() ? `${e.name}/` : e.name);
    entries.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Descend only where keys can still start with the prefix.
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(join(dir, entry.name), key, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        yield { key, path: join(dir, entry.name) };
      }
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
      await fsyncDir(dirname(path));
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.ioError('deleting', key, e);
    }
  }

  async close(): Promise<void> {}
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
