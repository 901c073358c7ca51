// Find MySQL/MariaDB tools on PATH by the flavour table's candidate names.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { dbtoolError } from '../../core/errors.js';

/** The first candidate found as an executable on PATH, or undefined. */
export function findOnPath(candidates: readonly string[], path = process.env.PATH ?? ''): string | undefined {
  for (const name of candidates) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const full = join(dir, name);
      try {
        accessSync(full, constants.X_OK);
        return full;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Like findOnPath, but a missing tool is a TOOL_MISSING error naming the package to install. */
export function requireTool(candidates: readonly string[], what: string, pkg: string): string {
  const found = findOnPath(candidates);
  if (!found) {
    throw dbtoolError('TOOL_MISSING', `${what} (${candidates.join(' or ')}) was not found on PATH`, `Install the ${pkg} package (e.g. apt-get install -y ${pkg})`);
  }
  return found;
}

/**
 * The command line that runs `tool` with its stdout fully buffered in blocks of `size` (coreutils'
 * stdbuf, when on PATH). The client tools write a pipe in 4 KiB pieces otherwise: a wakeup and
 * a read of ours per 4 KiB, which costs more CPU than the dump itself on a busy machine.
 */
export function withStdoutBuffer(tool: string, args: string[], size = '1M'): { command: string; args: string[] } {
  const stdbuf = findOnPath(['stdbuf']);
  return stdbuf ? { command: stdbuf, args: [`-o${size}`, tool, ...args] } : { command: tool, args };
}
