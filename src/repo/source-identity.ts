// Which cluster a source in the repository belongs to: written once by the first backup or
// wal-push, checked by every later one, so two clusters never mix their WAL or backups.

import { z } from 'zod';
import { dbtoolError, messageOf } from '../core/errors.js';
import { keys } from './keys.js';
import type { Repository } from './repository.js';
import { getIfPresent } from '../storage/storage.js';

const identitySchema = z.object({
  source: z.string(),
  engine: z.enum(['postgres', 'mysql']),
  systemId: z.string().min(1),
  created: z.string(),
});

export type SourceIdentity = z.infer<typeof identitySchema>;

export async function readSourceIdentity(repo: Repository, source: string): Promise<SourceIdentity | undefined> {
  const key = keys.sourceIdentity(source);
  const raw = await getIfPresent(repo.storage, key);
  if (!raw) return undefined;
  // An encrypted repository seals it too (kind meta); a plain one keeps plain JSON, as always.
  const plain = repo.encrypted ? repo.decode('meta', key, raw) : raw;
  try {
    return identitySchema.parse(JSON.parse(plain.toString('utf8')));
  } catch (e) {
    throw dbtoolError('REPO_INVALID', `${key} in ${repo.storage.description} is damaged (${messageOf(e)})`, 'Restore it from a copy');
  }
}

/**
 * Make sure `source` in this repository belongs to the cluster with `systemId`: record it on
 * first use, refuse a different one afterwards.
 */
export async function claimSource(repo: Repository, source: string, engine: 'postgres' | 'mysql', systemId: string): Promise<void> {
  const existing = await readSourceIdentity(repo, source);
  if (!existing) {
    const identity: SourceIdentity = { source, engine, systemId, created: new Date().toISOString() };
    const key = keys.sourceIdentity(source);
    const body = Buffer.from(`${JSON.stringify(identity, null, 2)}\n`);
    const created = await repo.storage.put(key, repo.encrypted ? repo.encode('meta', key, body) : body, { ifAbsent: true });
    if (created) return;
    return claimSource(repo, source, engine, systemId);
  }
  if (existing.engine !== engine || existing.systemId !== systemId) {
    throw dbtoolError(
      'REPO_OTHER_CLUSTER',
      `source '${source}' in ${repo.storage.description} belongs to ${existing.engine} system ${existing.systemId}, but this is ${engine} system ${systemId}`,
      'Use another --source name (or repository) for this cluster; mixing two clusters would make restores wrong',
    );
  }
}
