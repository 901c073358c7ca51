// `dbtool wal-get <walname> <dest>`: PostgreSQL's restore_command. A file that is not archived
// is not an error for recovery (it is how recovery learns where the archive ends): exit 1 quietly.

import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { dbtoolError } from '../../core/errors.js';
import { getArchiveFile } from '../../repo/archive.js';
import type { Repository } from '../../repo/repository.js';
import { readSourceIdentity } from '../../repo/source-identity.js';

export interface WalGetOptions {
  repo: Repository;
  source: string;
  name: string;
  dest: string;
  cwd?: string;
}

/** The system id in a data directory's global/pg_control (its first 8 bytes), if there is one. */
async function dataDirSystemId(dataDir: string): Promise<string | undefined> {
  try {
    const control = await readFile(join(dataDir, 'global', 'pg_control'));
    return control.readBigUInt64LE(0).toString();
  } catch {
    return undefined;
  }
}

/** Returns false when the file is not in the archive. */
export async function walGet(o: WalGetOptions): Promise<boolean> {
  const cwd = o.cwd ?? process.cwd();
  const identity = await readSourceIdentity(o.repo, o.source);
  // restore_command runs in the data directory: refuse WAL of another cluster.
  const here = await dataDirSystemId(cwd);
  if (identity && here && identity.systemId !== here) {
    throw dbtoolError(
      'REPO_OTHER_CLUSTER',
      `source '${o.source}' in ${o.repo.storage.description} belongs to system ${identity.systemId}, but the data directory ${cwd} is system ${here}`,
      'Point restore_command at the repository and --source of this cluster',
    );
  }
  const content = await getArchiveFile(o.repo, o.source, o.name);
  if (!content) return false;
  const dest = resolve(cwd, o.dest);
  const tmp = join(dirname(dest), `.dbtool-${process.pid}-${Date.now()}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, dest);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return true;
}
