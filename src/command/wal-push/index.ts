// `dbtool wal-push <path>`: PostgreSQL's archive_command. Durable before exit 0; an identical
// re-push succeeds; different content under an existing name fails (two clusters, split brain).

import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { dbtoolError, messageOf } from '../../core/errors.js';
import { parseWalFileName, readWalSegmentHeader } from '../../core/lsn.js';
import { pushArchiveFile } from '../../repo/archive.js';
import type { PushResult } from '../../repo/archive.js';
import type { Repository } from '../../repo/repository.js';
import { claimSource, readSourceIdentity } from '../../repo/source-identity.js';

export interface WalPushOptions {
  repo: Repository;
  source: string;
  path: string;
  cwd?: string;
}

export async function walPush(o: WalPushOptions): Promise<PushResult> {
  const full = resolve(o.cwd ?? process.cwd(), o.path);
  const name = basename(full);
  const wal = parseWalFileName(name);
  let content: Buffer;
  try {
    content = await readFile(full);
  } catch (e) {
    throw dbtoolError('WAL_INVALID', `cannot read ${full} (${messageOf(e)})`, 'Pass the %p that PostgreSQL gives to archive_command');
  }
  if (wal.kind === 'segment' || wal.kind === 'partial') {
    const header = readWalSegmentHeader(content);
    if (!header || header.timeline !== wal.timeline) {
      throw dbtoolError('WAL_INVALID', `${name} does not start with a valid WAL segment header`, 'Check that the file is an intact WAL segment');
    }
    await claimSource(o.repo, o.source, 'postgres', header.systemId);
  } else {
    // History and backup-label files carry no system id; they are only accepted for a known source.
    const identity = await readSourceIdentity(o.repo, o.source);
    if (!identity) {
      throw dbtoolError('REPO_OTHER_CLUSTER', `source '${o.source}' has no archived WAL or backup yet, so ${name} cannot be checked against its cluster`, 'Push a WAL segment or take a backup first');
    }
  }
  return pushArchiveFile(o.repo, o.source, name, content);
}
