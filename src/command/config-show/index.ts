// `dbtool config show`: the effective settings, each with where it came from; secrets masked.

import type { Settings } from '../../config/settings.js';

export interface SettingLine {
  key: string;
  /** the value as text, `****` for a secret, null when unset */
  value: string | null;
  /** e.g. `--repo`, `environment PGPORT`, `.env DB_HOST`, `config file dbtool.yaml`, `default` */
  origin: string;
}

const SECRETS = new Set(['password']);

/** Pure: the settings as lines, in a stable order. */
export function settingsView(s: Settings): SettingLine[] {
  const c = s.connection;
  const fromFile = s.configFile ? `config file ${s.configFile}` : 'unset';
  // [key, value, origin when no flag/env/file set it]
  const entries: Array<[string, string | number | undefined, string]> = [
    ['config', s.configFile, 'none'],
    ['repo', s.repo, 'unset'],
    ['source', s.source, 'default'],
    ['engine', c.engine, 'default'],
    ['host', c.host, 'unset (libpq default: local socket)'],
    ['port', c.port, 'unset (default 5432)'],
    ['user', c.user, 'unset (the OS user)'],
    ['password', c.password, 'unset (~/.pgpass or trust)'],
    ['database', c.database, 'unset (same as the user)'],
    ['compressLevel', s.compressLevel, 'unset (1 at repo init)'],
    ['runAs', s.runAs, 'unset (postgres when root)'],
    // Retention comes only from the config file (expire's flags override it per run).
    ['keepFull', s.retention.keepFull, s.retention.keepFull !== undefined ? fromFile : 'unset'],
    ['keepDiff', s.retention.keepDiff, s.retention.keepDiff !== undefined ? fromFile : 'unset'],
    ['keepDays', s.retention.keepDays, s.retention.keepDays !== undefined ? fromFile : 'unset'],
  ];
  return entries.map(([key, v, fallback]) => ({
    key,
    value: v === undefined ? null : SECRETS.has(key) ? '****' : String(v),
    origin: s.origins[key] ?? fallback,
  }));
}
