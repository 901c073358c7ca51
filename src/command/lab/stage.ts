// Put a runnable copy of this dbtool (dist/, package.json, node_modules/) where another OS user
// can read it: archive_command and restore_command run as the server's user, who may not be
// able to read the checkout (e.g. under /root).

import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { dbtoolError, messageOf } from '../../core/errors.js';
import type { OsUser } from '../../core/os-user.js';

const run = promisify(execFile);

export interface StagedCopy {
  dir: string;
  entry: string;
}

/** Make a tree readable (and directories searchable) by everyone. */
async function openUp(path: string): Promise<void> {
  const s = await stat(path);
  if (s.isDirectory()) {
    await chmod(path, (s.mode & 0o7777) | 0o755);
    for (const name of await readdir(path)) await openUp(join(path, name));
  } else if ((s.mode & 0o444) !== 0o444) await chmod(path, (s.mode & 0o7777) | 0o444);
}

/**
 * Copy the package that holds `entry` (…/dist/bin.js) into a new directory under the system temp
 * dir, readable by `user`. Hard links where possible (fast, same content), a real copy otherwise.
 */
export async function stageSelf(entry: string, user: OsUser | undefined): Promise<StagedCopy> {
  const root = dirname(dirname(entry));
  const dir = await mkdtemp(join(tmpdir(), 'dbtool-staged-'));
  try {
    for (const part of ['dist', 'package.json', 'node_modules']) {
      try {
        await run('cp', ['-al', join(root, part), dir]);
      } catch {
        await run('cp', ['-a', join(root, part), dir]);
      }
    }
    await openUp(dir);
    if (user) await chown(dir, user.uid, user.gid);
  } catch (e) {
    throw dbtoolError('TOOL_FAILED', `cannot stage a copy of dbtool for user ${user?.name ?? 'self'} in ${dir} (${messageOf(e)})`, 'Check free space in the temp directory');
  }
  return { dir, entry: join(dir, 'dist', 'bin.js') };
}
