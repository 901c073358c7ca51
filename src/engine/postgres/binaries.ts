// Where the PostgreSQL server tools (initdb, pg_ctl, postgres, pg_controldata …) live on this host.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { dbtoolError } from '../../core/errors.js';

const INSTALL_HINT = 'Install the server tools (e.g. `apt-get install postgresql-15`) or set PG_BINDIR to the directory that holds pg_ctl';

let discovered: string | undefined;

/** Debian/Ubuntu keep one bin dir per major version, none of them on PATH: take the newest. */
function newestDebianBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  const candidates = versions
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
  return candidates.find((dir) => existsSync(join(dir, 'pg_ctl')));
}

function pgConfigBinDir(): string | undefined {
  try {
    const out = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // Debian's client-only pg_config points at /usr/bin, which has no server tools.
    return out && existsSync(join(out, 'pg_ctl')) ? out : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The directory of the server tools: PG_BINDIR, else /usr/lib/postgresql/<major>/bin when a major
 * version is asked for and installed (a data directory needs the tools of its own version), else
 * the newest /usr/lib/postgresql/<N>/bin, else `pg_config --bindir`.
 */
export function pgBinDir(major?: number): string {
  // The override is read on every call so tests and users can change it at run time.
  const override = process.env.PG_BINDIR;
  if (override) {
    if (!existsSync(override)) {
      throw dbtoolError('TOOL_MISSING', `PG_BINDIR points at ${override}, which does not exist`, 'Set PG_BINDIR to the directory that holds pg_ctl and initdb, or unset it');
    }
    return override;
  }
  if (major !== undefined) {
    const dir = join('/usr/lib/postgresql', String(major), 'bin');
    if (existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  discovered ??= newestDebianBinDir() ?? pgConfigBinDir();
  if (!discovered) {
    throw dbtoolError('TOOL_MISSING', 'cannot find the PostgreSQL server tools (no /usr/lib/postgresql/<N>/bin and no usable pg_config)', INSTALL_HINT);
  }
  return discovered;
}

/** The full path of one PostgreSQL tool, e.g. pgBin('initdb'); `major` as for pgBinDir. */
export function pgBin(name: string, major?: number): string {
  const dir = pgBinDir(major);
  const file = join(dir, name);
  if (!existsSync(file)) {
    throw dbtoolError('TOOL_MISSING', `PostgreSQL tool ${name} is missing from ${dir}`, INSTALL_HINT);
  }
  return file;
}
