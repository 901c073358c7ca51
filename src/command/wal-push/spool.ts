// The spool of `wal-push --async`: a marker file per WAL segment pushed ahead of PostgreSQL's
// request, so that request returns at once. Node builtins (and core modules that import nothing
// else) only: bin.ts reads markers before it loads the rest of dbtool (about 200 ms of
// start-up that would otherwise cap archiving at a few segments per second).

import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { dbtoolError, messageOf } from '../../core/errors.js';
import { fastLineInputs, readFastLine, spoolIdentity } from '../../core/fast-line.js';

/** A marker older than this is not trusted: the look-ahead is for segments asked for soon. */
export const MARKER_TTL_MS = 10 * 60 * 1000;

/** What `wal-push --async` is given on the archive_command line. */
export interface AsyncPushArgs {
  spool: string;
  /** the WAL file (%p), absolute */
  path: string;
  /** which repository and source the segments go to: the markers are valid for this only */
  identity: string;
}

export interface SpoolMarker {
  identity: string;
  /** the WAL file as it was when pushed */
  size: number;
  mtimeMs: number;
  ino: number;
  pushedAt: number;
}

/** The async push named by a dbtool command line and environment (readFastLine), or undefined. */
export function asyncPushArgs(argv: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): AsyncPushArgs | undefined {
  const line = readFastLine(argv, cwd, env);
  if (!line || line.words.length !== 2 || line.words[0] !== 'wal-push') return undefined;
  return { spool: line.spool, path: resolve(cwd, line.words[1]!), identity: spoolIdentity(line.repo, line.source) };
}

/** asyncPushArgs for this process (fastLineInputs). */
export function asyncPushOfProcess(): AsyncPushArgs | undefined {
  const inputs = fastLineInputs();
  return inputs && asyncPushArgs(...inputs);
}

/**
 * Pure: whether a spool entry is a leftover to remove: a marker past its lifetime (its segment was
 * archived some other way, or never asked for) or a marker's temporary file (a crash between its
 * write and its rename), by the entry's age.
 */
export function isSpoolLeftover(name: string, mtimeMs: number, now: number): boolean {
  const ours = name.endsWith('.ok') || (name.startsWith('.') && name.endsWith('.tmp'));
  return ours && now - mtimeMs > MARKER_TTL_MS;
}

/** Remove a spool's leftovers (isSpoolLeftover); returns how many. Entries gone meanwhile are fine. */
export async function sweepSpool(spool: string, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(spool)) {
    const path = join(spool, name);
    try {
      if (!isSpoolLeftover(name, (await stat(path)).mtimeMs, now)) continue;
      await unlink(path);
      removed++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return removed;
}

export function markerPath(spool: string, walName: string): string {
  return join(spool, `${walName}.ok`);
}

/** Pure: whether a marker vouches for the file now at the path, for this identity, at `now`. */
export function markerVouches(marker: SpoolMarker, file: Pick<Stats, 'size' | 'mtimeMs' | 'ino'>, identity: string, now: number): boolean {
  return marker.identity === identity && marker.size === file.size && marker.mtimeMs === file.mtimeMs && marker.ino === file.ino && now - marker.pushedAt >= 0 && now - marker.pushedAt < MARKER_TTL_MS;
}

/** Whether the spool holds a marker vouching for the WAL file at `walPath`; any doubt is false. */
export async function spoolVouches(spool: string, walPath: string, identity: string, now = Date.now()): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(markerPath(spool, basename(walPath)), 'utf8')) as SpoolMarker;
    return markerVouches(marker, await stat(walPath), identity, now);
  } catch {
    return false;
  }
}

/**
 * The fast path: if the spool vouches that this segment is already in the repository, remove the
 * marker (PostgreSQL asks once per success) and say so. Any doubt or failure answers false, and
 * the caller pushes the file as usual.
 */
export async function consumeMarker(args: AsyncPushArgs, now = Date.now()): Promise<boolean> {
  if (!(await spoolVouches(args.spool, args.path, args.identity, now))) return false;
  try {
    await unlink(markerPath(args.spool, basename(args.path)));
    return true;
  } catch {
    return false;
  }
}

/** Create the spool directory if needed (0700) and make sure this user can write notes in it. */
export async function prepareSpool(spool: string): Promise<void> {
  try {
    await mkdir(spool, { recursive: true, mode: 0o700 });
    await access(spool, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw dbtoolError('CONFIG_INVALID', `the spool directory ${spool} cannot be used (${messageOf(e)})`, "Create it for the server's OS user (e.g. install -d -o postgres -m 700 /var/spool/dbtool), or drop --async");
  }
}

/** Forget a segment's marker (after it was pushed the slow way: a marker left behind would be stale). */
export async function dropMarker(spool: string, walName: string): Promise<void> {
  await unlink(markerPath(spool, walName)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/**
 * Record that the WAL file with these stats is durably in the repository, in a spool prepareSpool
 * made. Written whole and renamed into place; not fsynced: a marker lost in a crash only means
 * that segment is pushed again.
 */
export async function writeMarker(spool: string, walName: string, file: Pick<Stats, 'size' | 'mtimeMs' | 'ino'>, identity: string): Promise<void> {
  const marker: SpoolMarker = { identity, size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, pushedAt: Date.now() };
  const tmp = join(spool, `.${walName}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(marker));
  } finally {
    await fh.close();
  }
  await rename(tmp, markerPath(spool, walName));
}
