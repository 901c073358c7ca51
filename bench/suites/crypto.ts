// Suite `crypto` (issue 5): the same full backup and restore into a posix repository, unencrypted
// vs encrypted (`repo init --encrypt`, passphrase from DBTOOL_PASSPHRASE_FILE), alternating on
// the shared pgbench cluster; the overhead of encryption in % of wall time (target ≤ 10 % for backup).

import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { du, log, mdTable, round, runAs } from '../lib.js';
import type { SuiteResult } from '../lib.js';
import { comparePhysical } from './physical-pair.js';

const TARGET_PCT = 10;

export async function cryptoSuite(): Promise<SuiteResult> {
  // The passphrase file: readable by the user dbtool runs as, nobody else.
  const secretDir = await mkdtemp(join(tmpdir(), 'dbtool-bench-secret-'));
  const passFile = join(secretDir, 'passphrase');
  await writeFile(passFile, 'bench passphrase, not a secret\n', { mode: 0o600 });
  if (runAs) {
    await chown(secretDir, runAs.uid, runAs.gid);
    await chown(passFile, runAs.uid, runAs.gid);
  }
  try {
    const posix = {
      storedBytes: (repo: string) => du(join(repo, 'chunks')),
      remove: (repo: string) => rm(repo, { recursive: true, force: true }),
    };
    const r = await comparePhysical('crypto', [
      { name: 'plain', location: (work, n) => join(work, `plain-repo-${n}`), ...posix },
      { name: 'encrypted', location: (work, n) => join(work, `enc-repo-${n}`), initArgs: ['--encrypt'], env: { DBTOOL_PASSPHRASE_FILE: passFile }, ...posix },
    ]);
    const p = r.variants.plain!;
    const e = r.variants.encrypted!;
    const pct = (a: number, b: number) => round(((a - b) / b) * 100, 1);
    const backupPct = pct(e.backupSeconds, p.backupSeconds);
    const restorePct = pct(e.restoreSeconds, p.restoreSeconds);
    const json = { ...r, overheadPct: { backup: backupPct, restore: restorePct }, target: `encryption adds ≤ ${TARGET_PCT} % to backup wall time`, pass: backupPct <= TARGET_PCT };
    log(`crypto: overhead backup ${backupPct} %, restore ${restorePct} %`);
    const md =
      `pgbench database ${r.databaseMB} MB, median of ${r.runs}; posix repository, \`repo init\` vs \`repo init --encrypt\`\n\n` +
      mdTable(
        ['repository', 'backup s', 'backup MB/s', 'restore s', 'restore MB/s', 'stored MB', 'peak RSS MB'],
        Object.entries(r.variants).map(([n, v]) => [n, v.backupSeconds, v.backupMBps, v.restoreSeconds, v.restoreMBps, v.storedMB, v.peakRssMB]),
      ) +
      `\n\nencryption overhead: backup ${backupPct} % (target ≤ ${TARGET_PCT} %: ${json.pass ? 'met' : 'NOT met'}), restore ${restorePct} % (for information)\n`;
    return { json, md };
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}
