// A dbtool command line read without the CLI parser, for the fast paths bin.ts takes before
// loading the rest of dbtool (`wal-push --async`, `wal-get --async`). Only the options those
// commands take are known; anything else means "no fast path", and the CLI proper decides.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { absoluteLocation } from './repo-location.js';

export interface FastLine {
  /** the command and its arguments, e.g. ['wal-get', '%f', '%p'] */
  words: string[];
  /** the --spool directory, absolute */
  spool: string;
  /** the repository and source, as settings would take them from the line or the environment */
  repo: string;
  source: string;
}

/**
 * What readFastLine reads in this process: its arguments, working directory and environment; none
 * where a .env file (which settings read too) could name another repository or source.
 */
export function fastLineInputs(): [argv: string[], cwd: string, env: NodeJS.ProcessEnv] | undefined {
  if (existsSync(join(process.cwd(), '.env'))) return undefined;
  return [process.argv.slice(2), process.cwd(), process.env];
}

/**
 * What a spool's files are valid for: a repository and source (and, for files fetched for one
 * data directory, that directory). Written by the slow paths, compared by the fast ones and by the
 * CLI against the settings: one encoding for all.
 */
export function spoolIdentity(repo: string, source: string, dataDir?: string): string {
  return JSON.stringify(dataDir === undefined ? [repo, source] : [repo, source, dataDir]);
}

const WITH_VALUE = new Set(['--repo', '--source', '--spool', '--config', '--db', '--database']);
const FLAGS = new Set(['--async', '--quiet', '--json', '--debug']);

/**
 * `… --async --spool DIR …` with the repository given by --repo or DBTOOL_REPO and no config file,
 * or undefined. Repository and source come from the line or the environment only: a config file
 * can change between two calls, the server's environment cannot. An empty variable is unset, as
 * in settings.
 */
export function readFastLine(argv: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): FastLine | undefined {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (WITH_VALUE.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || values.has(name)) return undefined;
      values.set(name, value);
    } else if (FLAGS.has(arg)) flags.add(arg);
    else if (arg.startsWith('-')) return undefined;
    else words.push(arg);
  }
  const repo = values.get('--repo') ?? (env.DBTOOL_REPO || undefined);
  const spool = values.get('--spool');
  if (!flags.has('--async') || !repo || !spool) return undefined;
  if (values.has('--config') || env.DBTOOL_CONFIG) return undefined;
  return { words, spool: resolve(cwd, spool), repo: absoluteLocation(repo, cwd), source: values.get('--source') ?? (env.DBTOOL_SOURCE || 'main') };
}
