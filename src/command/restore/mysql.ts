// `dbtool restore` of a MySQL/MariaDB source: materialise the chain (full, then each increment),
// prepare the full and apply each increment, hand the directory to the server's user, optionally
// start the server on 127.0.0.1, and replay archived binlogs up to a recovery target.

import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dbtoolError } from '../../core/errors.js';
import { chownTree } from '../../core/os-user.js';
import type { OsUser } from '../../core/os-user.js';
import type { Reporter } from '../../core/reporter.js';
import { binlogDatetime, replayBinlogs } from '../../engine/mysql/binlog-replay.js';
import type { MysqlConnectionOptions } from '../../engine/mysql/connection.js';
import { startMysqld } from '../../engine/mysql/instance.js';
import { prepareBackup } from '../../engine/mysql/prepare.js';
import { listBinlogs, writeBinlogFile } from '../../repo/binlog-archive.js';
import type { ArchivedBinlog } from '../../repo/binlog-archive.js';
import { materialise } from '../../repo/materialise.js';
import { loadManifests } from '../../repo/manifest.js';
import type { Manifest } from '../../repo/manifest.js';
import type { Repository } from '../../repo/repository.js';
import { chainOf, chooseMysqlBackup, planMysqlPitr } from './mysql-plan.js';
import type { MysqlPitrPlan, MysqlTarget } from './mysql-plan.js';

export interface MysqlRestoreOptions {
  repo: Repository;
  source: string;
  targetDir: string;
  label?: string;
  force: boolean;
  /** replay archived binlogs up to here (needs start) */
  target: MysqlTarget;
  start?: { port: number };
  /** user/password for the restored server's client connection when replaying (its socket is ours) */
  replayAs: Pick<MysqlConnectionOptions, 'user' | 'password'>;
  /** owner of the restored files and the server's OS user when running as root */
  owner: OsUser | undefined;
  reporter: Reporter;
}

export interface MysqlRestoreResult {
  label: string;
  /** the backups applied, full first */
  chain: string[];
  targetDir: string;
  files: number;
  bytes: number;
  binlog?: { file: string; position: number; gtid?: string };
  /** what was replayed after the backup */
  replay?: { files: string[]; from: string; stop: string };
  server?: { port: number; socket: string; pid: number };
}

const PID_FILE = 'mysqld.pid';

