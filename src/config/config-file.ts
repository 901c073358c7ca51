// The config file (YAML or JSON): one validated schema; an unknown or mistyped key is an error
// naming the key and the file.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { parse as ParseYaml } from 'yaml';
import { z } from 'zod';
import { dbtoolError, messageOf } from '../core/errors.js';

const connectionKeys = {
  engine: z.enum(['postgres', 'mysql']).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  database: z.string().min(1).optional(),
  /** MySQL/MariaDB: Unix socket of the server */
  socket: z.string().min(1).optional(),
  /** MySQL/MariaDB: an option file the backup and client tools read (--defaults-file) */
  defaultsFile: z.string().min(1).optional(),
};

/** S3 connection details for s3:// repositories; the URL's parameters win over them. */
const s3Schema = z.strictObject({
  endpoint: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  pathStyle: z.boolean().optional(),
  accessKeyId: z.string().min(1).optional(),
  secretAccessKey: z.string().min(1).optional(),
});

const sourceSchema = z.strictObject({ ...connectionKeys, repo: z.string().min(1).optional() });

export const configFileSchema = z.strictObject({
  repo: z.string().min(1).optional(),
  source: z.string().min(1).optional(),
  compressLevel: z.number().int().min(0).max(19).optional(),
  runAs: z.string().min(1).optional(),
  keepFull: z.number().int().min(1).optional(),
  keepDiff: z.number().int().min(1).optional(),
  keepDays: z.number().min(0).optional(),
  keepLogical: z.number().int().min(1).optional(),
  ...connectionKeys,
  sources: z.record(z.string(), sourceSchema).optional(),
  s3: s3Schema.optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw dbtoolError('CONFIG_INVALID', `cannot read the config file ${path} (${messageOf(e)})`, 'Check --config / DBTOOL_CONFIG');
  }
  let raw: unknown;
  try {
    // Required here, not at start-up: most runs have no config file (≈ 45 ms of every start).
    const { parse } = createRequire(import.meta.url)('yaml') as { parse: typeof ParseYaml };
    raw = parse(text) ?? {};
  } catch (e) {
    throw dbtoolError('CONFIG_INVALID', `the config file ${path} is not valid YAML/JSON (${messageOf(e).split('\n')[0]})`, 'Fix the syntax');
  }
  const result = configFileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      const keysText = issue.keys.map((k) => (where ? `${where}.${k}` : k)).join(', ');
      throw dbtoolError('CONFIG_INVALID', `unknown key ${keysText} in the config file ${path}`, 'Remove it or fix its spelling (see README: configuration)');
    }
    throw dbtoolError('CONFIG_INVALID', `bad value for '${where}' in the config file ${path}: ${issue.message}`, 'Fix the value (see README: configuration)');
  }
  return result.data;
}
