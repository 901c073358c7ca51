// Which engine's recipe restores a source: the one its identity record names. A module of its
// own so that choosing does not load either recipe (and the MySQL one's tools).

import { engineFor } from '../../engine/engine.js';
import type { Engine } from '../../engine/engine.js';
import type { Repository } from '../../repo/repository.js';
import { readSourceIdentity } from '../../repo/source-identity.js';

/** The engine a source belongs to (from its identity record); undefined for an unknown source. */
export async function sourceEngine(repo: Repository, source: string): Promise<Engine | undefined> {
  const id = await readSourceIdentity(repo, source);
  return id ? engineFor(id.engine) : undefined;
}
