// `dbtool repo init`: create an empty repository at the configured location.

import { Repository } from '../../repo/repository.js';
import type { Storage } from '../../storage/storage.js';

export interface RepoInitOptions {
  storage: Storage;
  chunkSize?: number;
  compressionLevel?: number;
}

export async function repoInit(o: RepoInitOptions): Promise<Repository> {
  return Repository.init(o.storage, { chunkSize: o.chunkSize, compressionLevel: o.compressionLevel });
}
