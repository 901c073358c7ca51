// One safety net for every harness: servers run detached (they outlive the test process), so what
// each harness registers here is stopped and deleted when the process exits or is interrupted.

import { readFileSync, rmSync } from 'node:fs';

const cleanups: Array<() => void> = [];
let installed = false;

function runAll(): void {
  for (const c of cleanups.splice(0)) {
    try {
      c();
    } catch {
      // one failed cleanup must not keep the others from running
    }
  }
}

/** Run `cleanup` (synchronous) once, when the process exits or gets SIGINT/SIGTERM. */
export function onProcessExit(cleanup: () => void): void {
  cleanups.push(cleanup);
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      runAll();
      process.kill(process.pid, sig);
    });
  }
}

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
