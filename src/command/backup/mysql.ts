// `dbtool backup` of a MySQL/MariaDB source: the backup tool's stream stored file by file as
// chunks (never a copy on disk), increments from the parent's LSN, the manifest written last.

import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import type { BackupKind } from '../../core/time.js';
import { connectMysql } from '../../engine/mysql/connection.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { backupTool, runPhysicalBackup } from '../../engine/mysql/physical-backup.js';
import { serverFacts } from '../../engine/mysql/server-facts.js';
import { listChunkIds } from '../../repo/chunk-store.js';
import { acquireLock, waitForGc } from '../../repo/lock.js';
import { loadManifests, writeManifest } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { claimSource } from '../../repo/source-identity.js';
import { BackupIntake } from './intake.js';
import { buildMysqlManifest, incrementalLsnOf } from './mysql-plan.js';
import { chooseLabel, chooseParent } from './plan.js';

export interface MysqlBackupOptions {
  repo: Repository;
  source: string;
  type: BackupKind;
  connection: MysqlConnectionOptions;
  reporter: Reporter;
}

export async function backupMysql(o: MysqlBackupOptions): Promise<Manifest> {
  if (o.type === 'logical') {
    throw dbtoolError('USAGE', '--type logical is not available for MySQL sources in this version of dbtool', 'Take a --type full, diff or incr backup');
  }
  // Facts first: wrong credentials fail here, before any lock or tool.
  const conn = await connectMysql(o.connection);
  const server = await serverFacts(conn).finally(() => conn.end().catch(() => undefined));
  backupTool(server.flavour);
  const lock = await acquireLock(o.repo, o.source, 'backup');
  try {
    await waitForGc(o.repo, o.reporter);
    await claimSource(o.repo, o.source, 'mysql', server.systemId);
    const manifests = (await loadManifests(o.repo, o.source)).filter((m) => m.mysql);
    const chunkIds = await listChunkIds(o.repo);
    const choice = chooseParent(o.type, manifests, chunkIds);
    if (choice.warning) o.reporter.warn(choice.warning);
    const { label, waitMs } = chooseLabel(new Date(), choice.type, new Set(manifests.map((m) => m.label)));
    if (waitMs > 0) await sleep(waitMs);
    const startTime = new Date();
    const incrementalLsn = choice.parent ? incrementalLsnOf(choice.parent) : undefined;
    o.reporter.info(`backup ${label}${choice.parent ? ` (${choice.type} of ${choice.parent.label}, pages after LSN ${incrementalLsn})` : ''}: ${server.version}`);

    const intake = new BackupIntake(o.repo, chunkIds, o.reporter.progress(`backup ${label}`, 0));
    const result = await runPhysicalBackup({ connection: o.connection, flavour: server.flavour, incrementalLsn }, (f) =>
      intake.addStreamed({ path: f.path, type: 'file', mode: 0o640, size: 0, mtime: new Date().toISOString() }, f.data),
    );
    const stats = await intake.finish();

    const manifest = buildMysqlManifest({
      label,
      source: o.source,
      type: choice.type,
      parent: choice.parent?.label ?? null,
      startTime,
      stopTime: new Date(),
      server,
      flavour: server.flavour,
      tool: basename(result.tool),
      meta: result.meta,
      files: intake.files,
      stats,
      chunkSize: o.repo.chunkSize,
    });
    // The backup exists from this moment: the manifest is its commit record.
    await writeManifest(o.repo, manifest);
    return manifest;
  } finally {
    await lock.release();
  }
}
