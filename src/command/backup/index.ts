// `dbtool backup`: stream a physical PostgreSQL backup into the repository, entry by entry,
// storing only new chunks, and write the manifest last.

import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError } from '../../core/errors.js';
import { formatLsn } from '../../core/lsn.js';
import type { Reporter } from '../../core/reporter.js';
import type { BackupKind } from '../../core/time.js';
import { BaseBackupSession } from '../../engine/postgres/base-backup.js';
import type { PgConnectionOptions } from '../../engine/postgres/connection.js';
import { checkWalLevel, nextXid, tablespaceNames } from '../../engine/postgres/sql-facts.js';
import { listChunkIds } from '../../repo/chunk-store.js';
import { acquireLock, waitForGc } from '../../repo/lock.js';
import { writeManifest } from '../../repo/manifest.js';
import type { Manifest, ManifestFile } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { claimSource } from '../../repo/source-identity.js';
import { loadCatalog } from '../info/catalog.js';
import { BackupIntake } from './intake.js';
import { buildPostgresManifest, checkTimeline, chooseLabel, chooseParent } from './plan.js';

export interface BackupOptions {
  repo: Repository;
  source: string;
  type: BackupKind;
  connection: PgConnectionOptions;
  checkpoint: 'fast' | 'spread';
  maxRateKbps?: number;
  reporter: Reporter;
}

export async function backup(o: BackupOptions): Promise<Manifest> {
  if (o.type === 'logical') {
    throw dbtoolError('INTERNAL', 'a logical backup is taken by backupLogical() (command/backup/logical.ts), not backup()', 'Report this as a bug');
  }
  await checkWalLevel(o.connection);
  const lock = await acquireLock(o.repo, o.source, 'backup');
  try {
    // Chunks seen in the repository below must not be collected before our manifest exists.
    await waitForGc(o.repo, o.reporter);
    // What is there: earlier backups, their chunks, the archive's timeline histories.
    const catalog = await loadCatalog(o.repo, o.source);
    const chunkIds = await listChunkIds(o.repo);
    const choice = chooseParent(o.type, catalog.manifests, chunkIds);
    if (choice.warning) o.reporter.warn(choice.warning);
    const existing = new Set(catalog.manifests.map((m) => m.label));
    const { label, waitMs } = chooseLabel(new Date(), choice.type, existing);
    if (waitMs > 0) await sleep(waitMs);
    const startTime = new Date();

    const session = await BaseBackupSession.start(o.connection, { label: `dbtool ${label}`, checkpoint: o.checkpoint, maxRateKbps: o.maxRateKbps });
    try {
      const start = session.info;
      await claimSource(o.repo, o.source, 'postgres', start.systemId);
      if (choice.parent) checkTimeline(choice.parent, start.startTimeline, catalog.view.histories);
      const names = await tablespaceNames(o.connection);
      o.reporter.info(`backup ${label}${choice.parent ? ` (${choice.type} of ${choice.parent.label})` : ''}: started at LSN ${formatLsn(start.startLsn)} on timeline ${start.startTimeline} (checkpoint: ${o.checkpoint})`);

      const intake = new BackupIntake(o.repo, chunkIds, o.reporter.progress(`backup ${label}`, start.estimatedBytes), start.estimatedBytes);
      for await (const entry of session.entries()) {
        const file: ManifestFile = { path: entry.path, type: entry.type, mode: entry.mode, size: entry.size, mtime: entry.mtime.toISOString() };
        if (entry.target !== undefined) file.target = entry.target;
        await intake.add(file, entry.data, entry.size);
      }
      const stop = await session.finish();
      const stats = await intake.finish();

      const manifest = buildPostgresManifest({
        label,
        source: o.source,
        startTime,
        stopTime: new Date(),
        start,
        stop,
        stopNextXid: await nextXid(o.connection),
        tablespaceNames: names,
        files: intake.files,
        stats,
        chunkSize: o.repo.chunkSize,
        type: choice.type,
        parent: choice.parent?.label ?? null,
      });
      // The backup exists from this moment: the manifest is its commit record.
      await writeManifest(o.repo, manifest);
      return manifest;
    } finally {
      await session.close();
    }
  } finally {
    await lock.release();
  }
}
