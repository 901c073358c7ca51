// Backup manifests: the schema, and reading/writing them. A backup exists iff its manifest does;
// a manifest is written once, last, atomically, and lists every chunk the backup needs.

import { z } from 'zod';
import { dbtoolError, isDbtoolError, messageOf } from '../core/errors.js';
import { isLabel } from '../core/time.js';
import { keys } from './keys.js';
import type { Repository } from './repository.js';
import { listKeysOf } from '../storage/storage.js';

/** Format 2 added bundled files (`bundle`); format 1 manifests read as before. */
export const MANIFEST_FORMAT = 2;

const fileSchema = z.object({
  path: z.string().min(1),
  type: z.enum(['file', 'directory', 'symlink']),
  mode: z.number().int().min(0).max(0o7777),
  size: z.number().int().min(0),
  mtime: z.string(),
  /** chunk ids in order; their sizes are chunkSize except the last (a bundled file has one) */
  chunks: z.array(z.string().regex(/^[0-9a-f]{64}$/)).optional(),
  /**
   * A small file packed with others into one chunk (its only chunk id), which holds `size` bytes;
   * the file is the file's own `size` bytes of it from `offset`.
   */
  bundle: z.object({ offset: z.number().int().min(0), size: z.number().int().min(1) }).optional(),
  target: z.string().optional(),
});

const tablespaceSchema = z.object({ oid: z.number().int(), location: z.string(), name: z.string().optional() });

const postgresSchema = z.object({
  startLsn: z.string(),
  stopLsn: z.string(),
  timeline: z.number().int().min(1),
  stopTimeline: z.number().int().min(1),
  startWal: z.string(),
  stopWal: z.string(),
  walSegmentSize: z.number().int(),
  /** next transaction id when the backup had finished (xids below it may be targets) */
  stopNextXid: z.string().optional(),
  tablespaces: z.array(tablespaceSchema),
});

/** What a logical backup holds: the dump tool and the databases it dumped. */
const logicalSchema = z.object({
  /** e.g. 'pg_dump (PostgreSQL) 15.19' */
  tool: z.string(),
  databases: z.array(z.string()),
});

const mysqlSchema = z.object({
  flavour: z.enum(['mariadb', 'mysql']),
  /** from xtrabackup_checkpoints: 'full-backuped' or 'incremental' */
  backupType: z.string(),
  /** LSNs as decimal strings (64-bit) */
  fromLsn: z.string().regex(/^\d+$/),
  toLsn: z.string().regex(/^\d+$/),
  lastLsn: z.string().regex(/^\d+$/),
  /** binlog coordinates of the backup's consistent point (absent when binlogs are off) */
  binlog: z.object({ file: z.string(), position: z.number().int().min(0), gtid: z.string().optional() }).optional(),
  /** the backup tool that took it, e.g. 'mariadb-backup' */
  tool: z.string(),
});

export const manifestSchema = z.object({
  format: z.union([z.literal(1), z.literal(MANIFEST_FORMAT)]),
  label: z.string().refine(isLabel, 'not a backup label'),
  source: z.string(),
  engine: z.enum(['postgres', 'mysql']),
  type: z.enum(['full', 'diff', 'incr', 'logical']),
  parent: z.string().nullable(),
  startTime: z.string(),
  stopTime: z.string(),
  chunkSize: z.number().int(),
  server: z.object({ version: z.string(), versionNum: z.number().int(), systemId: z.string() }),
  postgres: postgresSchema.optional(),
  logical: logicalSchema.optional(),
  mysql: mysqlSchema.optional(),
  bytes: z.object({
    /** sum of the sizes of the files in the backup */
    database: z.number().int().min(0),
    /** bytes read from the source */
    read: z.number().int().min(0),
    /** plaintext bytes of chunks this backup added to the repository */
    new: z.number().int().min(0),
    /** bytes those new chunks take in storage */
    stored: z.number().int().min(0),
  }),
  files: z.array(fileSchema),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileSchema>;
export type Tablespace = z.infer<typeof tablespaceSchema>;
export type MysqlManifestSection = z.infer<typeof mysqlSchema>;

/** The plaintext length of a file's `index`th chunk: a bundle's whole size, or the file's share. */
export function chunkLength(chunkSize: number, file: ManifestFile, index: number): number {
  return file.bundle ? file.bundle.size : Math.min(chunkSize, file.size - index * chunkSize);
}

/** What is wrong with a file's chunk list (their count, or where it sits in its bundle), or undefined. */
export function chunkListProblem(chunkSize: number, file: ManifestFile): string | undefined {
  const want = file.bundle ? 1 : Math.ceil(file.size / chunkSize);
  const have = file.chunks?.length ?? 0;
  if (have !== want) return `has ${have} chunk(s) for ${file.size} bytes, expected ${want}`;
  if (file.bundle && file.bundle.offset + file.size > file.bundle.size) return `(${file.size} bytes from ${file.bundle.offset}) ends past its bundle of ${file.bundle.size} bytes`;
  return undefined;
}

/** Write a manifest once; refuses to replace an existing one. */
export async function writeManifest(repo: Repository, manifest: Manifest): Promise<void> {
  const key = keys.manifest(manifest.source, manifest.label);
  const body = repo.encode('manifest', key, Buffer.from(JSON.stringify(manifest)));
  const created = await repo.storage.put(key, body, { ifAbsent: true });
  if (!created) throw dbtoolError('INTERNAL', `a backup labelled ${manifest.label} already exists`, 'Wait a second and retry');
}

export async function readManifest(repo: Repository, source: string, label: string): Promise<Manifest> {
  const key = keys.manifest(source, label);
  let obj: Buffer;
  try {
    obj = await repo.storage.get(key);
  } catch (e) {
    if (isDbtoolError(e) && e.code === 'STORAGE_NOT_FOUND') {
      throw dbtoolError('BACKUP_NOT_FOUND', `no backup ${label} of source '${source}' in ${repo.storage.description}`, 'List backups with `dbtool info`');
    }
    throw e;
  }
  const plain = repo.decode('manifest', key, obj);
  let parsed: unknown;
  try {
    parsed = JSON.parse(plain.toString('utf8'));
  } catch (e) {
    throw dbtoolError('MANIFEST_INVALID', `manifest ${key} is not valid JSON (${messageOf(e)})`, 'Run `dbtool verify`');
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw dbtoolError('MANIFEST_INVALID', `manifest ${key} is malformed (${issue?.path.join('.')}: ${issue?.message})`, 'Run `dbtool verify`');
  }
  if (result.data.label !== label || result.data.source !== source) {
    throw dbtoolError('MANIFEST_INVALID', `manifest ${key} describes ${result.data.source}/${result.data.label}, not ${source}/${label}`, 'Run `dbtool verify`');
  }
  return result.data;
}

/** Labels of every backup of a source, oldest first (labels sort by time). */
export async function listBackupLabels(repo: Repository, source: string): Promise<string[]> {
  const out: string[] = [];
  const prefix = keys.manifestsPrefix(source);
  for await (const key of listKeysOf(repo.storage, prefix)) {
    const name = key.slice(prefix.length);
    if (!name.endsWith('.manifest')) continue;
    const label = name.slice(0, -'.manifest'.length);
    if (isLabel(label)) out.push(label);
  }
  return out.sort();
}

export async function loadManifests(repo: Repository, source: string): Promise<Manifest[]> {
  const labels = await listBackupLabels(repo, source);
  return Promise.all(labels.map((l) => readManifest(repo, source, l)));
}
