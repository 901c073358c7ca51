// One lock per source: who holds it and since when. A lock whose process is gone (same host,
// dead pid) is stale and taken over; a live one makes the second command fail clearly.

import { hostname } from 'node:os';
import { dbtoolError, isDbtoolError } from '../core/errors.js';
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

export async function acquireLock(repo: Repository, source: string, command: string): Promise<Lock> {
  const key = keys.lock(source);
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
        `source '${source}' is locked by ${holder.command} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`,
        `Wait for it to finish; if that process is gone, delete ${key} in the repository`,
      );
    }
    await repo.storage.delete(key);
  }
  throw dbtoolError('REPO_LOCKED', `could not take the lock ${key}`, 'Retry; another dbtool may be starting at the same time');
}
