// Synchronous clean-ups run once when the process exits or is stopped by SIGINT/SIGTERM (it then
// dies of that signal, unless another handler takes it): only SIGKILL skips them.

const cleanups: Array<() => void> = [];
let installed = false;

function runAll(): void {
  for (const c of cleanups.splice(0)) {
    try {
      c();
    } catch {
      // one failed clean-up must not keep the others from running
    }
  }
}

/** Run `cleanup` (synchronous: it may run in an 'exit' handler) once, at exit or on SIGINT/SIGTERM. */
export function onProcessExit(cleanup: () => void): void {
  cleanups.push(cleanup);
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      runAll();
      // Then die of the same signal, as without a handler (unless someone else handles it).
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}
