// Test harness: run a check while one chunk object of a local repository has a flipped byte, then
// put the object back as it was.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keys } from '../../src/repo/keys.js';
import { readManifest } from '../../src/repo/manifest.js';
import type { ManifestFile } from '../../src/repo/manifest.js';
import { Repository } from '../../src/repo/repository.js';
import { openStorage } from '../../src/storage/open-storage.js';

/**
 * `pick` chooses the chunk among the files of backup `label` (source main) of the repository at
 * `repo`; its object's last byte is flipped while `check` runs.
 */
export async function withDamagedChunk(repo: string, label: string, pick: (files: ManifestFile[]) => string, check: () => Promise<void>): Promise<void> {
  const r = await Repository.open(openStorage(repo));
  let chunkFile: string;
  try {
    chunkFile = join(repo, keys.chunk(pick((await readManifest(r, 'main', label)).files)));
  } finally {
    await r.close();
  }
  const original = await readFile(chunkFile);
  const damaged = Buffer.from(original);
  damaged[damaged.length - 1]! ^= 0x55;
  await writeFile(chunkFile, damaged);
  try {
    await check();
  } finally {
    await writeFile(chunkFile, original);
  }
}
