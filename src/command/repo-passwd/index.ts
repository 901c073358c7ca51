// `dbtool repo passwd`: wrap the master key of an encrypted repository under a new passphrase.
// No data is rewritten: a new key object is written, checked, then the old ones are deleted
// (the only deletion outside expire and locks). Holds locks/_passwd.lock so two never race.

import { dbtoolError } from '../../core/errors.js';
import { keys } from '../../repo/keys.js';
import { rewrapMasterKey } from '../../repo/keyring.js';
import type { KdfParams } from '../../repo/keyring.js';
import { acquireLockKey } from '../../repo/lock.js';
import type { Repository } from '../../repo/repository.js';

export interface RepoPasswdOptions {
  /** opened with the current passphrase */
  repo: Repository;
  /** asked only once the repository is known to be encrypted */
  oldPassphrase: () => Promise<string>;
  newPassphrase: () => Promise<string>;
  kdf?: KdfParams;
}

export interface RepoPasswdResult {
  keyFile: string;
  removed: string[];
}

export async function repoPasswd(o: RepoPasswdOptions): Promise<RepoPasswdResult> {
  if (!o.repo.encrypted) {
    throw dbtoolError('USAGE', `the repository at ${o.repo.storage.description} is not encrypted, so it has no passphrase`, 'Create an encrypted one with `dbtool repo init --encrypt`');
  }
  const oldPassphrase = await o.oldPassphrase();
  const newPassphrase = await o.newPassphrase();
  const lock = await acquireLockKey(o.repo, keys.passwdLock, 'the repository keys', 'repo passwd');
  try {
    return await rewrapMasterKey(o.repo.storage, oldPassphrase, newPassphrase, o.repo.config.id, o.kdf);
  } finally {
    await lock.release();
  }
}
