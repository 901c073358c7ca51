// Pure checks of verify: a manifest's self-consistency, the WAL a backup needs, and the holes in
// the archive per timeline.

import { parseWalFileName, segmentName } from '../../core/lsn.js';
import { chunkListProblem } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { ArchiveView } from '../restore/plan.js';

/** What is wrong inside one manifest, as sentences; empty when it is consistent. */
export function manifestProblems(m: Manifest): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const f of m.files) {
    if (seen.has(f.path)) problems.push(`lists ${f.path} twice`);
    seen.add(f.path);
    if (f.type !== 'file') continue;
    total += f.size;
    const problem = chunkListProblem(m.chunkSize, f);
    if (problem) problems.push(`${f.path} ${problem}`);
  }
  if (total !== m.bytes.database) problems.push(`its files add up to ${total} bytes, but it records ${m.bytes.database}`);
  if (m.type !== 'logical' && m.engine === 'postgres' && !m.postgres) problems.push('has no PostgreSQL positions');
  if (m.type === 'logical' && !m.logical) problems.push('is a logical backup without its dump tool and databases');
  if (m.startTime > m.stopTime) problems.push('stops before it starts');
  return problems;
}

/** The WAL segments from a backup's start to its stop, by name. */
export function walOfBackup(m: Manifest): string[] {
  const pg = m.postgres;
  if (!pg) return [];
  const first = parseWalFileName(pg.startWal, pg.walSegmentSize);
  const last = parseWalFileName(pg.stopWal, pg.walSegmentSize);
  const out: string[] = [];
  // A backup that crossed a timeline switch is not possible on a primary: one timeline.
  for (let s = first.segno!; s <= last.segno!; s++) out.push(segmentName(last.timeline, s, pg.walSegmentSize));
  return out;
}

export interface Gap {
  timeline: number;
  from: string;
  to: string;
}

/**
 * Missing segments per timeline: from the first segment any backup on that timeline needs (or
 * the first archived one) to the last archived one.
 */
export function archiveGaps(view: ArchiveView, manifests: Manifest[]): Gap[] {
  const byTimeline = new Map<number, Set<bigint>>();
  for (const s of view.segments) {
    const set = byTimeline.get(s.timeline) ?? new Set<bigint>();
    set.add(s.segno);
    byTimeline.set(s.timeline, set);
  }
  const gaps: Gap[] = [];
  for (const [tli, set] of [...byTimeline].sort((a, b) => a[0] - b[0])) {
    const segs = [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let start = segs[0]!;
    for (const m of manifests) {
      if (m.postgres?.timeline !== tli) continue;
      const s = parseWalFileName(m.postgres.startWal, view.walSegmentSize).segno!;
      if (s < start) start = s;
    }
    const end = segs[segs.length - 1]!;
    let gapStart: bigint | undefined;
    for (let s = start; s <= end + 1n; s++) {
      const present = s > end || set.has(s);
      if (!present && gapStart === undefined) gapStart = s;
      if (present && gapStart !== undefined) {
        gaps.push({ timeline: tli, from: segmentName(tli, gapStart, view.walSegmentSize), to: segmentName(tli, s - 1n, view.walSegmentSize) });
        gapStart = undefined;
      }
    }
  }
  return gaps;
}
