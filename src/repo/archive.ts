// The continuous archive of a source: WAL segments and history/backup/partial files, each one
// object, compressed, written once. Re-pushing identical content succeeds; different content fails.

import { createHash } from 'node:crypto';
import { dbtoolError } from '../core/errors.js';
import { parseWalFileName } from '../core/lsn.js';
import type { WalFileName } from '../core/lsn.js';
import { keys } from './keys.js';
import type { Repository } from './repository.js';
import { getIfPresent } from '../storage/storage.js';

export interface ArchivedFile extends WalFileName {
  key: string;
  /** stored size */
  size: number;
  /** when it was archived */
  mtime: Date;
}

export type PushResult = 'stored' | 'identical';

export async function pushArchiveFile(repo: Repository, source: string, name: string, content: Buffer): Promise<PushResult> {
  const wal = parseWalFileName(name);
  const key = keys.archive(source, wal.timeline, name);
  const obj = repo.encode('archive', key, content);
  if (await repo.storage.put(key, obj, { ifAbsent: true })) return 'stored';
  const existing = repo.decode('archive', key, await repo.storage.get(key));
  const same = createHash('sha256').update(existing).digest().equals(createHash('sha256').update(content).digest());
  if (same) return 'identical';
  throw dbtoolError(
    'ARCHIVE_CONFLICT',
    `${name} is already archived for source '${source}' with different content`,
    'Two clusters (or a split brain) are archiving to the same place: stop one, and give each cluster its own --source or repository',
  );
}

/** The archived file's content, or undefined when it is not in the archive. */
export async function getArchiveFile(repo: Repository, source: string, name: string): Promise<Buffer | undefined> {
  const wal = parseWalFileName(name);
  const key = keys.archive(source, wal.timeline, name);
  const obj = await getIfPresent(repo.storage, key);
  return obj && repo.decode('archive', key, obj);
}

/** Every archived file of a source, sorted by timeline then name. */
export async function listArchive(repo: Repository, source: string): Promise<ArchivedFile[]> {
  const prefix = keys.archivePrefix(source);
  const out: ArchivedFile[] = [];
  for await (const obj of repo.storage.list(prefix)) {
    const name = obj.key.slice(obj.key.lastIndexOf('/') + 1);
    let wal: WalFileName;
    try {
      wal = parseWalFileName(name);
    } catch {
      continue;
    }
    out.push({ ...wal, key: obj.key, size: obj.size, mtime: obj.mtime });
  }
  return out.sort((a, b) => a.timeline - b.timeline || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
