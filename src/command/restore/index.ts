// `dbtool restore`: choose the backup for the target, check the archive reaches it, write the
// files (verified chunk by chunk), configure recovery, and optionally start and wait.

import { readFileSync } from 'node:fs';
import { readdir, rm, stat, writeFile, chmod, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { dbtoolError } from '../../core/errors.js';
import type { Lsn } from '../../core/lsn.js';
import { chownTree } from '../../core/os-user.js';
import type { OsUser } from '../../core/os-user.js';
import type { Reporter } from '../../core/reporter.js';
import { startInstance } from '../../engine/postgres/instance.js';
import { ensureStartableConfig, writeRecoveryConfig } from '../../engine/postgres/recovery-config.js';
import { waitForRecovery } from '../../engine/postgres/recovery-wait.js';
import type { RecoveryOutcome } from '../../engine/postgres/recovery-wait.js';
import { findRestorePoint } from '../../engine/postgres/restore-point.js';
import { getArchiveFile } from '../../repo/archive.js';
import { materialise } from '../../repo/materialise.js';
import type { Repository } from '../../repo/repository.js';
import { loadCatalog } from '../info/catalog.js';
import { describeTarget, parseTarget, planRestore } from './plan.js';
import type { TargetFlags } from './plan.js';

export interface RestoreOptions {
  repo: Repository;
  source: string;
  targetDir: string;
  label?: string;
  target: TargetFlags;
  action: 'promote' | 'pause' | 'shutdown';
  force: boolean;
  archiveMode: 'preserve' | 'off';
  /** tablespace oid → directory; unmapped ones go back to their original location */
  tablespaceMap: Map<number, string>;
  /** put every unmapped tablespace under this directory (<dir>/<oid>) */
  tablespaceDir?: string;
  /** restore_command for the restored server; %f and %p are PostgreSQL's */
  restoreCommand: string;
  start?: { port: number; runAs: OsUser | undefined };
  /** restore_command's wal-get --async spool, removed once recovery is over (with start) */
  prefetchSpool?: string;
  /** owner of the restored files when running as root */
  owner: OsUser | undefined;
  reporter: Reporter;
}

export interface RestoreResult {
  label: string;
  target: string;
  targetDir: string;
  files: number;
  bytes: number;
  recovery?: RecoveryOutcome;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw e;
  }
}

