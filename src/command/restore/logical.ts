// `dbtool restore --into-database NAME`: load one database of a logical backup into a running
// server through any engine's LogicalLoader, reading every chunk verified.

import { isAbsolute, join, normalize } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { dbtoolError } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import type { LogicalLoader } from '../../engine/logical.js';
import { checkChunk, readChunk } from '../../repo/chunk-store.js';
import { Limiter } from '../../repo/limiter.js';
import { loadManifests } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import { materialise } from '../../repo/materialise.js';
import type { Repository } from '../../repo/repository.js';
import { planLogicalRestore } from './plan.js';

export interface LogicalRestoreOptions {
  repo: Repository;
  source: string;
  loader: LogicalLoader;
  intoDatabase: string;
  /** the database of the backup to load (default: see planLogicalRestore) */
  fromDatabase?: string;
  label?: string;
  clean: boolean;
  jobs: number;
  reporter: Reporter;
}

export interface LogicalRestoreResult {
  label: string;
  fromDatabase: string;
  intoDatabase: string;
  clean: boolean;
  files: number;
  bytes: number;
}

function storedFile(manifest: Manifest, path: string) {
  const file = manifest.files.find((f) => f.path === path && f.type === 'file');
  if (!file) throw dbtoolError('MANIFEST_INVALID', `backup ${manifest.label} has no file ${path}`, 'Run `dbtool verify`');
  return file;
}

/** One stored file as a stream, each chunk verified against its id before it is passed on. */
function readStoredFile(repo: Repository, manifest: Manifest, path: string): Readable {
  const file = storedFile(manifest, path);
  const out = new PassThrough();
  void (async () => {
    for (const id of file.chunks ?? []) {
      if (out.destroyed) return; // the reader gave up
      const data = await readChunk(repo, id, `file ${path} of backup ${manifest.label}`);
      if (!out.write(data)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off('drain', done).off('close', done);
            resolve();
          };
          out.on('drain', done).on('close', done);
        });
      }
    }
    out.end();
  })().catch((e: unknown) => out.destroy(e as Error));
  return out;
}

/** Every chunk of one stored file verified (a few at once, in the workers); nothing comes back. */
async function checkStoredFile(repo: Repository, manifest: Manifest, path: string): Promise<void> {
  const limiter = new Limiter(8);
  await Promise.all((storedFile(manifest, path).chunks ?? []).map((id) => limiter.run(() => checkChunk(repo, id, `file ${path} of backup ${manifest.label}`))));
}

export async function restoreLogical(o: LogicalRestoreOptions): Promise<LogicalRestoreResult> {
  // 1. Decide, before touching the server: which backup, which of its databases.
  const manifests = await loadManifests(o.repo, o.source);
  const plan = planLogicalRestore(
    manifests.map((m) => ({ label: m.label, type: m.type, databases: m.logical?.databases })),
    o.intoDatabase,
    o.label,
    o.fromDatabase,
  );
  const manifest = manifests.find((m) => m.label === plan.label)!;

  // 2. Never load over data unless asked to.
  if (!o.clean && (await o.loader.isNonEmpty(o.intoDatabase))) {
    throw dbtoolError('TARGET_DB_NOT_EMPTY', `database '${o.intoDatabase}' already holds tables`, 'Choose a new database name, or pass --clean to drop and recreate it from the backup');
  }
  o.reporter.info(`restore: database '${plan.fromDatabase}' of logical backup ${plan.label} into '${o.intoDatabase}'${o.clean ? ' (clean)' : ''}`);

  // 3. Load it; the loader asks for the files it needs, read verified chunk by chunk.
  let files = 0;
  let bytes = 0;
  await o.loader.load({
    intoDatabase: o.intoDatabase,
    fromDatabase: plan.fromDatabase,
    clean: o.clean,
    jobs: o.jobs,
    paths: manifest.files.map((f) => f.path),
    read: (path) => readStoredFile(o.repo, manifest, path),
    check: (path) => checkStoredFile(o.repo, manifest, path),
    materialise: async (prefix, dir) => {
      const selected = manifest.files.filter((f) => f.path.startsWith(prefix));
      const total = selected.reduce((n, f) => n + f.size, 0);
      const progress = o.reporter.progress(`restore ${plan.label}`, total);
      const r = await materialise({
        repo: o.repo,
        manifest: { ...manifest, files: selected },
        progress,
        destination: (path) => {
          const rel = normalize(path.slice(prefix.length));
          // Paths come from our own manifest; still, nothing may land outside `dir`.
          if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw dbtoolError('MANIFEST_INVALID', `backup ${plan.label} lists an unsafe path ${path}`, 'Run `dbtool verify`');
          return join(dir, rel);
        },
      });
      progress.stop();
      files += r.files;
      bytes += r.bytes;
    },
  });
  return { label: plan.label, fromDatabase: plan.fromDatabase, intoDatabase: o.intoDatabase, clean: o.clean, files, bytes };
}
