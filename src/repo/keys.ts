// Where each kind of object lives in a repository (DESIGN.md §3). The only place keys are built.

import { timelineDir } from '../core/lsn.js';

const SOURCE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function isValidSourceName(name: string): boolean {
  return SOURCE_RE.test(name);
}

export const keys = {
  chunk: (id: string): string => `chunks/${id.slice(0, 2)}/${id}`,
  chunksPrefix: 'chunks/',
  manifest: (source: string, label: string): string => `backups/${source}/${label}.manifest`,
  manifestsPrefix: (source: string): string => `backups/${source}/`,
  archive: (source: string, timeline: number, name: string): string => `archive/${source}/${timelineDir(timeline)}/${name}`,
  archivePrefix: (source: string): string => `archive/${source}/`,
  /** a MySQL binlog file, by its server name (e.g. binlog.000042) */
  binlog: (source: string, name: string): string => `archive/${source}/binlog/${name}`,
  /** part `i` of a binlog file stored in parts; part 0 is where a file of one part lives */
  binlogPart: (source: string, name: string, i: number): string => `archive/${source}/binlog/${name}${i === 0 ? '' : `.part${i}`}`,
  /** its index entry, written after the file: the binlog is archived iff this exists */
  binlogMeta: (source: string, name: string): string => `archive/${source}/binlog/${name}.meta`,
  binlogPrefix: (source: string): string => `archive/${source}/binlog/`,
  lock: (source: string): string => `locks/${source}.lock`,
  locksPrefix: 'locks/',
  /** held by chunk garbage collection; '_' cannot start a source name, so it never collides */
  gcLock: 'locks/_gc.lock',
  backupsPrefix: 'backups/',
  sourceIdentity: (source: string): string => `sources/${source}.json`,
  /** an encrypted repository's master key, wrapped under a passphrase (write-once; `repo passwd` replaces it) */
  keyFile: (id: string): string => `keys/${id}.key`,
  keysPrefix: 'keys/',
  /** held by `repo passwd` while it replaces the key file */
  passwdLock: 'locks/_passwd.lock',
} as const;

export function chunkIdFromKey(key: string): string | undefined {
  const m = /^chunks\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return m?.[1];
}