/** A live postmaster.pid: its pid exists (EPERM: it exists, owned by another user). */
function serverRunningIn(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function prepareDir(dir: string, force: boolean, what: string): Promise<void> {
  if (!(await isEmptyOrMissing(dir))) {
    if (!force) {
      throw dbtoolError('TARGET_DIR_NOT_EMPTY', `${what} ${dir} is not empty`, 'Choose an empty directory, or pass --force to delete its contents first');
    }
    const s = await stat(dir);
    if (!s.isDirectory()) throw dbtoolError('TARGET_DIR_NOT_EMPTY', `${what} ${dir} is not a directory`, 'Choose a directory');
    if (serverRunningIn(dir)) {
      throw dbtoolError('TARGET_DIR_NOT_EMPTY', `a PostgreSQL server is running in ${what} ${dir}`, 'Stop it first (pg_ctl stop -D ...); --force never deletes a live data directory');
    }
    for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

export async function restore(o: RestoreOptions): Promise<RestoreResult> {
  // 1. Decide, before writing anything: target, backup, and whether the archive reaches it.
  const target = parseTarget(o.target);
  const catalog = await loadCatalog(o.repo, o.source);
  if (o.label && catalog.manifests.some((m) => m.label === o.label && m.type === 'logical')) {
    throw dbtoolError('USAGE', `backup ${o.label} is a logical dump, which cannot be restored into a directory`, 'Load it into a running server with --into-database NAME');
  }
  if (!o.label && catalog.points.length === 0 && catalog.manifests.some((m) => m.type === 'logical')) {
    throw dbtoolError('NO_BACKUP', 'the repository has only logical backups of this source, which cannot be restored into a directory', 'Load one into a running server with --into-database NAME, or take a physical backup (--type full)');
  }
  let namedLsn: Lsn | undefined;
  if (target.kind === 'name') {
    const earliest = o.label ? catalog.points.find((p) => p.label === o.label) : catalog.points[0];
    const after = earliest ? earliest.stopSegno - 1n : 0n;
    const segments = catalog.archive
      .filter((f) => f.kind === 'segment' && f.segno !== undefined && f.segno >= after)
      .map((f) => ({ segno: f.segno!, read: async () => (await getArchiveFile(o.repo, o.source, f.name)) ?? Buffer.alloc(0) }));
    namedLsn = await findRestorePoint(target.name, segments, catalog.view.walSegmentSize);
  }
  const plan = planRestore(catalog.points, catalog.view, target, o.label, namedLsn);
  // plan.backup is one of catalog.points, made from these manifests (read once: on S3 a read is a round trip).
  const manifest = catalog.manifests.find((m) => m.label === plan.backup.label)!;

  // 2. Where every file goes, tablespaces included.
  const targetDir = resolve(o.targetDir);
  const tablespaceDirs = new Map<number, string>();
  for (const ts of manifest.postgres?.tablespaces ?? []) {
    const dir = o.tablespaceMap.get(ts.oid) ?? (o.tablespaceDir ? join(o.tablespaceDir, String(ts.oid)) : ts.location);
    tablespaceDirs.set(ts.oid, resolve(dir));
  }
  await prepareDir(targetDir, o.force, 'target directory');
  for (const [oid, dir] of tablespaceDirs) await prepareDir(dir, o.force, `directory for tablespace ${oid}`);
  o.reporter.info(`restore: backup ${manifest.label} to ${describeTarget(target)}`);

  // 3. The files, verified chunk by chunk.
  const progress = o.reporter.progress(`restore ${manifest.label}`, manifest.bytes.database);
  const written = await materialise({
    repo: o.repo,
    manifest,
    progress,
    destination: (path) => {
      const m = /^pg_tblspc\/(\d+)(?:\/(.*))?$/.exec(path);
      if (!m) return join(targetDir, path);
      const dir = tablespaceDirs.get(Number(m[1]));
      if (!dir) return join(targetDir, path);
      return m[2] ? join(dir, m[2]) : undefined;
    },
  });
  progress.stop();

  // 4. Tablespace links are made by the server at startup from tablespace_map: give it the new places.
  if (tablespaceDirs.size > 0) {
    const lines = [...tablespaceDirs].map(([oid, dir]) => `${oid} ${dir}`);
    await writeFile(join(targetDir, 'tablespace_map'), `${lines.join('\n')}\n`, { mode: 0o600 });
  }
  await writeRecoveryConfig(targetDir, { target, action: o.action, restoreCommand: o.restoreCommand, archiveMode: o.archiveMode });
  if (o.start) await ensureStartableConfig(targetDir);
  await chownTree(targetDir, o.owner);
  for (const dir of tablespaceDirs.values()) await chownTree(dir, o.owner);

  const result: RestoreResult = { label: manifest.label, target: describeTarget(target), targetDir, files: written.files, bytes: written.bytes };
  if (!o.start) return result;

  // 5. Start it and wait for recovery to finish where it should.
  o.reporter.info(`restore: starting PostgreSQL on port ${o.start.port} and waiting for recovery`);
  const instance = await startInstance({ dataDir: targetDir, port: o.start.port, runAs: o.start.runAs, wait: 'none' });
  result.recovery = await waitForRecovery(instance, o.action);
  // What was fetched ahead and not used (past the target) is of no further use.
  if (o.prefetchSpool) await rm(o.prefetchSpool, { recursive: true, force: true });
  return result;
}
