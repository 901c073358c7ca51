// `dbtool backup --type logical`: store a logical dump (any engine's LogicalDumper) entry by entry
// as chunks, and write the manifest last.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Reporter } from '../../core/reporter.js';
import type { LogicalDumper } from '../../engine/logical.js';
import { listChunkIds } from '../../repo/chunk-store.js';
import { acquireLock, waitForGc } from '../../repo/lock.js';
import { listBackupLabels, writeManifest } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { claimSource } from '../../repo/source-identity.js';
import { BackupIntake } from './intake.js';
import { buildLogicalManifest, chooseLabel } from './plan.js';

export interface LogicalBackupOptions {
  repo: Repository;
  source: string;
  engine: Manifest['engine'];
  dumper: LogicalDumper;
  reporter: Reporter;
}

export async function backupLogical(o: LogicalBackupOptions): Promise<Manifest> {
  // Facts first: an unknown database or an unreachable server fails before anything is locked.
  const dump = await o.dumper.info();
  const lock = await acquireLock(o.repo, o.source, 'backup --type logical');
  try {
    // Chunks seen in the repository below must not be collected before our manifest exists.
    await waitForGc(o.repo, o.reporter);
    // One cluster per source (a server that cannot tell its identity is not checked).
    if (dump.systemId) await claimSource(o.repo, o.source, o.engine, dump.systemId);
    const existing = new Set(await listBackupLabels(o.repo, o.source));
    const { label, waitMs } = chooseLabel(new Date(), 'logical', existing);
    if (waitMs > 0) await sleep(waitMs);
    const startTime = new Date();
    o.reporter.info(`backup ${label}: logical dump of ${dump.databases.length} database(s) (${dump.databases.join(', ')}) with ${dump.tool}`);

    // The dump's size is known only when it is done: the server's estimate, or what was read so far.
    const estimate = dump.estimatedBytes ?? 0;
    const intake = new BackupIntake(o.repo, await listChunkIds(o.repo), o.reporter.progress(`backup ${label}`, estimate), estimate);
    for await (const entry of o.dumper.entries()) {
      await intake.addUnbundled({ path: entry.path, type: 'file', mode: 0o600, size: 0, mtime: new Date().toISOString() }, entry.data, entry.size);
    }
    const stats = await intake.finish();

    const manifest = buildLogicalManifest({
      label,
      source: o.source,
      engine: o.engine,
      startTime,
      stopTime: new Date(),
      dump,
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