function serverRunningIn(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, PID_FILE), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function prepareTargetDir(dir: string, force: boolean): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw dbtoolError('TARGET_DIR_NOT_EMPTY', `target directory ${dir} is not a directory`, 'Choose a directory');
    if (code !== 'ENOENT') throw e;
  }
  if (names.length > 0) {
    if (!force) throw dbtoolError('TARGET_DIR_NOT_EMPTY', `target directory ${dir} is not empty`, 'Choose an empty directory, or pass --force to delete its contents first');
    if (!(await stat(dir)).isDirectory()) throw dbtoolError('TARGET_DIR_NOT_EMPTY', `target directory ${dir} is not a directory`, 'Choose a directory');
    if (serverRunningIn(dir)) throw dbtoolError('TARGET_DIR_NOT_EMPTY', `a MySQL server is running in target directory ${dir}`, 'Stop it first; --force never deletes a live data directory');
    for (const n of names) await rm(join(dir, n), { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

export async function restoreMysql(o: MysqlRestoreOptions): Promise<MysqlRestoreResult> {
  // 1. Decide before writing: the backup and its chain.
  const manifests = await loadManifests(o.repo, o.source);
  let pitr: MysqlPitrPlan | undefined;
  const archived = new Map<string, ArchivedBinlog>();
  if (o.target.kind !== 'none') {
    if (!o.start) throw dbtoolError('USAGE', 'a recovery target replays binlogs into the restored server, which needs --start and --port', 'Add --start --port PORT');
    for (const b of await listBinlogs(o.repo, o.source)) archived.set(b.name, b);
    pitr = planMysqlPitr(manifests, [...archived.values()].map((b) => ({ name: b.name, seq: b.seq, size: b.size, lastTime: new Date(b.lastTime), lastGtids: b.lastGtids })), o.target, o.label, o.source);
  }
  const chosen = pitr?.backup ?? chooseMysqlBackup(manifests, o.label, o.source);
  const chain = chainOf(chosen, manifests);
  const flavour = chosen.mysql!.flavour;
  const targetDir = resolve(o.targetDir);
  await prepareTargetDir(targetDir, o.force);
  o.reporter.info(`restore: backup ${chosen.label} (chain ${chain.map((m) => m.label).join(' → ')}) into ${targetDir}`);

  // 2. The full into the target, each increment into a work dir; prepare, then apply in order.
  const work = await mkdtemp(join(tmpdir(), 'dbtool-myrestore-'));
  let files = 0;
  let bytes = 0;
  try {
    const write = async (m: Manifest, dir: string) => {
      const progress = o.reporter.progress(`restore ${m.label}`, m.bytes.database);
      const r = await materialise({ repo: o.repo, manifest: m, progress, destination: (p) => join(dir, p) });
      progress.stop();
      files += r.files;
      bytes += r.bytes;
    };
    await write(chain[0]!, targetDir);
    await prepareBackup(targetDir, flavour, undefined, chain.length === 1);
    for (const [i, inc] of chain.slice(1).entries()) {
      const dir = join(work, `inc-${i}`);
      await write(inc, dir);
      o.reporter.info(`restore: applying ${inc.type} ${inc.label}`);
      await prepareBackup(targetDir, flavour, dir, i === chain.length - 2);
      await rm(dir, { recursive: true, force: true });
    }
  } catch (e) {
    // A half-prepared directory is no data directory: leave nothing that looks like one.
    await rm(targetDir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await chownTree(targetDir, o.owner);

  const result: MysqlRestoreResult = { label: chosen.label, chain: chain.map((m) => m.label), targetDir, files, bytes, ...(chosen.mysql?.binlog ? { binlog: chosen.mysql.binlog } : {}) };
  if (!o.start) return result;

  // 3. Start it; it keeps running after we exit.
  const socket = join(targetDir, 'mysqld.sock');
  o.reporter.info(`restore: starting the server on 127.0.0.1:${o.start.port}`);
  const handle = await startMysqld({
    dataDir: targetDir,
    port: o.start.port,
    socket,
    pidFile: join(targetDir, PID_FILE),
    logFile: join(targetDir, 'mysqld.err'),
    runAs: o.owner,
    flavour,
    defaultsFile: join(targetDir, 'backup-my.cnf'),
  });
  result.server = { port: handle.port, socket, pid: handle.pid };
  if (!pitr) return result;

  // 4. Replay the archived binlogs from the backup's coordinates to the target.
  const binlogDir = await mkdtemp(join(tmpdir(), 'dbtool-myreplay-'));
  try {
    const paths: string[] = [];
    for (const b of pitr.files) {
      const p = join(binlogDir, b.name);
      await writeBinlogFile(o.repo, o.source, archived.get(b.name)!, p);
      paths.push(p);
    }
    const stop =
      pitr.stop.kind === 'time' ? `events before ${binlogDatetime(pitr.stop.time)} UTC` : pitr.stop.kind === 'gtid' ? `GTID ${pitr.stop.gtid} (included)` : `${pitr.files[pitr.files.length - 1]!.name}:${pitr.stop.position}`;
    o.reporter.info(`restore: replaying ${pitr.files.map((b) => b.name).join(', ')} from position ${pitr.startPosition} up to ${stop}`);
    await replayBinlogs({ files: paths, startPosition: pitr.startPosition, stop: pitr.stop, connection: { socket, ...o.replayAs }, flavour });
    result.replay = { files: pitr.files.map((b) => b.name), from: `${pitr.files[0]!.name}:${pitr.startPosition}`, stop };
  } finally {
    await rm(binlogDir, { recursive: true, force: true });
  }
  return result;
}
