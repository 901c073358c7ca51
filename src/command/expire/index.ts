// `dbtool expire`: apply retention. Manifests go first (a backup is gone the moment its manifest
// is), then archive files older than the oldest kept backup, then chunks no kept manifest of any
// source references. A crash anywhere leaves a consistent repository; a re-run finishes the job.
//
// Chunk collection runs under the repository-wide gc lock and only when no backup holds a lock:
// a running backup may be about to reference a chunk that looks unreferenced. Backups take their
// lock first and then wait for the gc lock to be free (repo/lock.ts waitForGc), so one always sees
// the other.

import type { Reporter } from '../../core/reporter.js';
import { listArchive } from '../../repo/archive.js';
import { chunkIdFromKey, keys } from '../../repo/keys.js';
import { acquireLock, acquireLockKey, liveLocks } from '../../repo/lock.js';
import { loadManifests } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { deleteBinlog, listBinlogs } from '../../repo/binlog-archive.js';
import { binlogsToExpire } from './binlog-plan.js';
import { archiveToExpire, planExpire, unreferencedChunks } from './plan.js';
import type { ExpirePlan, RetentionPolicy } from './plan.js';
import { listKeysOf } from '../../storage/storage.js';

export interface ExpireOptions {
  repo: Repository;
  source: string;
  policy: RetentionPolicy;
  dryRun: boolean;
  reporter: Reporter;
  now?: Date;
}

export interface ExpireResult {
  dryRun: boolean;
  plan: ExpirePlan;
  archive: { files: number; bytes: number; first?: string; last?: string };
  chunks: { count: number; bytes: number };
  /** MySQL sources: archived binlogs older than every kept backup */
  binlogs?: { files: number; bytes: number; first?: string; last?: string };
  /** set when chunk collection was skipped (a backup was running) */
  gcSkipped?: string;
}

/** Sources that have backups in this repository. */
async function listSources(repo: Repository): Promise<string[]> {
  const out = new Set<string>();
  for await (const key of listKeysOf(repo.storage, keys.backupsPrefix)) {
    const name = key.slice(keys.backupsPrefix.length).split('/')[0];
    if (name) out.add(name);
  }
  return [...out].sort();
}

async function chunkSizes(repo: Repository): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const obj of repo.storage.list(keys.chunksPrefix)) {
    const id = chunkIdFromKey(obj.key);
    if (id) out.set(id, obj.size);
  }
  return out;
}

/** What every other source keeps: their manifests reference chunks we must not collect. */
async function otherSourcesManifests(repo: Repository, source: string): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const s of await listSources(repo)) if (s !== source) out.push(...(await loadManifests(repo, s)));
  return out;
}

export async function expire(o: ExpireOptions): Promise<ExpireResult> {
  const lock = await acquireLock(o.repo, o.source, 'expire');
  try {
    // 1. Decide.
    const manifests = await loadManifests(o.repo, o.source);
    const plan = planExpire(manifests, o.policy, o.now ?? new Date());
    const kept = manifests.filter((m) => plan.keep.includes(m.label));
    const archive = archiveToExpire(await listArchive(o.repo, o.source), kept);
    const binlogs = kept.some((m) => m.mysql) ? binlogsToExpire(await listBinlogs(o.repo, o.source), kept) : [];
    const keptEverywhere = [...kept, ...(await otherSourcesManifests(o.repo, o.source))];
    const sizes = await chunkSizes(o.repo);
    const garbage = unreferencedChunks(sizes.keys(), keptEverywhere);
    const result: ExpireResult = {
      dryRun: o.dryRun,
      plan,
      archive: { files: archive.length, bytes: archive.reduce((n, f) => n + f.size, 0), first: archive[0]?.name, last: archive[archive.length - 1]?.name },
      chunks: { count: garbage.length, bytes: garbage.reduce((n, id) => n + (sizes.get(id) ?? 0), 0) },
    };
    if (kept.some((m) => m.mysql)) result.binlogs = { files: binlogs.length, bytes: binlogs.reduce((n, b) => n + b.size, 0), first: binlogs[0]?.name, last: binlogs[binlogs.length - 1]?.name };
    if (o.dryRun) return result;

    // 2. Manifests: from this moment those backups no longer exist.
    for (const label of plan.expire) await o.repo.storage.delete(keys.manifest(o.source, label));
    if (plan.expire.length) o.reporter.info(`expire: removed backup(s) ${plan.expire.join(', ')}`);

    // 3. Archive files no kept backup needs.
    for (const f of archive) await o.repo.storage.delete(f.key);
    // Binlogs: each index entry first (the file is archived iff it exists), then the file's parts.
    for (const b of binlogs) await deleteBinlog(o.repo, o.source, b);

    // 4. Chunks, only while no backup anywhere in the repository runs.
    const gc = await acquireLockKey(o.repo, keys.gcLock, 'chunk collection', `expire --source ${o.source}`);
    try {
      const busy = (await liveLocks(o.repo)).filter((l) => l.key !== keys.gcLock && l.key !== keys.lock(o.source));
      if (busy.length > 0) {
        result.gcSkipped = `${busy[0]!.holder.command} is running (pid ${busy[0]!.holder.pid}); unreferenced chunks stay until the next expire`;
        o.reporter.warn(result.gcSkipped);
        result.chunks = { count: 0, bytes: 0 };
      } else {
        for (const id of garbage) await o.repo.storage.delete(keys.chunk(id));
      }
    } finally {
      await gc.release();
    }
    return result;
  } finally {
    await lock.release();
  }
}
