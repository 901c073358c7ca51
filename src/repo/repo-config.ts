// dbtool-repo.json: what makes a directory or bucket a dbtool repository, validated on open.

import { z } from 'zod';

export const REPO_CONFIG_KEY = 'dbtool-repo.json';
export const REPO_FORMAT = 1;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export const repoConfigSchema = z.object({
  format: z.literal(REPO_FORMAT),
  id: z.string().uuid(),
  created: z.string(),
  chunkSize: z.number().int().min(64 * 1024).max(64 * 1024 * 1024),
  compression: z.object({ codec: z.literal('zstd'), level: z.number().int().min(0).max(19) }),
  /** base64 key of the HMAC that names chunks; on an encrypted repository it is wrapped */
  idKey: z.string().min(40),
});

export type RepoConfig = z.infer<typeof repoConfigSchema>;
