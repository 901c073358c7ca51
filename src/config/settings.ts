// Effective settings: flags, then environment (DBTOOL_*, libpq PG*, DB_* also from ./.env), then
// the config file; one typed object that commands pass down as plain options.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { dbtoolError } from '../core/errors.js';
import { isValidSourceName } from '../repo/keys.js';
import { readConfigFile } from './config-file.js';
import type { ConfigFile } from './config-file.js';
import type { S3Settings } from '../storage/s3/s3-location.js';

export interface GlobalFlags {
  config?: string;
  repo?: string;
  source?: string;
  db?: string;
  /** the database to connect to (the seed's --database); beats PGDATABASE / DB_NAME */
  database?: string;
}

export interface ConnectionSettings {
  engine: 'postgres' | 'mysql';
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** MySQL/MariaDB: Unix socket (DB_SOCKET); wins over host/port */
  socket?: string;
  /** MySQL/MariaDB: option file for the tools (DB_DEFAULTS_FILE) */
  defaultsFile?: string;
}

export interface Settings {
  /** repository location as given (path or URL); undefined when none is set anywhere */
  repo: string | undefined;
  source: string;
  connection: ConnectionSettings;
  compressLevel: number | undefined;
  runAs: string | undefined;
  /** retention from the config file; flags of `expire` override it */
  retention: { keepFull?: number; keepDiff?: number; keepDays?: number; keepLogical?: number };
  configFile: string | undefined;
  /** where an encrypted repository's passphrase comes from (environment or .env only, never a flag) */
  passphrase: PassphraseSettings;
  /** the config file's `s3:` keys (endpoint, region, pathStyle, credentials) for s3:// repositories */
  s3: S3Settings | undefined;
  /** where each setting came from, for `config show` and error messages */
  origins: Record<string, string>;
}

/** A passphrase is given as a value (DBTOOL_PASSPHRASE) or a file (DBTOOL_PASSPHRASE_FILE), at most one. */
export interface PassphraseSettings {
  value?: string;
  /** absolute path; its first line is the passphrase */
  file?: string;
  /** for `repo passwd`: DBTOOL_NEW_PASSPHRASE / DBTOOL_NEW_PASSPHRASE_FILE */
  newValue?: string;
  newFile?: string;
}

export type Env = Record<string, string | undefined>;

function readDotenv(cwd: string): Env {
  const path = join(cwd, '.env');
  if (!existsSync(path)) return {};
  return parseDotenv(readFileSync(path));
}

function parsePort(text: string | undefined, origin: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw dbtoolError('CONFIG_INVALID', `${origin} is '${text}', not a port number`, 'Use a number from 1 to 65535');
  }
  return n;
}

function parseEngine(text: string | undefined, origin: string): 'postgres' | 'mysql' | undefined {
  if (text === undefined || text === '') return undefined;
  const t = text.toLowerCase();
  if (t === 'postgres' || t === 'postgresql' || t === 'pg') return 'postgres';
  if (t === 'mysql' || t === 'mariadb') return 'mysql';
  throw dbtoolError('CONFIG_INVALID', `${origin} is '${text}', not a database engine`, "Use 'postgres' or 'mysql'");
}

/** Config file names `--config file` looks for in the working directory, in this order. */
export const DEFAULT_CONFIG_FILES = ['dbtool.yaml', 'dbtool.yml', 'dbtool.json'];

/**
 * The seed's `--config file|env`: `env` = no config file (flags, environment and .env only),
 * `file` = the default config file in `cwd`, anything else = a path.
 */
function configFileFor(arg: string | undefined, cwd: string, origin: string | undefined): string | undefined {
  if (arg === undefined || arg === 'env') return undefined;
  if (arg !== 'file') return arg;
  const found = DEFAULT_CONFIG_FILES.find((name) => existsSync(join(cwd, name)));
  if (!found) {
    throw dbtoolError('CONFIG_INVALID', `${origin} is 'file' but there is no ${DEFAULT_CONFIG_FILES.join(', ')} in ${cwd}`, "Create ./dbtool.yaml, give a path (--config ./my.yaml), or use --config env");
  }
  return found;
}

/**
 * Resolve settings. `env` is the process environment; `.env` in `cwd` fills what the
 * environment leaves unset (as dotenv does), and never overrides it.
 */
