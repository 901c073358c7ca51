// A physical MySQL/MariaDB backup: mariabackup/xtrabackup --backup --stream spawned, its stdout
// parsed chunk by chunk and handed on file by file, never written to disk here.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dbtoolError, isDbtoolError } from '../../core/errors.js';
import { requireTool } from './binaries.js';
import { BufferChannel } from './channel.js';
import { describeMysql, writeToolOptionFile } from './connection.js';
import type { MysqlConnectionOptions } from './connection.js';
import { FLAVOURS } from './flavours.js';
import type { MysqlFlavour } from './flavours.js';
import { readXbstream } from './xbstream.js';

export interface PhysicalBackupOptions {
  connection: MysqlConnectionOptions;
  flavour: MysqlFlavour;
  /** take an incremental backup of the pages changed after this LSN (the parent's to_lsn) */
  incrementalLsn?: string;
}

/** One file of the backup; `data` must be read to its end. */
export interface StreamedFile {
  path: string;
  data: AsyncIterable<Buffer>;
}

export interface PhysicalBackupResult {
  /** the small metadata files at the top of the backup (checkpoints, binlog info), by name */
  meta: Map<string, Buffer>;
  /** the backup tool's path */
  tool: string;
}

const META_LIMIT = 64 * 1024;

function lastLines(text: string, n: number): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(-n).join(' | ');
}

function toolFailure(tool: string, code: number | null, stderr: string, o: MysqlConnectionOptions): Error {
  if (/Access denied for user/i.test(stderr)) {
    return dbtoolError('SERVER_AUTH', `authentication as '${o.user ?? 'root'}' to MySQL at ${describeMysql(o)} failed (${tool})`, 'Check the user and password (DB_USER, DB_PASSWORD or the config file)');
  }
  if (/Can't connect|Failed to connect/i.test(stderr)) {
    return dbtoolError('SERVER_UNREACHABLE', `${tool} cannot reach MySQL at ${describeMysql(o)}: ${lastLines(stderr, 2)}`, 'Check that the server runs on this host and that DB_HOST/DB_PORT or DB_SOCKET are right');
  }
  return dbtoolError('TOOL_FAILED', `${tool} failed (exit ${code}): ${lastLines(stderr, 3)}`, 'See the message above; mariabackup/xtrabackup must run on the database host with read access to the data directory');
}

/** The backup tool's path; TOOL_MISSING (naming the package) when it is not installed. */
export function backupTool(flavour: MysqlFlavour): string {
  const fl = FLAVOURS[flavour];
  return requireTool(fl.backup, 'the backup tool', fl.backupPackage);
}

/**
 * Run the backup; `onFile` is called for each file as its first chunk arrives (possibly while an
 * earlier file is still open, when the tool interleaves) and must consume `data` to its end.
 */
export async function runPhysicalBackup(o: PhysicalBackupOptions, onFile: (f: StreamedFile) => Promise<void>): Promise<PhysicalBackupResult> {
  const fl = FLAVOURS[o.flavour];
  const tool = backupTool(o.flavour);
  const optionFile = await writeToolOptionFile(o.connection);
  // The tool keeps a few temporary files in its target dir even when streaming.
  const scratch = await mkdtemp(join(tmpdir(), 'dbtool-mybackup-'));
  const metaNames = new Set([fl.checkpointsFile, ...fl.binlogInfoFiles, 'xtrabackup_info', 'mariadb_backup_info']);
  const meta = new Map<string, Buffer>();
  try {
    const args = [optionFile.arg, '--backup', `--stream=${fl.streamFormat}`, `--target-dir=${scratch}`, ...fl.backupFlags];
    if (o.incrementalLsn !== undefined) args.push(`--incremental-lsn=${o.incrementalLsn}`);
    const child = spawn(tool, args, { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-65536);
    });
    const exit = new Promise<number | null>((resolve, reject) => {
      child.on('error', (e) => reject(dbtoolError('TOOL_MISSING', `cannot run ${tool} (${e.message})`, `Install the ${fl.backupPackage} package`, e)));
      child.on('close', (code) => resolve(code));
    });
    exit.catch(() => undefined);

    const open = new Map<string, { ch: BufferChannel; done: Promise<void> }>();
    const finished = new Set<string>();
    const startFile = (path: string) => {
      // The path becomes a file under the restore directory: never absolute, never upwards.
      if (path.startsWith('/') || path.split('/').some((p) => p === '..' || p === '')) {
        throw dbtoolError('SERVER_PROTOCOL', `the backup stream names a file outside the backup ('${path}')`, 'Check the backup tool; retry the backup');
      }
      if (finished.has(path)) throw dbtoolError('SERVER_PROTOCOL', `the backup stream sent ${path} twice`, 'Retry the backup; report a bug if it persists');
      const ch = new BufferChannel();
      const done = onFile({ path, data: ch });
      done.catch((e: unknown) => ch.abort(e));
      const entry = { ch, done };
      open.set(path, entry);
      return entry;
    };
    try {
      for await (const c of readXbstream(child.stdout)) {
        const f = open.get(c.path) ?? startFile(c.path);
        if (c.type === 'eof') {
          f.ch.end();
          open.delete(c.path);
          finished.add(c.path);
          await f.done;
          continue;
        }
        if (c.offset < f.ch.written) throw dbtoolError('SERVER_PROTOCOL', `the backup stream went back in ${c.path} (offset ${c.offset} after ${f.ch.written} bytes)`, 'Retry the backup');
        // A jump forward is a hole: zeros, as the tool's own extractor leaves it.
        if (c.offset > f.ch.written) await f.ch.push(Buffer.alloc(c.offset - f.ch.written));
        if (!c.path.includes('/') && metaNames.has(c.path)) {
          const prev = meta.get(c.path) ?? Buffer.alloc(0);
          if (prev.length + c.data.length <= META_LIMIT) meta.set(c.path, Buffer.concat([prev, c.data]));
        }
        await f.ch.push(c.data);
      }
    } catch (e) {
      child.kill('SIGTERM');
      for (const f of open.values()) f.ch.abort(e);
      const code = await exit.catch(() => null);
      // A stream that broke because the tool failed: the tool's message is the one to show.
      if (code !== 0 && code !== null && !isDbtoolError(e)) throw toolFailure(tool, code, stderr, o.connection);
      throw e;
    }
    const code = await exit;
    if (code !== 0) throw toolFailure(tool, code, stderr, o.connection);
    if (open.size > 0) throw dbtoolError('SERVER_PROTOCOL', `the backup stream ended with ${open.size} file(s) unfinished (${[...open.keys()][0]})`, 'Retry the backup');
    return { meta, tool };
  } finally {
    await optionFile.remove();
    await rm(scratch, { recursive: true, force: true });
  }
}
