// verify for MySQL sources: each backup's chain is complete, and the archived binlogs are intact
// (content against the sha256 of their index entry) and contiguous from the oldest backup on.

import { isDbtoolError, messageOf } from '../../core/errors.js';
import { engineFor } from '../../engine/engine.js';
import { checkBinlog, listBinlogs } from '../../repo/binlog-archive.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';

/** Pure: backups whose restore chain is broken (a base missing), as manifest problems. */
export function chainProblems(manifests: Manifest[], allLabels: readonly string[]): Array<{ label: string; problems: string[] }> {
  const present = new Set(allLabels);
  const out: Array<{ label: string; problems: string[] }> = [];
  for (const m of manifests) {
    if (!engineFor(m.engine).capabilities.chainRestore || m.parent === null) continue;
    if (!present.has(m.parent)) out.push({ label: m.label, problems: [`its base backup ${m.parent} is missing, so it cannot be restored`] });
  }
  return out;
}

/** Damaged or missing archived binlogs, and holes after the oldest backup's binlog file. */
export async function binlogProblems(repo: Repository, source: string, manifests: Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  const starts = manifests.map((m) => m.mysql?.binlog?.file).filter((f): f is string => f !== undefined).map((f) => Number(/\.(\d+)$/.exec(f)?.[1]));
  const binlogs = await listBinlogs(repo, source);
  for (const b of binlogs) {
    try {
      await checkBinlog(repo, source, b);
    } catch (e) {
      if (!isDbtoolError(e)) throw e;
      problems.push(`binlog ${b.name}: ${messageOf(e)}`);
    }
  }
  if (starts.length > 0) {
    const from = Math.min(...starts);
    const seqs = binlogs.map((b) => b.seq).filter((s) => s >= from);
    let expect = from;
    for (const s of seqs) {
      if (s > expect) problems.push(`binlogs ${expect}..${s - 1} (file numbers) are missing from the archive`);
      expect = s + 1;
    }
  }
  return problems;
}
