// Read the files of a directory that a running tool (pg_dump -Fd -j) is still writing, so that they
// are stored while the dump runs instead of after it: each file is yielded once, either complete
// or followed while it grows (read in whole pieces as they appear, to its end once it is closed).

import { open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Bytes per read: the repository's default chunk size, so a followed piece fills a chunk. */
export const FOLLOW_READ_SIZE = 1 << 20;

export interface FollowedFile {
  /** the file's name in the directory */
  name: string;
  /** its final length when it was complete before it was yielded; undefined for a followed file */
  size?: number;
  data: AsyncIterable<Buffer>;
}

export interface FollowOptions {
  dir: string;
  /**
   * The tool's process id: a file that exists and that neither it nor its children (pg_dump's
   * workers) hold open is complete, since pg_dump writes each file once, front to back, and never
   * opens it again. Without it (or without Linux's /proc) a file is complete only when the tool exited.
   */
  pid?: number;
  /** settles when the tool has exited and every file is written: rejects with its error when it failed */
  exited: Promise<void>;
  /** remove each file once it was read to its end (the caller asked for the next one) */
  removeRead?: boolean;
  /** how long to wait before looking again at a file that has not grown (ms) */
  pollMs?: number;
  readSize?: number;
}

interface Seen {
  name: string;
  size: number;
  inode: string;
}

/** `dev:ino` of each file the process and its children hold open; undefined when /proc cannot tell. */
export async function openInodes(pid: number): Promise<Set<string> | undefined> {
  let children: string;
  try {
    children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return undefined; // not Linux, a kernel without CONFIG_PROC_CHILDREN, or the tool is gone
  }
  const pids = [pid, ...children.split(/\s+/).filter((s) => s !== '').map(Number)];
  const inodes = new Set<string>();
  for (const p of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${p}/fd`);
    } catch (e) {
      // A worker that has exited holds nothing open; the leader's fds must be readable.
      if (p !== pid && (e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return undefined;
    }
    for (const fd of fds) {
      try {
        const s = await stat(`/proc/${p}/fd/${fd}`);
        inodes.add(`${s.dev}:${s.ino}`);
      } catch {
        // closed while we looked: not open any more
      }
    }
  }
  return inodes;
}

/** Up to `readSize` bytes at `pos`, in a buffer of their own (empty at the end of the file). */
async function readPiece(fh: FileHandle, pos: number, readSize: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(readSize);
  const { bytesRead } = await fh.read(buf, 0, readSize, pos);
  return bytesRead === readSize ? buf : buf.subarray(0, bytesRead);
}

async function* readFrom(fh: FileHandle, start: number, readSize: number): AsyncGenerator<Buffer> {
  for (let pos = start; ; ) {
    const piece = await readPiece(fh, pos, readSize);
    if (piece.length === 0) return;
    pos += piece.length;
    yield piece;
  }
}

/**
 * Yield every regular file the tool writes into `dir`, each once: first the complete ones (with
 * their size), else the growing one with the most bytes, followed to its end. Returns once the
 * tool has exited and every file was yielded; throws the tool's error when it failed.
 */
export async function* followDump(o: FollowOptions): AsyncGenerator<FollowedFile> {
  const readSize = o.readSize ?? FOLLOW_READ_SIZE;
  const pollMs = o.pollMs ?? 10;
  let exited = false;
  let failure: unknown;
  const over = o.exited.then(
    () => {
      exited = true;
    },
    (e: unknown) => {
      exited = true;
      failure = e;
    },
  );
  /** wait a little, or less when the tool exits */
  const tick = (ms: number) => Promise.race([sleep(ms), over]);
  const check = () => {
    if (failure !== undefined) throw failure;
  };
  /** complete: the tool exited (and every file it wrote is whole), or none of its processes holds the file */
  const isComplete = async (inode: string): Promise<boolean> => {
    if (exited) return true;
    if (o.pid === undefined) return false;
    const held = await openInodes(o.pid);
    return held !== undefined && !held.has(inode);
  };

  /** A file that was read to its end is not needed any more: removed in the background, to free its disk space early. */
  const removals: Array<Promise<void>> = [];
  const removeRead = (name: string) => {
    if (o.removeRead) removals.push(unlink(join(o.dir, name)).catch(() => undefined));
  };

  try {
    yield* scan();
  } finally {
    await Promise.all(removals);
  }

  /** The directory's files, each once, until the tool has exited and all were yielded. */
  async function* scan(): AsyncGenerator<FollowedFile> {
    const done = new Set<string>();
    for (;;) {
      check();
      // Whether the tool had exited before the listing: then the listing is the final one.
      const final = exited;
      const seen: Seen[] = [];
      for (const name of (await readdir(o.dir)).sort()) {
        if (done.has(name)) continue;
        try {
          const s = await stat(join(o.dir, name));
          if (s.isFile()) seen.push({ name, size: s.size, inode: `${s.dev}:${s.ino}` });
        } catch {
          // gone again: not a file of the dump
        }
      }
      if (seen.length === 0) {
        if (final) return check();
        await tick(pollMs);
        continue;
      }
      // Open files are looked up after the listing: a listed file that is not open was closed.
      const held = final ? new Set<string>() : o.pid === undefined ? undefined : await openInodes(o.pid);
      const complete = held ? seen.filter((f) => !held.has(f.inode)) : [];
      for (const f of complete) {
        done.add(f.name);
        const fh = await open(join(o.dir, f.name), 'r');
        try {
          // Its size now, not at the listing: it may have grown until it was closed.
          yield { name: f.name, size: (await fh.stat()).size, data: readFrom(fh, 0, readSize) };
        } finally {
          await fh.close();
        }
        removeRead(f.name);
      }
      if (complete.length > 0) continue;
      // Nothing complete yet: follow the file with the most bytes written.
      const next = seen.reduce((a, b) => (b.size > a.size ? b : a));
      done.add(next.name);
      const fh = await open(join(o.dir, next.name), 'r');
      try {
        yield { name: next.name, data: follow(fh, next.inode) };
      } finally {
        await fh.close();
      }
      removeRead(next.name);
    }
  }

  /** Pieces of a growing file as they are written (whole readSize pieces), then the rest once it is complete. */
  async function* follow(fh: FileHandle, inode: string): AsyncGenerator<Buffer> {
    let pos = 0;
    let lastSize = -1;
    let idle = 0;
    for (;;) {
      check();
      const size = (await fh.stat()).size;
      if (size - pos >= readSize) {
        const piece = await readPiece(fh, pos, readSize);
        pos += piece.length;
        idle = 0;
        yield piece;
        continue;
      }
      // Less than a piece: is the file done? Only asked when it stopped growing (a growing file is open).
      if (size === lastSize && (await isComplete(inode))) {
        check();
        yield* readFrom(fh, pos, readSize);
        return;
      }
      lastSize = size;
      // Back off while nothing happens (a dump waiting on a lock), at most 20 polls apart.
      idle = Math.min(idle + 1, 20);
      await tick(pollMs * idle);
    }
  }
}