export function resolveSettings(flags: GlobalFlags, env: Env = process.env, cwd = process.cwd()): Settings {
  const dot = readDotenv(cwd);
  const origins: Record<string, string> = {};
  const pick = <T>(name: string, candidates: Array<[T | undefined, string]>): T | undefined => {
    for (const [value, origin] of candidates) {
      if (value !== undefined && value !== '') {
        origins[name] = origin;
        return value;
      }
    }
    return undefined;
  };
  const fromEnv = (name: string): [string | undefined, string] => (env[name] !== undefined ? [env[name], `environment ${name}`] : [dot[name], `.env ${name}`]);

  const configArg = pick('config', [[flags.config, '--config'], fromEnv('DBTOOL_CONFIG')]);
  const configPath = configFileFor(configArg, cwd, origins.config);
  if (configArg === 'env') origins.config = `${origins.config} (env: no config file)`;
  const file: ConfigFile = configPath ? readConfigFile(resolve(cwd, configPath)) : {};
  const fileOrigin = configPath ? `config file ${configPath}` : 'config file';

  const source = pick('source', [[flags.source, '--source'], fromEnv('DBTOOL_SOURCE'), [file.source, fileOrigin]]) ?? 'main';
  if (!isValidSourceName(source)) {
    throw dbtoolError('CONFIG_INVALID', `source name '${source}' (from ${origins.source}) is not valid`, 'Use letters, digits, ".", "_" and "-" (at most 63)');
  }
  const sourceFile = file.sources?.[source] ?? {};
  const srcOrigin = `${fileOrigin} sources.${source}`;

  const repo = pick('repo', [[flags.repo, '--repo'], fromEnv('DBTOOL_REPO'), [sourceFile.repo, srcOrigin], [file.repo, fileOrigin]]);

  const engineText = pick('engine', [[flags.db, '--db'], fromEnv('DB_ENGINE'), [sourceFile.engine, srcOrigin], [file.engine, fileOrigin]]);
  const engine = parseEngine(engineText, origins.engine ?? 'engine') ?? 'postgres';

  const host = pick('host', [fromEnv('PGHOST'), fromEnv('DB_HOST'), [sourceFile.host, srcOrigin], [file.host, fileOrigin]]);
  const portValue = pick<string | number>('port', [fromEnv('PGPORT'), fromEnv('DB_PORT'), [sourceFile.port, srcOrigin], [file.port, fileOrigin]]);
  const port = typeof portValue === 'number' ? portValue : parsePort(portValue, origins.port ?? 'port');
  const user = pick('user', [fromEnv('PGUSER'), fromEnv('DB_USER'), [sourceFile.user, srcOrigin], [file.user, fileOrigin]]);
  const password = pick('password', [fromEnv('PGPASSWORD'), fromEnv('DB_PASSWORD'), [sourceFile.password, srcOrigin], [file.password, fileOrigin]]);
  const database = pick('database', [[flags.database, '--database'], fromEnv('PGDATABASE'), fromEnv('DB_NAME'), [sourceFile.database, srcOrigin], [file.database, fileOrigin]]);

  const socket = pick('socket', [fromEnv('DB_SOCKET'), [sourceFile.socket, srcOrigin], [file.socket, fileOrigin]]);
  const defaultsFile = pick('defaultsFile', [fromEnv('DB_DEFAULTS_FILE'), [sourceFile.defaultsFile, srcOrigin], [file.defaultsFile, fileOrigin]]);

  const levelText = pick<string | number>('compressLevel', [fromEnv('DBTOOL_COMPRESS_LEVEL'), [file.compressLevel, fileOrigin]]);
  let compressLevel: number | undefined;
  if (levelText !== undefined) {
    compressLevel = Number(levelText);
    if (!Number.isInteger(compressLevel) || compressLevel < 0 || compressLevel > 19) {
      throw dbtoolError('CONFIG_INVALID', `${origins.compressLevel} is '${levelText}', not a zstd level`, 'Use a whole number from 0 (off) to 19');
    }
  }
  const runAs = pick('runAs', [fromEnv('DBTOOL_RUN_AS'), [file.runAs, fileOrigin]]);

  const secret = (valueVar: string, fileVar: string): [string | undefined, string | undefined] => {
    const value = pick(valueVar, [fromEnv(valueVar)]);
    const path = pick(fileVar, [fromEnv(fileVar)]);
    if (value !== undefined && path !== undefined) {
      throw dbtoolError('CONFIG_INVALID', `both ${valueVar} and ${fileVar} are set`, `Set only one of them`);
    }
    return [value, path === undefined ? undefined : resolve(cwd, path)];
  };
  const [passValue, passFile] = secret('DBTOOL_PASSPHRASE', 'DBTOOL_PASSPHRASE_FILE');
  const [newValue, newFile] = secret('DBTOOL_NEW_PASSPHRASE', 'DBTOOL_NEW_PASSPHRASE_FILE');

  return {
    repo,
    source,
    connection: { engine, host, port, user, password, database, socket, defaultsFile },
    compressLevel,
    runAs,
    retention: { keepFull: file.keepFull, keepDiff: file.keepDiff, keepDays: file.keepDays, keepLogical: file.keepLogical },
    configFile: configPath,
    passphrase: { value: passValue, file: passFile, newValue, newFile },
    s3: file.s3,
    origins,
  };
}

/** The repository location, or a clear error when none is configured. */
export function requireRepo(settings: Settings): string {
  if (!settings.repo) {
    throw dbtoolError('REPO_NOT_FOUND', 'no repository is configured', 'Pass --repo PATH, set DBTOOL_REPO, or put `repo:` in the config file');
  }
  return settings.repo;
}
