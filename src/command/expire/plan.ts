// Pure decisions of expire: which backups a retention policy keeps, which archive files the kept
// backups no longer need, and which chunks no kept manifest references.

import { dbtoolError } from '../../core/errors.js';
import { parseWalFileName } from '../../core/lsn.js';
import type { WalFileName } from '../../core/lsn.js';
import type { Manifest } from '../../repo/manifest.js';
import { engineFor } from '../../engine/engine.js';

export interface RetentionPolicy {
  /** keep the newest N full backups and the backups based on them */
  keepFull?: number;
  /** keep the newest N differential backups and the backups based on them */
  keepDiff?: number;
  /** keep what is needed to restore to any point in the last D days (logical backups: see planExpire) */
  keepDays?: number;
  /** keep the newest N logical backups */
  keepLogical?: number;
}

export interface ExpirePlan {
  expire: string[];
  keep: string[];
  /** why each kept backup stays */
  reasons: Record<string, string[]>;
}

/** Every backup whose parent chain passes through `label`. */
function descendants(label: string, manifests: Manifest[]): Set<string> {
  const out = new Set<string>([label]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const m of manifests) {
      if (m.parent && out.has(m.parent) && !out.has(m.label)) {
        out.add(m.label);
        grew = true;
      }
    }
  }
  return out;
}

/**
 * A backup is kept when any rule keeps it; with no rule at all nothing may be decided.
 * Backups are complete on their own, so keeping one never requires keeping its parent.
 *
 * Physical and logical backups are two separate series. --keep-full and --keep-diff rule only
 * physical ones, --keep-logical only logical ones, and --keep-days each series on its own (the
 * newest backup of the series ending at or before the cutoff, and all after it). A series no
 * given rule speaks to is kept whole: `--keep-full 2` never deletes logical dumps, and
 * `--keep-logical 3` never deletes physical backups. The newest backup of each series stays.
 */
export function planExpire(manifests: Manifest[], policy: RetentionPolicy, now: Date): ExpirePlan {
  if (policy.keepFull === undefined && policy.keepDiff === undefined && policy.keepDays === undefined && policy.keepLogical === undefined) {
    throw dbtoolError('USAGE', 'no retention policy given', 'Pass --keep-full N, --keep-diff N, --keep-days D or --keep-logical N (or set keepFull/keepDiff/keepDays in the config file)');
  }
  for (const [name, v] of Object.entries(policy)) {
    if (v !== undefined && (!Number.isFinite(v) || v < (name === 'keepDays' ? 0 : 1))) {
      throw dbtoolError('USAGE', `${name} must be ${name === 'keepDays' ? 'zero or more days' : 'at least 1'}`, 'Keeping no backups is not a retention policy; delete the repository instead');
    }
  }
  const all = [...manifests].sort((a, b) => (a.label < b.label ? -1 : 1));
  const sorted = all.filter((m) => m.type !== 'logical');
  const logical = all.filter((m) => m.type === 'logical');
  const reasons: Record<string, string[]> = {};
  const keep = (labels: Iterable<string>, why: string) => {
    for (const l of labels) (reasons[l] ??= []).push(why);
  };
  // The newest backup always stays: it is the fastest restore of the latest state.
  if (sorted.length) keep([sorted[sorted.length - 1]!.label], 'newest backup');
  if (logical.length) keep([logical[logical.length - 1]!.label], 'newest logical backup');
  if (policy.keepFull === undefined && policy.keepDiff === undefined && policy.keepDays === undefined) {
    keep(sorted.map((m) => m.label), 'physical backups are expired by --keep-full, --keep-diff or --keep-days only');
  }
  if (policy.keepLogical === undefined && policy.keepDays === undefined) {
    keep(logical.map((m) => m.label), 'logical backups are expired by --keep-logical or --keep-days only');
  }
  if (policy.keepLogical !== undefined) keep(logical.slice(-policy.keepLogical).map((m) => m.label), `within the newest ${policy.keepLogical} logical backup(s)`);

  if (policy.keepFull !== undefined) {
    const fulls = sorted.filter((m) => m.type === 'full').slice(-policy.keepFull);
    for (const f of fulls) keep(descendants(f.label, sorted), `within the newest ${policy.keepFull} full backup chain(s)`);
  }
  if (policy.keepDiff !== undefined) {
    const diffs = sorted.filter((m) => m.type === 'diff').slice(-policy.keepDiff);
    for (const d of diffs) keep(descendants(d.label, sorted), `within the newest ${policy.keepDiff} differential(s)`);
    // Fulls are only expired by keepFull (or keepDays): a diff policy never removes the base.
    if (policy.keepFull === undefined) keep(sorted.filter((m) => m.type === 'full').map((m) => m.label), 'full backups are kept by --keep-full only');
  }
  if (policy.keepDays !== undefined) {
    const cutoff = now.getTime() - policy.keepDays * 86_400_000;
    // The newest backup ending at or before the cutoff is where a restore to the cutoff starts.
    const since = (series: Manifest[]) => {
      const anchor = [...series].reverse().find((m) => Date.parse(m.stopTime) <= cutoff);
      return series.slice(anchor ? series.indexOf(anchor) : 0).map((m) => m.label);
    };
    keep(since(sorted), `needed to restore to any point in the last ${policy.keepDays} day(s)`);
    keep(since(logical), `logical backup of the last ${policy.keepDays} day(s) (or the newest before them)`);
  }
  // Engines whose backups are deltas restore through their chain: a kept backup keeps its bases.
  const byLabel = new Map(sorted.map((m) => [m.label, m]));
  for (const m of [...sorted].reverse()) {
    if (!reasons[m.label] || !engineFor(m.engine).capabilities.chainRestore) continue;
    for (let p = m.parent ? byLabel.get(m.parent) : undefined; p; p = p.parent ? byLabel.get(p.parent) : undefined) keep([p.label], `base of kept ${m.label} (its restore applies the chain)`);
  }
  return {
    keep: all.filter((m) => reasons[m.label]).map((m) => m.label),
    expire: all.filter((m) => !reasons[m.label]).map((m) => m.label),
    reasons,
  };
}

/**
 * Archive files older than the oldest kept backup's start on its timeline (and on older
 * timelines); history files always stay, they are tiny and describe the timelines.
 */
export function archiveToExpire<T extends WalFileName>(files: T[], kept: Manifest[]): T[] {
  const starts = kept
    .filter((m) => m.postgres)
    .map((m) => parseWalFileName(m.postgres!.startWal, m.postgres!.walSegmentSize))
    .sort((a, b) => a.timeline - b.timeline || (a.segno! < b.segno! ? -1 : 1));
  const oldest = starts[0];
  if (!oldest) return [];
  return files.filter((f) => {
    if (f.kind === 'history' || f.segno === undefined) return false;
    if (f.timeline < oldest.timeline) return true;
    return f.timeline === oldest.timeline && f.segno < oldest.segno!;
  });
}

/** Chunk ids present in the repository that no kept manifest (of any source) references. */
export function unreferencedChunks(present: Iterable<string>, kept: Manifest[]): string[] {
  const referenced = new Set<string>();
  for (const m of kept) for (const f of m.files) for (const id of f.chunks ?? []) referenced.add(id);
  return [...present].filter((id) => !referenced.has(id)).sort();
}
