// Test harness: throw-away PostgreSQL clusters on free ports, row checksums, and the built CLI staged for the postgres user.

import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stageSelf } from '../../src/command/lab/stage.js';
import { freePort } from '../../src/core/free-port.js';
import { onProcessExit } from '../../src/core/on-process-exit.js';
import { resolveRunAs, spawnOptionsFor } from '../../src/core/os-user.js';
import type { OsUser } from '../../src/core/os-user.js';
import { pgBin } from '../../src/engine/postgres/binaries.js';
import { initCluster, startInstance } from '../../src/engine/postgres/instance.js';
import type { PgInstance } from '../../src/engine/postgres/instance.js';
import { killAndRemove } from './kill-and-remove.js';

/** The repository root: this file is <root>/test/harness/pg-cluster.ts. */
export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface TestCluster extends PgInstance {
  /** the cluster's temp dir: data/ and its log, the socket, room for tablespaces and restores */
  baseDir: string;
  /** run SQL through psql (several statements, each in its own transaction); unaligned tuples-only output */
  psql(sql: string, database?: string): Promise<string>;
  /** stop immediately and delete baseDir; safe to call twice */
  destroy(): Promise<void>;
}

export interface StartClusterOptions {
  walLevel?: 'minimal' | 'replica' | 'logical';
  archiveCommand?: string;
  /** extra postgresql.conf lines; win over the defaults */
  settings?: Record<string, string>;
  /** added to the server's environment, which archive_command inherits (ours without PG*, DB_* and DBTOOL_*) */
  env?: Record<string, string>;
}

export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A postgresql.conf value: always quoted, which PostgreSQL accepts for every type. */
function confValue(v: string): string {
  return `'${v.replaceAll("'", "''")}'`;
}

/** Our environment without anything that could point a child at another server or repository. */
function cleanEnv(): Record<string, string> {
  const dbEnv = new Set(['DB_HOST', 'DB_PORT', 'DB_USER', 'DB_PASSWORD', 'DB_NAME', 'DB_ENGINE']);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('PG') || k.startsWith('DBTOOL_') || dbEnv.has(k)) continue;
    out[k] = v;
  }
  return out;
}

// Servers are detached (they outlive us): at exit, those still here are stopped and their dirs deleted.
const live = new Map<string, string>(); // baseDir → dataDir
const stagedDirs: string[] = [];
let hooked = false;

/** SIGQUIT (immediate shutdown) the postmaster, wait briefly, delete the dir. */
function stopAndRemove(baseDir: string, dataDir: string): void {
  killAndRemove(baseDir, join(dataDir, 'postmaster.pid'), 'SIGQUIT');
  live.delete(baseDir);
}

