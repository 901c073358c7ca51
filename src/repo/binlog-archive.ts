// The binlog archive of a MySQL source: each complete binlog file one write-once object, then its
// index entry (.meta, JSON) written last: a binlog is archived iff its index entry exists.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import { keys } from './keys.js';
import type { Repository } from './repository.js';
import { getIfPresent } from '../storage/storage.js';

const metaSchema = z.object({
  name: z.string(),
  /** its number, from the name's numeric suffix (files are replayed in this order) */
  seq: z.number().int(),
  size: z.number().int().min(0),
  firstTime: z.string(),
  lastTime: z.string(),
  endPosition: z.number().int(),
  /** when dbtool archived it: the file was complete (rotated) before this */
  archivedAt: z.string(),
  /** MariaDB: the last GTID of each domain in the file, comma-separated */
  lastGtids: z.string().optional(),
  sha256: z.string(),
});

export type ArchivedBinlog = z.infer<typeof metaSchema>;

const NAME_RE = /^[A-Za-z0-9_.-]+\.(\d{6,})$/;

export function binlogSeq(name: string): number | undefined {
  const m = NAME_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export async function putBinlog(repo: Repository, source: string, meta: Omit<ArchivedBinlog, 'sha256' | 'seq'>, content: Buffer): Promise<'stored' | 'identical'> {
  const seq = binlogSeq(meta.name);
  if (seq === undefined) throw dbtoolError('WAL_INVALID', `'${meta.name}' is not a binlog file name`, 'Binlog files are named <base>.<number>');
  const sha256 = createHash('sha256').update(content).digest('hex');
  const existing = await readBinlogMeta(repo, source, meta.name);
  if (existing) {
    if (existing.sha256 === sha256) return 'identical';
    throw dbtoolError('ARCHIVE_CONFLICT', `binlog ${meta.name} is already archived for source '${source}' with different content`, 'Another server archives to this source: give each server its own --source or repository');
  }
  const key = keys.binlog(source, meta.name);
  if (!(await repo.storage.put(key, repo.encode('archive', key, content), { ifAbsent: true }))) {
    // A crash between file and index left the file: it must be these bytes.
    const stored = repo.decode('archive', key, await repo.storage.get(key));
    if (createHash('sha256').update(stored).digest('hex') !== sha256) {
      throw dbtoolError('ARCHIVE_CONFLICT', `binlog ${meta.name} is already in the archive of source '${source}' with different content`, 'Another server archives to this source: give each server its own --source or repository');
    }
  }
  const full: ArchivedBinlog = { ...meta, seq, sha256 };
  const metaKey = keys.binlogMeta(source, meta.name);
  await repo.storage.put(metaKey, repo.encode('archive', metaKey, Buffer.from(JSON.stringify(full))), { ifAbsent: true });
  return 'stored';
}

async function readBinlogMeta(repo: Repository, source: string, name: string): Promise<ArchivedBinlog | undefined> {
  const key = keys.binlogMeta(source, name);
  const obj = await getIfPresent(repo.storage, key);
  if (!obj) return undefined;
  try {
    return metaSchema.parse(JSON.parse(repo.decode('archive', key, obj).toString('utf8')));
  } catch (e) {
    if (isDbtoolError(e)) throw e;
    throw dbtoolError('REPO_INVALID', `${key} is damaged (${messageOf(e)})`, 'Run `dbtool verify`');
  }
}

/** Every archived binlog of a source, in replay order. */
export async function listBinlogs(repo: Repository, source: string): Promise<ArchivedBinlog[]> {
  const names: string[] = [];
  for await (const obj of repo.storage.list(keys.binlogPrefix(source))) {
    if (obj.key.endsWith('.meta')) names.push(obj.key.slice(keys.binlogPrefix(source).length, -'.meta'.length));
  }
  const metas = await Promise.all(names.map((n) => readBinlogMeta(repo, source, n)));
  return metas.filter((m): m is ArchivedBinlog => m !== undefined).sort((a, b) => a.seq - b.seq);
}

export async function getBinlog(repo: Repository, source: string, name: string): Promise<Buffer> {
  const key = keys.binlog(source, name);
  return repo.decode('archive', key, await repo.storage.get(key));
}
