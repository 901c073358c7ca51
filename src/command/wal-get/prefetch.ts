// `wal-get --async --spool DIR`: after fetching the segment recovery asked for, fetch the next ones
// on its timeline into the spool, each checked as any fetch is; recovery's calls for those then
// take their file from the spool in bin.ts (a rename), without loading the rest of dbtool.
// Archived files are write-once, so a fetched segment stays right for its name; the spool's
// identity file ties it to one repository, source and data directory.

import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fastLineInputs, readFastLine, spoolIdentity } from '../../core/fast-line.js';
import { parseWalFileName, readWalSegmentHeader, segmentName } from '../../core/lsn.js';
import { Limiter } from '../../repo/limiter.js';

/** Segments fetched ahead per call, and how many at once. */
export const PREFETCH_MAX = 8;
const PREFETCH_PARALLEL = 3;
/** The spool `restore` gives restore_command, in the restored pg_wal. */
export const PREFETCH_SPOOL = '.dbtool-prefetch';
const IDENTITY_FILE = 'identity';
const SEGMENT = /^[0-9A-F]{24}$/;

export interface AsyncGetArgs {
  spool: string;
  /** the file recovery asks for (%f) */
  name: string;
  /** where it goes (%p), absolute */
  dest: string;
  /** repository, source and data directory the spool's files are for */
  identity: string;
}

/** The async get named by a dbtool command line and environment, or undefined (readFastLine). */
export function asyncGetArgs(argv: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): AsyncGetArgs | undefined {
  const line = readFastLine(argv, cwd, env);
  if (!line || line.words.length !== 3 || line.words[0] !== 'wal-get') return undefined;
  return { spool: line.spool, name: line.words[1]!, dest: resolve(cwd, line.words[2]!), identity: spoolIdentity(line.repo, line.source, cwd) };
}

/** asyncGetArgs for this process (fastLineInputs). */
export function asyncGetOfProcess(): AsyncGetArgs | undefined {
  const inputs = fastLineInputs();
  return inputs && asyncGetArgs(...inputs);
}

/** The fast path: move a fetched-ahead segment into place. Any doubt or failure answers false. */
export async function takePrefetched(args: AsyncGetArgs): Promise<boolean> {
  if (!SEGMENT.test(args.name)) return false;
  try {
    if ((await readFile(join(args.spool, IDENTITY_FILE), 'utf8')) !== args.identity) return false;
    await rename(join(args.spool, args.name), args.dest);
    return true;
  } catch {
    return false;
  }
}

/** Pure: the segments to fetch after `name` (a segment), on its timeline. */
export function segmentsAfter(name: string, segmentSize: number, count: number): string[] {
  const wal = parseWalFileName(name, segmentSize);
  return Array.from({ length: count }, (_, k) => segmentName(wal.timeline, wal.segno! + BigInt(k + 1), segmentSize));
}

export interface PrefetchOptions {
  args: AsyncGetArgs;
  /** the archived file's content, or undefined when it is not archived */
  fetch(name: string): Promise<Buffer | undefined>;
  max?: number;
}

/**
 * After the asked segment was written to its destination: make the spool this identity's (a spool
 * of another one is emptied), drop what recovery has passed, and fetch the next segments that are
 * archived. Returns the names fetched.
 */
export async function prefetchAfter(o: PrefetchOptions): Promise<string[]> {
  const { args } = o;
  if (!SEGMENT.test(args.name)) return [];
  const header = readWalSegmentHeader(await readHead(args.dest));
  if (!header) return [];
  await mkdir(args.spool, { recursive: true, mode: 0o700 });
  const identityPath = join(args.spool, IDENTITY_FILE);
  const current = await readFile(identityPath, 'utf8').catch(() => undefined);
  if (current !== args.identity) {
    for (const entry of await readdir(args.spool)) await rm(join(args.spool, entry), { force: true, recursive: true });
    await writeFile(identityPath, args.identity, { mode: 0o600 });
  }
  // Recovery reads forward: what sorts before the asked segment on its timeline is passed.
  const timeline = args.name.slice(0, 8);
  for (const entry of await readdir(args.spool)) {
    if (SEGMENT.test(entry) && entry.startsWith(timeline) && entry < args.name) await unlink(join(args.spool, entry)).catch(() => undefined);
  }
  // A few at once: on an object store each fetch waits a round trip.
  const slots = new Limiter(PREFETCH_PARALLEL);
  const fetched: string[] = [];
  await Promise.all(
    segmentsAfter(args.name, header.segmentSize, o.max ?? PREFETCH_MAX).map((next) =>
      slots.run(async () => {
        if (existsSync(join(args.spool, next))) return;
        const content = await o.fetch(next);
        if (!content) return;
        const tmp = join(args.spool, `.${next}.tmp`);
        await writeFile(tmp, content, { mode: 0o600 });
        await rename(tmp, join(args.spool, next));
        fetched.push(next);
      }),
    ),
  );
  return fetched.sort();
}

async function readHead(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