function installExitHook(): void {
  if (hooked) return;
  hooked = true;
  onProcessExit(() => {
    for (const [baseDir, dataDir] of [...live]) stopAndRemove(baseDir, dataDir);
    for (const dir of stagedDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
}

export { freePort };

/** mkdtemp under /tmp, mode 0755 (so other users can traverse it), owned by `owner` when given. */
export async function makeTempDir(prefix: string, owner?: OsUser): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  if (owner) await chown(dir, owner.uid, owner.gid);
  return dir;
}

/** initdb + configure + start a fresh cluster in a temp dir, as `postgres` when we are root. */
export async function startCluster(opts: StartClusterOptions = {}): Promise<TestCluster> {
  installExitHook();
  const runAs = resolveRunAs();
  const baseDir = await makeTempDir('dbtool-pg-', runAs);
  const dataDir = join(baseDir, 'data');
  live.set(baseDir, dataDir);
  try {
    const port = await freePort();
    await initCluster({ dataDir, runAs, noSync: true });
    const walLevel = opts.walLevel ?? 'replica';
    const conf: Record<string, string> = {
      port: String(port),
      listen_addresses: '127.0.0.1',
      unix_socket_directories: baseDir,
      wal_level: walLevel,
      max_wal_senders: walLevel === 'minimal' ? '0' : '10',
      fsync: 'off',
      shared_buffers: '16MB',
      max_connections: '30',
      log_min_messages: 'warning',
      ...(opts.archiveCommand ? { archive_mode: 'on', archive_command: opts.archiveCommand } : {}),
      ...opts.settings,
    };
    const lines = Object.entries(conf).map(([k, v]) => `${k} = ${confValue(v)}`);
    await appendFile(join(dataDir, 'postgresql.conf'), `\n# test harness\n${lines.join('\n')}\n`);
    await writeFile(
      join(dataDir, 'pg_hba.conf'),
      [
        'local all all trust',
        'host all all 127.0.0.1/32 trust',
        'local replication all trust',
        'host replication all 127.0.0.1/32 trust',
        '',
      ].join('\n'),
    );
    // Settings live in postgresql.conf (not -c) so a restart or a restored copy sees the same ones.
    const instance = await startInstance({ dataDir, port, socketDir: baseDir, runAs, env: { ...cleanEnv(), ...opts.env }, wait: 'ready' });
    const cluster: TestCluster = {
      ...instance,
      baseDir,
      psql: (sql, database) => runPsql(instance, sql, database ?? 'postgres'),
      async destroy() {
        if (!live.has(baseDir)) return;
        await instance.stop('immediate').catch(() => undefined);
        await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
        live.delete(baseDir);
      },
    };
    return cluster;
  } catch (e) {
    stopAndRemove(baseDir, dataDir);
    throw e;
  }
}

async function runPsql(instance: PgInstance, sql: string, database: string): Promise<string> {
  const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', instance.host, '-p', String(instance.port), '-U', 'postgres', '-d', database, '-f', '-'];
  return new Promise((res, rej) => {
    const child = spawn(pgBin('psql'), args, { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code) => (code === 0 ? res(stdout.trimEnd()) : rej(new Error(`psql failed (exit ${code}): ${stderr.trim()}`))));
    child.stdin.end(sql);
  });
}

/**
 * Per user table (relkind r, permanent: a restore empties unlogged tables by design):
 * `{ 'schema.table': '<rows>:<md5 of the rows as text, sorted>' }`.
 */
export async function tableChecksums(instance: Pick<PgInstance, 'query'>, database: string): Promise<Record<string, string>> {
  const tables = await instance.query<{ name: string; qname: string }>(
    `SELECT n.nspname || '.' || c.relname AS name, format('%I.%I', n.nspname, c.relname) AS qname
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relpersistence = 'p'
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'
      ORDER BY 1`,
    [],
    database,
  );
  const out: Record<string, string> = {};
  for (const t of tables) {
    const [row] = await instance.query<{ n: string; h: string }>(
      `SELECT count(*)::text AS n, coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), md5('')) AS h FROM ${t.qname} AS t`,
      [],
      database,
    );
    out[t.name] = `${row?.n ?? '0'}:${row?.h ?? ''}`;
  }
  return out;
}

/**
 * `pg_verifybackup -n` over a restored data directory that has not been started, as the servers'
 * OS user: every file's size and CRC-32C checked against the server's own backup_manifest (index,
 * FSM and VM files too, which table checksums do not read). `ignore`: paths it skips. Rejects
 * with its output on failure.
 */
export async function verifyRestoredFiles(dataDir: string, ignore: string[] = []): Promise<void> {
  const args = ['--no-parse-wal', ...ignore.flatMap((p) => ['--ignore', p]), dataDir];
  const child = spawn(pgBin('pg_verifybackup'), args, { ...spawnOptionsFor(resolveRunAs(), cleanEnv()), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', res);
  });
  if (code !== 0) throw new Error(`pg_verifybackup ${dataDir} failed (exit ${code}): ${output.trim()}`);
}

let staged: Promise<string> | undefined;

/**
 * A copy of dist/, package.json and node_modules/ that everyone can read, once per process, so the
 * postgres user can run the CLI from archive_command even when the checkout is under /root.
 * Returns the staged dist/bin.js.
 */
export function stageDbtool(): Promise<string> {
  staged ??= (async () => {
    const bin = join(repoRoot, 'dist', 'bin.js');
    if (!existsSync(bin)) throw new Error(`${bin} does not exist: build first (npm run build)`);
    installExitHook();
    const copy = await stageSelf(bin, undefined);
    stagedDirs.push(copy.dir);
    return copy.entry;
  })();
  staged.catch(() => (staged = undefined));
  return staged;
}

/** The shell words that run the staged CLI, for archive_command/restore_command. */
export function dbtoolCommand(stagedBin: string): string {
  return `${shellQuote(process.execPath)} ${shellQuote(stagedBin)}`;
}

export interface RunDbtoolOptions {
  /** added to a clean environment (no DBTOOL_*, PG*, DB_* from ours) */
  env?: Record<string, string>;
  /** default: postgres when root (the user archive_command runs as); pass undefined to run as ourselves */
  asUser?: OsUser | undefined;
  /** default: the staged dir (no stray .env there) */
  cwd?: string;
  /** default 300 s; the child is killed and the promise rejects when exceeded */
  timeoutMs?: number;
  /** written to stdin */
  input?: string;
}

/** Run the staged CLI; resolves with its exit code and output (a non-zero code does not reject). */
export async function runDbtool(args: string[], opts: RunDbtoolOptions = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = await stageDbtool();
  const user = 'asUser' in opts ? opts.asUser : resolveRunAs();
  const cwd = opts.cwd ?? resolve(bin, '..', '..');
  const timeoutMs = opts.timeoutMs ?? 300_000;
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [bin, ...args], {
      ...spawnOptionsFor(user, { ...cleanEnv(), ...opts.env }),
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        rej(new Error(`dbtool ${args.join(' ')} timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      res({ code: code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0), stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // the CLI may exit without reading stdin
    child.stdin.end(opts.input ?? '');
  });
}

/** A cluster archiving WAL into a fresh dbtool repository, and the CLI pointed at both. */
export interface ArchivingFixture {
  /** a temp dir owned by the server's user: the repository and restores go here */
  work: string;
  repo: string;
  src: TestCluster;
  /** libpq variables that reach `src` */
  env: Record<string, string>;
  /** the staged CLI with `--repo <repo>` and `env` (plus extra variables) */
  dbtool(args: string[], extraEnv?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  destroy(): Promise<void>;
}

export async function archivingFixture(prefix: string, opts: Omit<StartClusterOptions, 'archiveCommand'> = {}): Promise<ArchivingFixture> {
  const bin = await stageDbtool();
  const work = await makeTempDir(prefix, resolveRunAs());
  const repo = join(work, 'repo');
  const src = await startCluster({ ...opts, archiveCommand: `${dbtoolCommand(bin)} wal-push --repo ${repo} --source main %p` });
  const env = { PGHOST: '127.0.0.1', PGPORT: String(src.port), PGUSER: 'postgres' };
  const dbtool = (args: string[], extraEnv: Record<string, string> = {}) => runDbtool(['--repo', repo, ...args], { env: { ...env, ...extraEnv } });
  const init = await dbtool(['repo', 'init']);
  if (init.code !== 0) throw new Error(`repo init failed: ${init.stderr}`);
  return {
    work,
    repo,
    src,
    env,
    dbtool,
    destroy: async () => {
      await src.destroy();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** Switch to a new WAL segment and wait until the archiver has pushed everything; the segment's name. */
export async function switchAndArchive(cluster: Pick<PgInstance, 'query'>, timeoutMs = 60_000): Promise<string> {
  const [sw] = await cluster.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [r] = await cluster.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'");
    if (r?.n === '0') return sw!.f;
    if (Date.now() > deadline) throw new Error(`the archiver did not catch up within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
