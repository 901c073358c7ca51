// Prepare a restored physical backup with mariabackup/xtrabackup: the full first, then each
// increment applied on top (--incremental-dir), leaving a consistent data directory.

import { spawn } from 'node:child_process';
import { dbtoolError } from '../../core/errors.js';
import { requireTool } from './binaries.js';
import { FLAVOURS } from './flavours.js';
import type { MysqlFlavour } from './flavours.js';

function lastLines(text: string, n: number): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}

/**
 * `--prepare` the backup in `dir`; with `incrementalDir`, apply that increment to it. `last`: no
 * increment follows (xtrabackup then rolls back uncommitted transactions; before, it must not).
 */
export async function prepareBackup(dir: string, flavour: MysqlFlavour, incrementalDir: string | undefined, last: boolean): Promise<void> {
  const fl = FLAVOURS[flavour];
  const tool = requireTool(fl.backup, 'the backup tool', fl.backupPackage);
  // No option files but the backup's own: the host's my.cnf must not steer the prepare.
  const args = ['--no-defaults', '--prepare', `--target-dir=${dir}`];
  if (incrementalDir) args.push(`--incremental-dir=${incrementalDir}`);
  if (!last && fl.applyLogOnlyBeforeLast) args.push('--apply-log-only');
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(tool, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-65536)));
    child.on('error', (e) => reject(dbtoolError('TOOL_MISSING', `cannot run ${tool} (${e.message})`, `Install the ${fl.backupPackage} package`, e)));
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  if (code !== 0) {
    throw dbtoolError('TOOL_FAILED', `${tool} --prepare${incrementalDir ? ' --incremental-dir' : ''} of ${dir} failed (exit ${code}): ${lastLines(stderr, 3)}`, 'The backup may be damaged: run `dbtool verify`, or restore another backup');
  }
}
