// `dbtool verify`: is every backup restorable? Each referenced chunk is read and checked against
// its id (once, in parallel), each manifest is checked for consistency, each backup's own WAL
// must be archived, and the archive must have no holes. The report names what is broken.

import { dbtoolError, isDbtoolError, messageOf } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import { checkChunk } from '../../repo/chunk-store.js';
import { Limiter } from '../../repo/limiter.js';
import { chunkLength, readManifest, listBackupLabels } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { loadCatalog } from '../info/catalog.js';
import { binlogProblems, chainProblems } from './mysql.js';
import { archiveGaps, manifestProblems, walOfBackup } from './plan.js';
import type { Gap } from './plan.js';

export interface BadChunk {
  id: string;
  problem: 'missing' | 'corrupt';
  detail: string;
  /** every backup that needs it, and the files it belongs to there */
  backups: string[];
  files: string[];
}

export interface VerifyReport {
  ok: boolean;
  backups: string[];
  chunksChecked: number;
  /** plaintext bytes the checked backups reference, and stored bytes read */
  referencedBytes: number;
  storedBytes: number;
  seconds: number;
  badChunks: BadChunk[];
  badManifests: Array<{ label: string; problems: string[] }>;
  missingWal: Array<{ label: string; segments: string[] }>;
  gaps: Gap[];
  /** MySQL sources: damaged, missing or non-contiguous archived binlogs */
  binlogProblems?: string[];
}

export interface VerifyOptions {
  repo: Repository;
  source: string;
  label?: string;
  reporter: Reporter;
  concurrency?: number;
}

export async function verify(o: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const report: VerifyReport = { ok: true, backups: [], chunksChecked: 0, referencedBytes: 0, storedBytes: 0, seconds: 0, badChunks: [], badManifests: [], missingWal: [], gaps: [] };

  // 1. Manifests: each must parse and be consistent.
  const labels = await listBackupLabels(o.repo, o.source);
  if (o.label && !labels.includes(o.label)) throw dbtoolError('BACKUP_NOT_FOUND', `there is no backup labelled ${o.label}`, 'List backups with `dbtool info`');
  const manifests: Manifest[] = [];
  for (const label of o.label ? [o.label] : labels) {
    report.backups.push(label);
    try {
      const m = await readManifest(o.repo, o.source, label);
      const problems = manifestProblems(m);
      if (problems.length) report.badManifests.push({ label, problems });
      manifests.push(m);
    } catch (e) {
      if (!isDbtoolError(e)) throw e;
      report.badManifests.push({ label, problems: [e.message] });
    }
  }

  // 2. Chunks: every distinct one, read and checked against its id.
  const uses = new Map<string, { size: number; backups: Set<string>; files: Set<string> }>();
  for (const m of manifests) {
    for (const f of m.files) {
      (f.chunks ?? []).forEach((id, i) => {
        const u = uses.get(id) ?? { size: chunkLength(m.chunkSize, f, i), backups: new Set<string>(), files: new Set<string>() };
        u.backups.add(m.label);
        u.files.add(`${m.label}:${f.path}`);
        uses.set(id, u);
      });
    }
  }
  const total = [...uses.values()].reduce((n, u) => n + u.size, 0);
  const progress = o.reporter.progress('verify', total);
  const limiter = new Limiter(o.concurrency ?? 16);
  await Promise.all(
    [...uses].map(([id, u]) =>
      limiter.run(async () => {
        try {
          // The object's size comes with the read: no stat per chunk.
          const { plainBytes, storedBytes } = await checkChunk(o.repo, id, [...u.files][0] ?? id);
          report.storedBytes += storedBytes;
          if (plainBytes !== u.size) throw dbtoolError('CHUNK_CORRUPT', `has ${plainBytes} bytes, expected ${u.size}`);
        } catch (e) {
          const missing = isDbtoolError(e) && e.code === 'CHUNK_MISSING';
          report.badChunks.push({ id, problem: missing ? 'missing' : 'corrupt', detail: messageOf(e), backups: [...u.backups].sort(), files: [...u.files].sort() });
        }
        report.referencedBytes += u.size;
        report.chunksChecked++;
        progress.update(report.referencedBytes, total);
      }),
    ),
  );
  progress.stop();
  report.badChunks.sort((a, b) => (a.id < b.id ? -1 : 1));

  // 3. WAL: each backup's own segments archived, and no holes in the archive.
  const catalog = await loadCatalog(o.repo, o.source);
  const archived = new Set(catalog.archive.map((f) => f.name));
  for (const m of manifests) {
    const missing = walOfBackup(m).filter((name) => !archived.has(name));
    if (missing.length) report.missingWal.push({ label: m.label, segments: missing });
  }
  report.gaps = archiveGaps(catalog.view, catalog.manifests);

  // 4. MySQL: chains complete, binlogs intact and contiguous.
  if (manifests.some((m) => m.mysql)) {
    report.badManifests.push(...chainProblems(manifests, labels));
    report.binlogProblems = await binlogProblems(o.repo, o.source, manifests);
  }

  report.ok = report.badChunks.length === 0 && report.badManifests.length === 0 && report.missingWal.length === 0 && report.gaps.length === 0 && !report.binlogProblems?.length;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
