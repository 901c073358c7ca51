// `wal-push --async`: after the requested segment, push the next segments PostgreSQL has marked
// ready (pg_wal/archive_status/*.ready: complete, and not recycled before they are archived), a
// few at a time, and leave a spool marker for each; their own archive_command calls then return
// from the marker without starting the rest of dbtool.

import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { messageOf } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import { Limiter } from '../../repo/limiter.js';
import type { Repository } from '../../repo/repository.js';
import { walPush } from './index.js';
import { dropMarker, spoolVouches, sweepSpool, writeMarker } from './spool.js';
import type { AsyncPushArgs } from './spool.js';

/** Segments pushed ahead per call, and how many at once. */
export const AHEAD_MAX = 8;
const AHEAD_PARALLEL = 2;

const SEGMENT_READY = /^([0-9A-F]{24})\.ready$/;

export interface WalPushAheadOptions {
  repo: Repository;
  source: string;
  args: AsyncPushArgs;
  reporter: Reporter;
  max?: number;
}

/** Pure: the ready segments to push ahead: not the one asked for, oldest first, at most `max`. */
export function segmentsAhead(statusEntries: readonly string[], asked: string, max: number): string[] {
  const names = statusEntries.map((e) => SEGMENT_READY.exec(e)?.[1]).filter((n): n is string => n !== undefined && n !== asked);
  return names.sort().slice(0, max);
}

/**
 * After the asked segment was pushed: drop its own marker, if one was left, then push ahead, then
 * clear the spool's leftovers (sweepSpool). Each failure ahead is a warning (that segment is
 * pushed when it is asked for). Returns the names pushed.
 */
export async function walPushAhead(o: WalPushAheadOptions): Promise<string[]> {
  const walDir = dirname(o.args.path);
  try {
    await dropMarker(o.args.spool, basename(o.args.path));
  } catch (e) {
    o.reporter.warn(`wal-push --async: cannot remove the note for ${basename(o.args.path)} (${messageOf(e)}); nothing pushed ahead`);
    return [];
  }
  let entries: string[];
  try {
    entries = await readdir(join(walDir, 'archive_status'));
  } catch (e) {
    o.reporter.warn(`wal-push --async: cannot read ${join(walDir, 'archive_status')} (${messageOf(e)}); nothing pushed ahead`);
    return [];
  }
  const asked = basename(o.args.path);
  const slots = new Limiter(AHEAD_PARALLEL);
  const pushed: string[] = [];
  await Promise.all(
    segmentsAhead(entries, asked, o.max ?? AHEAD_MAX).map((name) =>
      slots.run(async () => {
        const walPath = join(walDir, name);
        if (await spoolVouches(o.args.spool, walPath, o.args.identity)) return;
        try {
          // The marker names the file as it was before it was read: a file that changed meanwhile does not match it.
          const before = await stat(walPath);
          await walPush({ repo: o.repo, source: o.source, path: walPath });
          await writeMarker(o.args.spool, name, before, o.args.identity);
          pushed.push(name);
        } catch (e) {
          o.reporter.warn(`wal-push --async: ${name} not pushed ahead (${messageOf(e)})`);
        }
      }),
    ),
  );
  pushed.sort();
  if (pushed.length) o.reporter.info(`wal-push --async: pushed ${pushed.length} ready segment(s) ahead (${pushed[0]} .. ${pushed[pushed.length - 1]})`);
  try {
    await sweepSpool(o.args.spool);
  } catch (e) {
    o.reporter.warn(`wal-push --async: cannot clear old notes from ${o.args.spool} (${messageOf(e)})`);
  }
  return pushed;
}
