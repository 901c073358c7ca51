// `dbtool repo init [--encrypt]`: create an empty repository at the configured location.

import { Repository } from '../../repo/repository.js';
import type { KdfParams } from '../../repo/keyring.js';
import type { Storage } from '../../storage/storage.js';

export interface RepoInitOptions {
  storage: Storage;
  chunkSize?: number;
  compressionLevel?: number;
  /** encrypt everything under a master key wrapped by this passphrase */
  passphrase?: string;
  kdf?: KdfParams;
}

export async function repoInit(o: RepoInitOptions): Promise<Repository> {
  return Repository.init(o.storage, { chunkSize: o.chunkSize, compressionLevel: o.compressionLevel, passphrase: o.passphrase, kdf: o.kdf });
}
