// `dbtool check`: is this server set up to be protected by this repository? wal_level, archive_mode,
// an archive_command that calls dbtool wal-push with this repository, the REPLICATION privilege;
// then a forced WAL switch whose segment must arrive in the repository within the timeout.

import { setTimeout as sleep } from 'node:timers/promises';
import { dbtoolError } from '../../core/errors.js';
import type { Reporter } from '../../core/reporter.js';
import { connectPg, mapPgError } from '../../engine/postgres/connection.js';
import type { PgConnectionOptions } from '../../engine/postgres/connection.js';
import { getArchiveFile } from '../../repo/archive.js';
import type { Repository } from '../../repo/repository.js';

export interface CheckOptions {
  repo: Repository;
  source: string;
  connection: PgConnectionOptions;
  /** how the repository is named on archive_command lines (its path or URL) */
  repoLocation: string;
  timeoutSeconds: number;
  reporter: Reporter;
}

export interface CheckResult {
  walLevel: string;
  archiveMode: string;
  archiveCommand: string;
  segment: string;
  seconds: number;
}

interface ServerSettings {
  wal_level: string;
  archive_mode: string;
  archive_command: string;
  replication: boolean;
  user: string;
}

/** Pure: what is wrong with these settings for this repository, as error lines (empty: fine). */
export function settingsProblems(s: ServerSettings, repoLocation: string, source: string): Array<{ message: string; hint: string }> {
  const out: Array<{ message: string; hint: string }> = [];
  if (s.wal_level === 'minimal') out.push({ message: 'wal_level is minimal', hint: 'Set wal_level = replica in postgresql.conf and restart' });
  if (s.archive_mode === 'off') out.push({ message: 'archive_mode is off, so no WAL reaches the repository', hint: 'Set archive_mode = on in postgresql.conf and restart' });
  if (!/\bwal-push\b/.test(s.archive_command)) {
    out.push({ message: `archive_command '${s.archive_command}' does not call dbtool wal-push`, hint: `Set archive_command = 'dbtool --repo ${repoLocation} wal-push %p' and reload` });
  } else {
    if (!s.archive_command.includes(repoLocation)) out.push({ message: `archive_command '${s.archive_command}' does not name this repository (${repoLocation})`, hint: `Name it: --repo ${repoLocation}` });
    const m = /--source[= ]+'?([A-Za-z0-9_.-]+)/.exec(s.archive_command);
    if ((m?.[1] ?? 'main') !== source) out.push({ message: `archive_command archives as source '${m?.[1] ?? 'main'}', not '${source}'`, hint: `Use --source ${source} on the archive_command line, or check with that source` });
    if (!s.archive_command.includes('%p')) out.push({ message: 'archive_command does not pass %p', hint: "End it with 'wal-push %p'" });
  }
  if (!s.replication) out.push({ message: `role '${s.user}' lacks the REPLICATION privilege that backups need`, hint: `ALTER ROLE "${s.user}" REPLICATION` });
  return out;
}

export async function check(o: CheckOptions): Promise<CheckResult> {
  const started = performance.now();
  const client = await connectPg({ ...o.connection, database: o.connection.database ?? 'postgres' }, 'sql');
  try {
    const { rows } = await client.query<ServerSettings>(
      `SELECT current_setting('wal_level') AS wal_level, current_setting('archive_mode') AS archive_mode,
              current_setting('archive_command') AS archive_command, current_user AS user,
              (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS replication`,
    );
    const settings = rows[0]!;
    const problems = settingsProblems(settings, o.repoLocation, o.source);
    if (problems.length > 0) {
      const [first, ...rest] = problems;
      throw dbtoolError('SERVER_CONFIG', `${first!.message}${rest.length ? ` (and ${rest.map((p) => p.message).join('; ')})` : ''}`, first!.hint);
    }

    // The proof: a segment switched now must appear in the repository.
    const { rows: sw } = await client.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f').catch((e: unknown) => {
      throw mapPgError(e, o.connection);
    });
    const segment = sw[0]!.f;
    o.reporter.info(`check: switched WAL; waiting for ${segment} to be archived`);
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    while (!(await getArchiveFile(o.repo, o.source, segment))) {
      if (Date.now() > deadline) {
        const { rows: st } = await client.query<{ failed: string | null; err: string | null }>('SELECT last_failed_wal AS failed, last_failed_time::text AS err FROM pg_stat_archiver');
        const failed = st[0]?.failed ? ` (the archiver last failed on ${st[0].failed} at ${st[0].err})` : '';
        throw dbtoolError('ARCHIVE_MISSING', `WAL segment ${segment} did not reach the repository within ${o.timeoutSeconds} s${failed}`, `Read the server log for archive_command errors; check that its user can run dbtool and write the repository${o.repo.encrypted ? ', and that DBTOOL_PASSPHRASE_FILE (in the server environment or on the archive_command line) names a passphrase file it can read' : ''}`);
      }
      await sleep(250);
    }
    return { walLevel: settings.wal_level, archiveMode: settings.archive_mode, archiveCommand: settings.archive_command, segment, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end().catch(() => undefined);
  }
}
