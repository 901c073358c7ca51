// Wait for a restored server to finish recovery (promoted, paused at the target, or shut down at
// it) and report where it stopped; a recovery that failed is reported with the server's words.

import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dbtoolError, isDbtoolError } from '../../core/errors.js';
import type { PgInstance } from './instance.js';
import { logTail, readControlData } from './instance.js';

export interface RecoveryOutcome {
  state: 'promoted' | 'paused' | 'shutdown';
  /** last WAL position replayed */
  lsn: string | undefined;
  /** commit time of the last transaction replayed (UTC ISO), if any */
  lastTransactionTime: string | undefined;
  timeline: number | undefined;
}

function postmasterRunning(dataDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function failure(instance: PgInstance, why: string): Promise<Error> {
  const tail = await logTail(instance.logFile, 6);
  const fatal = tail.split('\n').find((l) => /FATAL|PANIC/.test(l));
  return dbtoolError('RECOVERY_FAILED', `recovery of ${instance.dataDir} ${why}${fatal ? `: ${fatal.replace(/^.*?(FATAL|PANIC):\s*/, '')}` : ''}`, `Read ${instance.logFile}; the target may be beyond the archived WAL`);
}

export async function waitForRecovery(instance: PgInstance, action: 'promote' | 'pause' | 'shutdown', timeoutMs = 30 * 60_000): Promise<RecoveryOutcome> {
  const deadline = Date.now() + timeoutMs;
  const startDeadline = Date.now() + 120_000;
  let seenRunning = false;
  for (;;) {
    const running = postmasterRunning(instance.dataDir);
    if (!seenRunning && !running) {
      // Not up yet (no pid file): wait, unless the server already gave up.
      if (/FATAL|PANIC/.test(await logTail(instance.logFile, 6))) throw await failure(instance, 'could not start');
      if (Date.now() > startDeadline) throw await failure(instance, 'did not start within 120 s');
      await sleep(100);
      continue;
    }
    seenRunning = true;
    if (!running && !existsSync(join(instance.dataDir, 'postmaster.pid'))) {
      if (action !== 'shutdown') throw await failure(instance, 'stopped before it finished');
      const control = await readControlData(instance.dataDir, instance.runAs);
      if (!/shut down in recovery|shut down/.test(control['Database cluster state'] ?? '')) throw await failure(instance, 'stopped before it reached the target');
      return {
        state: 'shutdown',
        lsn: control['Minimum recovery ending location'] && control['Minimum recovery ending location'] !== '0/0' ? control['Minimum recovery ending location'] : control['Latest checkpoint location'],
        lastTransactionTime: undefined,
        timeline: Number(control["Latest checkpoint's TimeLineID"]) || undefined,
      };
    }
    try {
      const [row] = await instance.query<{ in_recovery: boolean; pause: string | null; lsn: string | null; ts: Date | null; tli: number }>(
        `SELECT pg_is_in_recovery() AS in_recovery,
                CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END AS pause,
                pg_last_wal_replay_lsn()::text AS lsn, pg_last_xact_replay_timestamp() AS ts,
                (SELECT timeline_id FROM pg_control_checkpoint()) AS tli`,
      );
      if (row && (!row.in_recovery || row.pause === 'paused')) {
        let timeline = row.tli;
        if (!row.in_recovery) {
          // The checkpoint's timeline lags right after promotion: ask the live WAL position's file.
          const [t] = await instance.query<{ tli: string }>("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli");
          if (t) timeline = parseInt(t.tli, 16);
        }
        return { state: row.in_recovery ? 'paused' : 'promoted', lsn: row.lsn ?? undefined, lastTransactionTime: row.ts ? row.ts.toISOString() : undefined, timeline };
      }
    } catch (e) {
      // Not accepting connections yet (before consistency), or shutting down: poll again.
      if (!isDbtoolError(e)) throw e;
    }
    if (Date.now() > deadline) throw await failure(instance, `did not finish within ${Math.round(timeoutMs / 60000)} minutes`);
    await sleep(250);
  }
}
