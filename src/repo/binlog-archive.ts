// The binlog archive of a MySQL source: each complete binlog file stored as write-once part objects
// of at most BINLOG_PART_SIZE bytes, then its index entry (.meta, JSON) written last: a binlog is
// archived iff its index entry exists. Files are read and written part by part, so a binlog of any
// size (max_binlog_size is 1 GiB by default) passes through in bounded memory.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import { keys } from './keys.js';
import type { Repository } from './repository.js';
import { getIfPresent, listKeysOf } from '../storage/storage.js';

/**
 * What the archive needs to know of a binlog's bytes, fed to it in order. The engine knows the
 * format (engine/mysql/binlog-file.ts, BinlogScanner); the caller hands one in, so the repository
 * depends on no engine.
 */
export interface BinlogReader {
  push(bytes: Buffer): void;
  facts(name: string): { firstTime: Date; lastTime: Date; endPosition: number; lastGtids: string };
}

/** Bytes per part object: a part and its encoded form are what a binlog holds in memory. */
export const BINLOG_PART_SIZE = 16 * 1024 * 1024;

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
  /** bytes per part; absent: the file is one object (archived before parts, or small) */
  partSize: z.number().int().min(1).optional(),
});

export type ArchivedBinlog = z.infer<typeof metaSchema>;

const NAME_RE = /^[A-Za-z0-9_.-]+\.(\d{6,})$/;

export function binlogSeq(name: string): number | undefined {
  const m = NAME_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Where each part of an archived binlog lives, with its length, in file order. */
export function binlogParts(source: string, b: Pick<ArchivedBinlog, 'name' | 'size' | 'partSize'>): Array<{ key: string; length: number }> {
  const partSize = b.partSize ?? Math.max(b.size, 1);
  const count = Math.max(1, Math.ceil(b.size / partSize));
  return Array.from({ length: count }, (_, i) => ({ key: keys.binlogPart(source, b.name, i), length: Math.min(partSize, b.size - i * partSize) }));
}

function conflict(source: string, name: string) {
  return dbtoolError('ARCHIVE_CONFLICT', `binlog ${name} is already archived for source '${source}' with different content`, 'Another server archives to this source: give each server its own --source or repository');
}

async function readPart(fh: FileHandle, buf: Buffer, position: number, length: number): Promise<Buffer> {
  for (let done = 0; done < length; ) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw dbtoolError('STORAGE_IO', `the binlog file ended after ${position + done} bytes while being archived`, 'Retry; the file must not change while it is archived');
    done += bytesRead;
  }
  return buf.subarray(0, length);
}

/**
 * Archive the complete binlog file at `path` under its server name: its facts (from `reader`) and
 * digest in one pass, then its parts, then its index entry. An identical file already archived is 'identical';
 * different content under the same name is ARCHIVE_CONFLICT.
 */
export async function putBinlogFile(repo: Repository, source: string, name: string, path: string, reader: BinlogReader, options: { partSize?: number } = {}): Promise<{ outcome: 'stored' | 'identical'; binlog: ArchivedBinlog }> {
  const seq = binlogSeq(name);
  if (seq === undefined) throw dbtoolError('WAL_INVALID', `'${name}' is not a binlog file name`, 'Binlog files are named <base>.<number>');
  const partSize = options.partSize ?? BINLOG_PART_SIZE;
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(Math.min(partSize, Math.max(size, 1)));
    const digest = createHash('sha256');
    for (let at = 0; at < size; at += partSize) {
      const part = await readPart(fh, buf, at, Math.min(partSize, size - at));
      reader.push(part);
      digest.update(part);
    }
    const facts = reader.facts(name);
    const binlog: ArchivedBinlog = {
      name,
      seq,
      size,
      firstTime: facts.firstTime.toISOString(),
      lastTime: facts.lastTime.toISOString(),
      endPosition: facts.endPosition,
      archivedAt: new Date().toISOString(),
      lastGtids: facts.lastGtids,
      sha256: digest.digest('hex'),
      ...(size > partSize ? { partSize } : {}),
    };
    const existing = await readBinlogMeta(repo, source, name);
    if (existing) {
      if (existing.sha256 === binlog.sha256) return { outcome: 'identical', binlog: existing };
      throw conflict(source, name);
    }
    let at = 0;
    for (const { key, length } of binlogParts(source, binlog)) {
      const part = await readPart(fh, buf, at, length);
      at += length;
      if (!(await repo.storage.put(key, repo.encode('archive', key, part), { ifAbsent: true }))) {
        // A crash before the index entry left this part: it must be these bytes.
        const stored = repo.decode('archive', key, await repo.storage.get(key));
        if (!stored.equals(part)) throw conflict(source, name);
      }
    }
    const metaKey = keys.binlogMeta(source, name);
    await repo.storage.put(metaKey, repo.encode('archive', metaKey, Buffer.from(JSON.stringify(binlog))), { ifAbsent: true });
    return { outcome: 'stored', binlog };
  } finally {
    await fh.close();
  }
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
  for await (const key of listKeysOf(repo.storage, keys.binlogPrefix(source))) {
    if (key.endsWith('.meta')) names.push(key.slice(keys.binlogPrefix(source).length, -'.meta'.length));
  }
  const metas = await Promise.all(names.map((n) => readBinlogMeta(repo, source, n)));
  return metas.filter((m): m is ArchivedBinlog => m !== undefined).sort((a, b) => a.seq - b.seq);
}

/**
 * Each part of an archived binlog in file order, decoded and checked against its expected length;
 * at the end the whole file against the index entry's digest. A failure is REPO_INVALID naming
 * the binlog (or OBJECT_TAMPERED, or STORAGE_NOT_FOUND for a missing part).
 */
async function eachPart(repo: Repository, source: string, b: ArchivedBinlog, use: (part: Buffer) => Promise<void>): Promise<void> {
  const digest = createHash('sha256');
  for (const { key, length } of binlogParts(source, b)) {
    const part = repo.decode('archive', key, await repo.storage.get(key));
    if (part.length !== length) throw dbtoolError('REPO_INVALID', `binlog ${b.name}: ${key} has ${part.length} bytes, its index entry says ${length}`, 'Run `dbtool verify`; restore to a point before this binlog');
    digest.update(part);
    await use(part);
  }
  if (digest.digest('hex') !== b.sha256) throw dbtoolError('REPO_INVALID', `binlog ${b.name} does not match its index entry`, 'Run `dbtool verify`; restore to a point before this binlog');
}

/** Check an archived binlog whole, holding one part at a time. */
export function checkBinlog(repo: Repository, source: string, b: ArchivedBinlog): Promise<void> {
  return eachPart(repo, source, b, () => Promise.resolve());
}

/** Write an archived binlog into a new file at `path` (mode 0600), checked as it goes. */
export async function writeBinlogFile(repo: Repository, source: string, b: ArchivedBinlog, path: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await eachPart(repo, source, b, (part) => fh.writeFile(part));
  } finally {
    await fh.close();
  }
}

/** Remove an archived binlog: its index entry first (from then on it is not archived), then its parts. */
export async function deleteBinlog(repo: Repository, source: string, b: ArchivedBinlog): Promise<void> {
  await repo.storage.delete(keys.binlogMeta(source, b.name));
  for (const { key } of binlogParts(source, b)) await repo.storage.delete(key);
}
