// Turn a manifest back into files: directories, symlinks and files written chunk by chunk in
// parallel, each chunk verified against its id. Modes: directories 0700, files 0600.

import { constants } from 'node:fs';
import { mkdir, open, symlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import type { ProgressHandle } from '../core/reporter.js';
import { chunksInFlight, readChunk, writeChunkTo } from './chunk-store.js';
import { DIRECT_ALIGN } from './direct-writer.js';
import { Limiter } from './limiter.js';
import { chunkListProblem } from './manifest.js';
import type { Manifest, ManifestFile } from './manifest.js';
import type { Repository } from './repository.js';
import { SharedChunkObjects, repeatedChunks } from './shared-chunk-objects.js';

export interface MaterialiseOptions {
  repo: Repository;
  manifest: Manifest;
  /** absolute destination of a manifest path, or undefined to skip it */
  destination(path: string): string | undefined;
  progress?: ProgressHandle;
}

export interface MaterialiseResult {
  files: number;
  bytes: number;
}

export async function materialise(o: MaterialiseOptions): Promise<MaterialiseResult> {
  const { manifest } = o;
  const local = o.repo.storage.capabilities.localPath;
  // A remote store answers each GET after a round trip: keep more of them in flight.
  const limiter = new Limiter(local ? 8 : chunksInFlight(manifest.chunkSize));
  const wanted = manifest.files.filter((f) => f.type === 'file' && o.destination(f.path));
  // A local read is cheap; a GET is not, so a remote store is asked once per repeated chunk.
  const shared = local ? undefined : new SharedChunkObjects(repeatedChunks(wanted.filter((f) => !f.bundle).map((f) => f.chunks ?? [])));
  // A bundle is read and checked once for all its files (while they come close together).
  const bundles = new SharedChunkObjects(repeatedChunks(wanted.filter((f) => f.bundle).map((f) => f.chunks ?? [])));
  const made = new Set<string>();
  const ensureDir = async (dir: string) => {
    if (made.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    made.add(dir);
  };

  // Directories and links first, so files have somewhere to go.
  for (const f of manifest.files) {
    const dest = o.destination(f.path);
    if (!dest) continue;
    if (f.type === 'directory') await ensureDir(dest);
    else if (f.type === 'symlink') {
      await ensureDir(dirname(dest));
      await symlink(f.target ?? '', dest);
    }
  }

  let bytes = 0;
  let files = 0;
  const total = manifest.files.reduce((n, f) => n + (f.type === 'file' ? f.size : 0), 0);
  let failure: unknown;
  // The workers write, and the bulk of each file bypasses the page cache (direct-writer.ts says
  // why); a filesystem that refuses O_DIRECT is asked once.
  let direct = true;
  const openDirect = async (dest: string, size: number): Promise<FileHandle | undefined> => {
    if (!direct || size < DIRECT_ALIGN) return undefined;
    try {
      return await open(dest, constants.O_WRONLY | constants.O_DIRECT);
    } catch {
      direct = false;
      return undefined;
    }
  };
  const restoreFile = async (f: ManifestFile, dest: string, ids: string[]) => {
    await ensureDir(dirname(dest));
    const fh = await open(dest, 'wx', 0o600);
    const chunkWrites: Array<Promise<void>> = [];
    let directFh: FileHandle | undefined;
    try {
      directFh = await openDirect(dest, f.size);
      for (let i = 0; i < ids.length; i++) {
        if (failure) break;
        await limiter.acquire();
        const offset = i * manifest.chunkSize;
        const w = writeChunk(o.repo, manifest.chunkSize, f, ids[i]!, fh, offset, directFh?.fd, shared)
          .then((n) => {
            bytes += n;
            o.progress?.update(bytes, total);
          })
          .catch((e: unknown) => {
            failure ??= e;
          })
          .finally(() => limiter.release());
        chunkWrites.push(w);
      }
    } finally {
      await Promise.all(chunkWrites);
      // Its writes are done (or failed, reported by the chunk); fsync of fh below covers the file.
      await directFh?.close().catch(() => undefined);
      await closeFile(fh, f);
    }
  };
  const restoreBundled = async (f: ManifestFile, bundle: { offset: number; size: number }, dest: string, id: string) => {
    const context = `file ${f.path}`;
    const { obj } = await bundles.get(id, () => limiter.run(() => readChunk(o.repo, id, context)));
    if (obj.length !== bundle.size) throw dbtoolError('CHUNK_CORRUPT', `chunk ${id} of ${context} has ${obj.length} bytes, expected ${bundle.size}`, 'Run `dbtool verify`; restore another backup');
    await ensureDir(dirname(dest));
    const fh = await open(dest, 'wx', 0o600);
    try {
      await fh.write(obj, bundle.offset, f.size, 0);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw writeFailed(f, e);
    }
    await closeFile(fh, f);
    bytes += f.size;
    o.progress?.update(bytes, total);
  };
  // Several files at once: a data directory is mostly small files, and opening, syncing and
  // closing each one in turn would leave the workers waiting.
  const fileSlots = new Limiter(16);
  const writes: Array<Promise<void>> = [];
  for (const f of manifest.files) {
    if (f.type !== 'file') continue;
    const dest = o.destination(f.path);
    if (!dest) continue;
    if (failure) break;
    const ids = f.chunks ?? [];
    const problem = chunkListProblem(manifest.chunkSize, f);
    if (problem) {
      failure ??= dbtoolError('MANIFEST_INVALID', `manifest ${manifest.label} lists ${f.path}, which ${problem}`, 'Run `dbtool verify`; restore another backup');
      break;
    }
    await fileSlots.acquire();
    files++;
    writes.push(
      (f.bundle ? restoreBundled(f, f.bundle, dest, ids[0]!) : restoreFile(f, dest, ids))
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => fileSlots.release()),
    );
  }
  await Promise.all(writes);
  if (failure) throw failure;
  return { files, bytes };
}

function writeChunk(repo: Repository, chunkSize: number, f: ManifestFile, id: string, fh: FileHandle, offset: number, directFd: number | undefined, shared: SharedChunkObjects | undefined): Promise<number> {
  return writeChunkTo(repo, id, `file ${f.path}`, fh, offset, Math.min(chunkSize, f.size - offset), directFd, shared);
}

async function closeFile(fh: FileHandle, f: ManifestFile): Promise<void> {
  try {
    await fh.sync();
  } catch (e) {
    throw isDbtoolError(e) ? e : writeFailed(f, e);
  } finally {
    await fh.close();
  }
}

function writeFailed(f: ManifestFile, e: unknown) {
  return dbtoolError('STORAGE_IO', `writing ${f.path} failed (${messageOf(e)})`, 'Check free space and permissions of the target directory', e);
}
