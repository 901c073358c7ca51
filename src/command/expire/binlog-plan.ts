// Pure: which archived binlogs no kept MySQL backup needs (those before the oldest kept backup's
// binlog file; a backup without binlog coordinates needs none).

import type { Manifest } from '../../repo/manifest.js';

export function binlogsToExpire<T extends { name: string; seq: number }>(binlogs: T[], kept: Manifest[]): T[] {
  const seqs = kept
    .map((m) => m.mysql?.binlog?.file)
    .filter((f): f is string => f !== undefined)
    .map((f) => Number(/\.(\d+)$/.exec(f)?.[1] ?? Number.NaN))
    .filter((n) => Number.isFinite(n));
  // With no kept anchor, keep everything: deleting would be a guess.
  if (seqs.length === 0) return [];
  const oldest = Math.min(...seqs);
  return binlogs.filter((b) => b.seq < oldest);
}
