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
