// Private temporary directories (mode 0700) that are removed when the work is done, when it
// fails, and when the process is stopped by SIGINT/SIGTERM or exits (only SIGKILL can leave one).

import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './on-process-exit.js';

const live = new Set<string>();
let hooksInstalled = false;

function removeAllNow(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  onProcessExit(removeAllNow);
}

export interface PrivateTempDir {
  path: string;
  /** remove it and everything in it; safe to call twice */
  remove(): Promise<void>;
}

/** mkdtemp under `parent` (default: the system temp dir, $TMPDIR), mode 0700, tracked until removed. */
export async function makePrivateTempDir(prefix: string, parent?: string): Promise<PrivateTempDir> {
  installHooks();
  // Created and tracked in one synchronous step: with an awaited mkdtemp, a SIGTERM handled between
  // the directory appearing and its tracking left it behind (seen once in CI).
  const path = mkdtempSync(join(parent ?? tmpdir(), prefix));
  live.add(path);
  return {
    path,
    async remove() {
      // Retried: a tool's worker that outlives its leader for a moment (pg_dump -j after a
      // failure) may still create a file while the tree is being removed (ENOTEMPTY).
      await rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      live.delete(path);
    },
  };
}
