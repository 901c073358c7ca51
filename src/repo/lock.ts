// Locks: one per source, and one for chunk collection; who holds each and since when. A lock whose process is gone (same host,
// dead pid) is stale and taken over; a live one makes the second command fail clearly.

import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError, isDbtoolError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import { keys } from './keys.js';
import type { Repository } from './repository.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface Lock {
  release(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isStale(lock: LockInfo, here = hostname()): boolean {
  return lock.host === here && !processAlive(lock.pid);
}

async function readLock(repo: Repository, key: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse((await repo.storage.get(key)).toString('utf8')) as LockInfo;
  } catch (e) {
    if (isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND') return undefined;
    // An unreadable lock (torn by a crash on a non-atomic store) is treated as stale.
    return { pid: -1, host: hostname(), command: 'unknown', since: new Date(0).toISOString() };
  }
}

/** The holder of a lock if it is held by a live process, else undefined. */
export async function liveHolder(repo: Repository, key: string): Promise<LockInfo | undefined> {
  const holder = await readLock(repo, key);
  return holder && !isStale(holder) ? holder : undefined;
}

/** Every live lock in the repository, by key. */
export async function liveLocks(repo: Repository): Promise<Array<{ key: string; holder: LockInfo }>> {
  const out: Array<{ key: string; holder: LockInfo }> = [];
  for await (const obj of repo.storage.list(keys.locksPrefix)) {
    const holder = await liveHolder(repo, obj.key);
    if (holder) out.push({ key: obj.key, holder });
  }
  return out;
}

export function acquireLock(repo: Repository, source: string, command: string): Promise<Lock> {
  return acquireLockKey(repo, keys.lock(source), `source '${source}'`, command);
}

export async function acquireLockKey(repo: Repository, key: string, what: string, command: string): Promise<Lock> {
  const mine: LockInfo = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  const body = Buffer.from(JSON.stringify(mine));
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await repo.storage.put(key, body, { ifAbsent: true })) {
      return {
        release: async () => {
          const current = await readLock(repo, key);
          if (current && current.pid === mine.pid && current.host === mine.host && current.since === mine.since) await repo.storage.delete(key);
        },
      };
    }
    const holder = await readLock(repo, key);
    if (holder && !isStale(holder)) {
      throw dbtoolError(
        'REPO_LOCKED',
        `${what} is locked by ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`,
        `Wait for it to finish; if that process is gone, delete ${key} in the repository`,
      );
    }
    await repo.storage.delete(key);
  }
  throw dbtoolError('REPO_LOCKED', `could not take the lock ${key}`, 'Retry; another dbtool may be starting at the same time');
}

/**
 * Called by a backup holding its source lock: wait while chunk collection runs, so the chunks the
 * backup finds in the repository stay there until its manifest references them. (Collection, in
 * turn, takes the gc lock first and skips if any backup lock is live: one always sees the other.)
 */
export async function waitForGc(repo: Repository, reporter: Reporter, timeoutMs = 30 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    const holder = await liveHolder(repo, keys.gcLock);
    if (!holder) return;
    if (!said) reporter.info(`waiting for chunk collection (${holder.command}, pid ${holder.pid}) to finish`);
    said = true;
    if (Date.now() > deadline) throw dbtoolError('REPO_LOCKED', `chunk collection (${holder.command}, pid ${holder.pid}) has run for over ${Math.round(timeoutMs / 60000)} minutes`, 'Retry the backup later');
    await sleep(1000);
  }
}
