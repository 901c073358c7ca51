// dbtool-repo.json: what makes a directory or bucket a dbtool repository, validated on open.

import { z } from 'zod';

export const REPO_CONFIG_KEY = 'dbtool-repo.json';
/** format of an unencrypted repository (unchanged since the first release) */
export const REPO_FORMAT = 1;
/** format of an encrypted repository: a dbtool that only knows format 1 refuses it clearly */
export const REPO_FORMAT_ENCRYPTED = 2;
/** the newest format this dbtool understands */
export const REPO_FORMAT_NEWEST = REPO_FORMAT_ENCRYPTED;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

const encryptionSchema = z.object({
  /** every object: compressed, then AES-256-GCM under the data key, bound to its kind and name */
  cipher: z.literal('aes-256-gcm'),
  /** the master key lives in keys/<id>.key, wrapped under a scrypt key of the passphrase */
  keys: z.literal('keys/*.key'),
  /** chunk-id key and data key: HKDF-SHA256 of the master key (salt: the repository id) */
  subkeys: z.literal('hkdf-sha256'),
});

export const repoConfigSchema = z
  .object({
    format: z.union([z.literal(REPO_FORMAT), z.literal(REPO_FORMAT_ENCRYPTED)]),
    id: z.string().uuid(),
    created: z.string(),
    chunkSize: z.number().int().min(64 * 1024).max(64 * 1024 * 1024),
    compression: z.object({ codec: z.literal('zstd'), level: z.number().int().min(0).max(19) }),
    /** base64 key of the HMAC that names chunks; absent from an encrypted repository (derived from its master key) */
    idKey: z.string().min(40).optional(),
    encryption: encryptionSchema.optional(),
  })
  .refine((c) => (c.format === REPO_FORMAT ? c.idKey !== undefined && c.encryption === undefined : c.idKey === undefined && c.encryption !== undefined), {
    message: `format ${REPO_FORMAT} has an idKey and no encryption; format ${REPO_FORMAT_ENCRYPTED} has encryption and no idKey`,
    path: ['format'],
  });

export type RepoConfig = z.infer<typeof repoConfigSchema>;
export type EncryptionConfig = z.infer<typeof encryptionSchema>;
