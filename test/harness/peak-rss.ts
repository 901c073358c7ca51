// A command run under GNU time for its peak resident set size, with its standard input given
// and its output collected: for the tests that bound dbtool's memory.

import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';

export interface PeakRssRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** GNU time's %M (KiB), or NaN when it printed none */
  peakRssKiB: number;
}

export async function runWithPeakRss(argv: string[], input: string, options: SpawnOptions): Promise<PeakRssRun> {
  const child = spawn('/usr/bin/time', ['-f', 'maxrss_kib=%M', ...argv], { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(input);
  const code = await new Promise<number | null>((res) => child.on('close', res));
  return { code, stdout, stderr, peakRssKiB: Number(/maxrss_kib=(\d+)/.exec(stderr)?.[1]) };
}
