// Shared pieces of the bench suites: timing a command as the servers' OS user, medians, sizes,
// alternating rounds, and the section every suite returns for the one JSON line and the Markdown.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveRunAs, spawnOptionsFor } from '../src/core/os-user.js';
import type { OsUser } from '../src/core/os-user.js';

/** What one suite adds to the report: its JSON part and its Markdown section. */
export interface SuiteResult {
  json: Record<string, unknown>;
  md: string;
}

export type Suite = () => Promise<SuiteResult>;

export const SCALE = Number(process.env.BENCH_SCALE ?? 100);
export const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** BENCH_WARMUP=0 skips the untimed warm-up round of the alternating suites */
export const WARMUP = (process.env.BENCH_WARMUP ?? '1') !== '0';
export const runAs = resolveRunAs();
export const log = (m: string): void => void process.stderr.write(`bench: ${m}\n`);

export interface Timed {
  seconds: number;
  rssMb: number;
  stdout: string;
}

/**
 * Run a command as the servers' OS user (postgres when we are root; `user` for another server's)
 * under GNU time, with only PATH and `env` in its environment; wall seconds and peak RSS. Rejects
 * on an exit code not in okCodes.
 */
export function timed(argv: string[], env: Record<string, string> = {}, okCodes: number[] = [0], user: OsUser | undefined = runAs): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const useTime = existsSync('/usr/bin/time');
    const full = useTime ? ['/usr/bin/time', '-f', 'RSSKB=%M', ...argv] : argv;
    const started = performance.now();
    const child = spawn(full[0]!, full.slice(1), { ...spawnOptionsFor(user, { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }), cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (!okCodes.includes(code ?? -1)) {
        reject(new Error(`${argv.join(' ')} failed (${code}): ${err.slice(-800)}`));
        return;
      }
      const m = /RSSKB=(\d+)/.exec(err);
      resolve({ seconds, rssMb: m ? Number(m[1]) / 1024 : 0, stdout });
    });
  });
}

/**
 * Write every dirty page out (untimed), so a timed command does not pay for the writeback of the
 * one before it: s3rver, unlike dbtool, never fsyncs what it stores, so without this an S3 restore
 * would also flush the backup s3rver has just received.
 */
export function settle(): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('sync', [], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`sync failed (${code})`))));
  });
}

/** Bytes under a path (a file's size, a directory's files summed). */
export async function du(path: string): Promise<number> {
  const s = await stat(path).catch(() => undefined);
  if (!s) return 0;
  if (!s.isDirectory()) return s.size;
  let n = 0;
  for (const e of await readdir(path)) n += await du(join(path, e));
  return n;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
};

/** Rounded for the report. */
export const round = (x: number, digits = 2): number => +x.toFixed(digits);

export const mb = (bytes: number): number => round(bytes / 1e6, 1);

/** One contender of an alternating comparison: a name and one timed round of it. */
export type Step = [name: string, run: (round: number) => Promise<void>];

/**
 * Every step once as an untimed warm-up (unless BENCH_WARMUP=0; round 0), then RUNS rounds
 * (1..RUNS), the order reversed every other round so no contender always goes first. Steps record
 * their own timings; `reset` is called after the warm-up to forget what it recorded.
 */
export async function alternate(label: string, steps: Step[], reset: () => void): Promise<void> {
  if (WARMUP) {
    for (const [name, step] of steps) {
      log(`${label}: warm-up ${name}`);
      await step(0);
    }
    reset();
  }
  for (let i = 1; i <= RUNS; i++) {
    const order = i % 2 === 1 ? steps : [...steps].reverse();
    for (const [name, step] of order) {
      log(`${label}: run ${i}/${RUNS} ${name}`);
      await step(i);
    }
  }
}

/** A Markdown table. */
export function mdTable(head: string[], rows: Array<Array<string | number | null>>): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((c) => (c === null ? '-' : String(c))).join(' | ')} |`)].join('\n');
}
