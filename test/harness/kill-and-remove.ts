// Stopping a harness's detached server and deleting its directory, synchronously: the harnesses'
// clean-up at exit (src/core/on-process-exit.ts), and after a failed start.

import { readFileSync, rmSync } from 'node:fs';

/**
 * Synchronous (usable in an 'exit' hook): send `signal` to the server whose pid is the first line
 * of `pidFile`, wait up to 5 s for it to go, then delete `baseDir`.
 */
export function killAndRemove(baseDir: string, pidFile: string, signal: NodeJS.Signals): void {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]!.trim());
    if (pid > 0) {
      process.kill(pid, signal);
      const until = Date.now() + 5_000;
      const pause = new Int32Array(new SharedArrayBuffer(4));
      while (Date.now() < until) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        Atomics.wait(pause, 0, 0, 50);
      }
    }
  } catch {
    // not running
  }
  rmSync(baseDir, { recursive: true, force: true, maxRetries: 3 });
}
