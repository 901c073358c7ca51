// Two repository set-ups compared on the shared pgbench cluster: `dbtool backup --type full` into a
// fresh repository and `restore --immediate` into an empty directory, alternating, medians.
// The s3 (posix vs S3) and crypto (plain vs encrypted) suites are this with different set-ups.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, stageDbtool } from '../../test/harness/pg-cluster.js';
import { alternate, log, mb, median, round, runAs, settle, timed } from '../lib.js';
import type { Step } from '../lib.js';
import { pgbenchCluster } from '../pgbench-cluster.js';

export interface RepoVariant {
  name: string;
  /** a fresh repository location for one round (a path under work, or an s3:// URL) */
  location(work: string, round: number): string;
  /** extra arguments to `repo init` (e.g. --encrypt) */
  initArgs?: string[];
  /** extra environment for every dbtool command (credentials, passphrase file) */
  env?: Record<string, string>;
  /** bytes the repository stores, measured before it is removed */
  storedBytes(location: string): Promise<number>;
  /** remove the repository after the round */
  remove(location: string): Promise<void>;
}

export interface VariantFigures {
  backupSeconds: number;
  backupMBps: number;
  restoreSeconds: number;
  restoreMBps: number;
  storedMB: number;
  peakRssMB: number;
  /** every timed round, in order, to see the spread behind the medians */
  backupRuns: number[];
  restoreRuns: number[];
}

export interface PairResult {
  databaseMB: number;
  runs: number;
  variants: Record<string, VariantFigures>;
}

export async function comparePhysical(label: string, variants: RepoVariant[]): Promise<PairResult> {
  const { env, dbBytes } = await pgbenchCluster();
  const bin = await stageDbtool();
  const work = await makeTempDir(`dbtool-bench-${label}-`, runAs);
  const raw: Record<string, { b: number[]; r: number[]; rss: number[]; stored: number }> = {};
  const reset = () => {
    for (const v of variants) raw[v.name] = { b: [], r: [], rss: [], stored: 0 };
  };
  reset();
  try {
    const steps: Step[] = variants.map((v) => [
      v.name,
      async (round: number) => {
        const repo = v.location(work, round);
        const target = join(work, 'restore');
        const dbtool = (args: string[]) => timed([process.execPath, bin, '--quiet', '--repo', repo, ...args], { ...env, ...v.env });
        await rm(target, { recursive: true, force: true });
        try {
          await dbtool(['repo', 'init', ...(v.initArgs ?? [])]);
          await settle();
          const b = await dbtool(['backup', '--type', 'full']);
          await settle();
          const r = await dbtool(['restore', '--immediate', '--target-dir', target]);
          const t = raw[v.name]!;
          t.b.push(b.seconds);
          t.r.push(r.seconds);
          t.rss.push(b.rssMb, r.rssMb);
          t.stored = await v.storedBytes(repo);
        } finally {
          await rm(target, { recursive: true, force: true });
          await v.remove(repo);
        }
      },
    ]);
    await alternate(label, steps, reset);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const out: Record<string, VariantFigures> = {};
  for (const v of variants) {
    const t = raw[v.name]!;
    const b = median(t.b);
    const r = median(t.r);
    out[v.name] = {
      backupSeconds: round(b),
      backupMBps: round(dbBytes / 1e6 / b, 0),
      restoreSeconds: round(r),
      restoreMBps: round(dbBytes / 1e6 / r, 0),
      storedMB: mb(t.stored),
      peakRssMB: round(Math.max(0, ...t.rss), 0),
      backupRuns: t.b.map((x) => round(x)),
      restoreRuns: t.r.map((x) => round(x)),
    };
  }
  log(`${label}: ${JSON.stringify(out)}`);
  return { databaseMB: round(dbBytes / 1e6, 0), runs: raw[variants[0]!.name]!.b.length, variants: out };
}
