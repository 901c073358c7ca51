// Pure decisions of a MySQL/MariaDB restore: which backup, and the chain (full → increments) to apply.

import { dbtoolError } from '../../core/errors.js';
import type { Manifest } from '../../repo/manifest.js';

/** The backup to restore: the named one, or the newest. */
export function chooseMysqlBackup(manifests: Manifest[], label: string | undefined, source: string): Manifest {
  const mine = manifests.filter((m) => m.mysql);
  if (label !== undefined) {
    const m = mine.find((x) => x.label === label);
    if (!m) throw dbtoolError('BACKUP_NOT_FOUND', `no MySQL backup ${label} of source '${source}'`, 'List backups with `dbtool info`');
    return m;
  }
  const newest = mine[mine.length - 1];
  if (!newest) throw dbtoolError('NO_BACKUP', `source '${source}' has no MySQL backup to restore`, 'Take one with `dbtool backup`');
  return newest;
}

/** The full backup and each increment up to `m`, in the order they are applied. */
export function chainOf(m: Manifest, manifests: Manifest[]): Manifest[] {
  const byLabel = new Map(manifests.map((x) => [x.label, x]));
  const chain: Manifest[] = [m];
  let cur = m;
  while (cur.parent !== null) {
    const parent = byLabel.get(cur.parent);
    if (!parent) {
      throw dbtoolError('BACKUP_NOT_FOUND', `backup ${cur.label} is based on ${cur.parent}, which is not in the repository`, 'Restore another backup (`dbtool info` lists the chains)');
    }
    if (chain.includes(parent)) throw dbtoolError('MANIFEST_INVALID', `the chain of backup ${m.label} loops at ${parent.label}`, 'Run `dbtool verify`');
    chain.unshift(parent);
    cur = parent;
  }
  if (cur.type !== 'full') throw dbtoolError('MANIFEST_INVALID', `the chain of backup ${m.label} starts with ${cur.label}, a ${cur.type} backup`, 'Run `dbtool verify`');
  return chain;
}
