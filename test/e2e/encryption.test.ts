// Encrypted repositories end to end with the built CLI: repo init --encrypt, archive_command
// reading the passphrase from a file in the server's environment, full backup, PITR by time,
// nothing in clear in the repository (a marker search, with an unencrypted control), and every
// bad case: wrong or missing passphrase, tampered chunk or manifest, swapped chunks, repo passwd.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chownTree, resolveRunAs } from '../../src/core/os-user.js';
import { openInstance } from '../../src/engine/postgres/instance.js';
import type { PgInstance } from '../../src/engine/postgres/instance.js';
import { dbtoolCommand, freePort, makeTempDir, repoRoot, runDbtool, stageDbtool, startCluster, switchAndArchive, tableChecksums } from '../harness/pg-cluster.js';
import type { TestCluster } from '../harness/pg-cluster.js';
import { assertOneLine } from '../harness/assert-one-line.js';

const runAs = resolveRunAs();
const PASSPHRASE = `pass-${randomBytes(8).toString('hex')}`;
const MARKER = `dbtool-marker-${randomBytes(8).toString('hex')}`;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out.sort();
}

/** Every object file of a repository that contains `needle`. */
async function filesContaining(repoDir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await filesUnder(repoDir)) if ((await readFile(f)).includes(needle)) hits.push(f);
  return hits;
}


describe('encrypted repository end to end', () => {
  let work: string;
  let repo: string;
  let passFile: string;
  let src: TestCluster;
  let env: Record<string, string>;
  let label: string;
  const restored: PgInstance[] = [];

  const dbtool = (args: string[], extraEnv: Record<string, string> = { DBTOOL_PASSPHRASE_FILE: passFile }, repoDir = repo) =>
    runDbtool(['--repo', repoDir, ...args], { env: { ...env, ...extraEnv } });

  /** A copy of the repository to damage, leaving the real one intact. */
  async function copyRepo(name: string): Promise<string> {
    const copy = join(work, name);
    await cp(repo, copy, { recursive: true, preserveTimestamps: true });
    await chownTree(copy, runAs);
    return copy;
  }

  before(async () => {
    const bin = await stageDbtool();
    work = await makeTempDir('dbtool-crypt-', runAs);
    repo = join(work, 'repo');
    passFile = join(work, 'passphrase');
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    if (runAs) await chown(passFile, runAs.uid, runAs.gid);
    // archive_command runs as the server's user in the server's environment: give it the file, not the secret.
    src = await startCluster({
      archiveCommand: `${dbtoolCommand(bin)} wal-push --repo ${repo} --source main %p`,
      env: { DBTOOL_PASSPHRASE_FILE: passFile },
    });
    env = { PGHOST: '127.0.0.1', PGPORT: String(src.port), PGUSER: 'postgres' };
    const init = await dbtool(['repo', 'init', '--encrypt', '--json']);
    assert.equal(init.code, 0, init.stderr);
    assert.equal((JSON.parse(init.stdout) as { encrypted: boolean }).encrypted, true);
    await src.query(`CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
      INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 5000) g;
      CREATE TABLE secrets (id int, note text);
      INSERT INTO secrets SELECT g, '${MARKER}' FROM generate_series(1, 50) g;
      CREATE TABLE markers (name text PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());`);
  });

  after(async () => {
    for (const inst of restored) await inst.stop('immediate').catch(() => undefined);
    await src?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('repo init --encrypt keeps no key and no chunk-id key in dbtool-repo.json', async () => {
    const config = JSON.parse(await readFile(join(repo, 'dbtool-repo.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config.idKey, undefined);
    assert.equal(config.format, 2);
    assert.equal((await readdir(join(repo, 'keys'))).length, 1);
    assert.deepEqual(await filesContaining(repo, PASSPHRASE), []);
  });

  it('backs up, archives WAL through archive_command, and restores to a point in time', async () => {
    const b = await dbtool(['backup', '--type', 'full', '--json']);
    assert.equal(b.code, 0, b.stderr);
    label = (JSON.parse(b.stdout) as { label: string }).label;
    await src.query("INSERT INTO markers (name) VALUES ('m1')");
    await sleep(1100);
    const [p] = await src.query<{ t: Date }>('SELECT clock_timestamp() AS t');
    const atPoint = await tableChecksums(src, 'postgres');
    await sleep(1100);
    await src.query("INSERT INTO markers (name) VALUES ('m2'); UPDATE accounts SET balance = balance + 1 WHERE id <= 100");
    await switchAndArchive(src);
    assert.ok((await readdir(join(repo, 'archive', 'main', '00000001'))).length > 0, 'WAL reached the encrypted repository');

    const port = await freePort();
    const target = join(work, 'pitr');
    const r = await dbtool(['restore', '--target-dir', target, '--to-time', p!.t.toISOString(), '--start', '--port', String(port), '--archive-mode', 'off']);
    assert.equal(r.code, 0, r.stderr);
    const inst = openInstance({ dataDir: target, port });
    restored.push(inst);
    assert.deepEqual((await inst.query<{ name: string }>('SELECT name FROM markers ORDER BY name')).map((x) => x.name), ['m1']);
    assert.deepEqual(await tableChecksums(inst, 'postgres'), atPoint);
    const auto = await readFile(join(target, 'postgresql.auto.conf'), 'utf8');
    assert.match(auto, new RegExp(`restore_command = 'DBTOOL_PASSPHRASE_FILE=${passFile} `));
    assert.ok(!auto.includes(PASSPHRASE), 'the passphrase is not written into the restored configuration');
  });

  it('a damaged WAL file that recovery needs stops recovery with an error instead of ending it early', async () => {
    const copy = await copyRepo('repo-tampered-wal');
    const dir = join(copy, 'archive', 'main', '00000001');
    const segments = (await readdir(dir)).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort();
    // The newest segment holds m2: a restore to the latest point must read it.
    const last = join(dir, segments.at(-1)!);
    const bytes = await readFile(last);
    bytes[bytes.length - 20]! ^= 0x01;
    await writeFile(last, bytes);
    const port = await freePort();
    const target = join(work, 'restore-tampered-wal');
    const r = await dbtool(['--quiet', 'restore', '--target-dir', target, '--start', '--port', String(port), '--archive-mode', 'off'], undefined, copy);
    restored.push(openInstance({ dataDir: target, port }));
    assertOneLine(r, 1, /recovery of .* (failed|stopped|exited)/);
  });

  it('verify --restore-test starts a scratch copy whose restore_command reads the passphrase file', async () => {
    const r = await dbtool(['verify', '--restore-test', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assertOneLine(await dbtool(['verify', '--restore-test'], { DBTOOL_PASSPHRASE: PASSPHRASE }), 2, /DBTOOL_PASSPHRASE_FILE/);
  });

  it('no object holds the marker in clear; the same backup into a plain uncompressed repository does', async () => {
    assert.deepEqual(await filesContaining(repo, MARKER), [], 'encrypted repository');
    assert.deepEqual(await filesContaining(repo, 'owner 4999'), [], 'encrypted repository');
    const plain = join(work, 'plain-repo');
    assert.equal((await dbtool(['repo', 'init', '--compress-level', '0'], {}, plain)).code, 0);
    const b = await dbtool(['backup', '--type', 'full'], {}, plain);
    assert.equal(b.code, 0, b.stderr);
    assert.ok((await filesContaining(plain, MARKER)).some((f) => f.includes('/chunks/')), 'the search finds the marker in a plain repository');
  });

  it('a missing or wrong passphrase: one clear line, exit 2', async () => {
    assertOneLine(await dbtool(['info'], {}), 2, /encrypted and no passphrase was given.*DBTOOL_PASSPHRASE\b.*DBTOOL_PASSPHRASE_FILE/);
    assertOneLine(await dbtool(['info'], { DBTOOL_PASSPHRASE: 'not it' }), 2, /passphrase does not open the encrypted repository/);
    assertOneLine(await dbtool(['backup'], { DBTOOL_PASSPHRASE: 'not it' }), 2, /passphrase does not open/);
    // The server's restore_command cannot be given the secret itself.
    const target = join(work, 'no-file');
    assertOneLine(await dbtool(['restore', '--target-dir', target], { DBTOOL_PASSPHRASE: PASSPHRASE }), 2, /DBTOOL_PASSPHRASE_FILE/);
    assert.equal(existsSync(target), false, 'nothing was restored');
  });

  it('a tampered chunk fails authentication naming it; nothing is started', async () => {
    const copy = await copyRepo('repo-tampered-chunk');
    const chunk = (await filesUnder(join(copy, 'chunks')))[0]!;
    const bytes = await readFile(chunk);
    bytes[bytes.length - 30]! ^= 0x01;
    await writeFile(chunk, bytes);
    const id = chunk.slice(chunk.lastIndexOf('/') + 1);
    const target = join(work, 'restore-tampered-chunk');
    const r = await dbtool(['--quiet', 'restore', '--target-dir', target, '--backup', label, '--immediate'], undefined, copy);
    assertOneLine(r, 1, new RegExp(`chunk ${id} of file \\S+ .*failed authentication`));
    assert.equal(existsSync(join(target, 'recovery.signal')), false, 'no recovery configured');
    const v = await dbtool(['verify', '--backup', label], undefined, copy);
    assert.equal(v.code, 1);
    assert.ok(v.stdout.includes(id), 'verify names the chunk');
  });

  it('chunk A copied under chunk B fails authentication naming B', async () => {
    const copy = await copyRepo('repo-swapped-chunk');
    const [a, b] = await filesUnder(join(copy, 'chunks'));
    await writeFile(b!, await readFile(a!));
    const id = b!.slice(b!.lastIndexOf('/') + 1);
    const r = await dbtool(['--quiet', 'restore', '--target-dir', join(work, 'restore-swapped'), '--backup', label, '--immediate'], undefined, copy);
    assertOneLine(r, 1, new RegExp(`chunk ${id} .*failed authentication`));
  });

  it('wal-get of an archived file copied under another name fails authentication naming it; nothing is written', async () => {
    const copy = await copyRepo('repo-swapped-wal');
    const dir = join(copy, 'archive', 'main', '00000001');
    const [a, b] = (await readdir(dir)).filter((n) => /^[0-9A-F]{24}$/.test(n));
    await writeFile(join(dir, b!), await readFile(join(dir, a!)));
    const dest = join(work, 'wal-out');
    assertOneLine(await dbtool(['wal-get', b!, dest], undefined, copy), 126, new RegExp(`archive/main/00000001/${b} .*failed authentication`));
    assert.equal(existsSync(dest), false, 'nothing was written');
    assert.equal((await dbtool(['wal-get', a!, dest], undefined, copy)).code, 0, 'the genuine one still reads');
  });

  it('a tampered manifest fails authentication naming it, before anything is written', async () => {
    const copy = await copyRepo('repo-tampered-manifest');
    const manifest = join(copy, 'backups', 'main', `${label}.manifest`);
    const bytes = await readFile(manifest);
    bytes[40]! ^= 0x01;
    await writeFile(manifest, bytes);
    const target = join(work, 'restore-tampered-manifest');
    const r = await dbtool(['restore', '--target-dir', target], undefined, copy);
    assertOneLine(r, 1, new RegExp(`backups/main/${label}\\.manifest .*failed authentication`));
    assert.equal(existsSync(target), false, 'nothing was restored');
    assertOneLine(await dbtool(['info'], undefined, copy), 1, /failed authentication/);
  });

  it('repo passwd: the old passphrase fails, the new one works, the data is untouched', async () => {
    const before = (await filesUnder(repo)).filter((f) => !f.includes('/keys/') && !f.includes('/locks/'));
    const newFile = join(work, 'new-passphrase');
    await writeFile(newFile, 'a new passphrase\n', { mode: 0o600 });
    if (runAs) await chown(newFile, runAs.uid, runAs.gid);
    const r = await dbtool(['repo', 'passwd'], { DBTOOL_PASSPHRASE_FILE: passFile, DBTOOL_NEW_PASSPHRASE_FILE: newFile });
    assert.equal(r.code, 0, r.stderr);
    assertOneLine(await dbtool(['info']), 2, /passphrase does not open/);
    const ok = await dbtool(['info', '--json'], { DBTOOL_PASSPHRASE: 'a new passphrase' });
    assert.equal(ok.code, 0, ok.stderr);
    const report = JSON.parse(ok.stdout) as { backups: unknown[]; encrypted: boolean };
    assert.equal(report.backups.length, 1);
    assert.equal(report.encrypted, true);
    assert.deepEqual((await filesUnder(repo)).filter((f) => !f.includes('/keys/') && !f.includes('/locks/')), before, 'no object was rewritten');
    assert.equal((await readdir(join(repo, 'keys'))).length, 1);
  });
});

/**
 * Run the built CLI on a pseudo-terminal (util-linux `script`), answering each prompt once it
 * appears; resolves with the exit code and the terminal transcript.
 */
function onTerminal(args: string[], answers: Array<[RegExp, string]>): Promise<{ code: number; transcript: string }> {
  const bin = join(repoRoot, 'dist', 'bin.js');
  const cmd = [process.execPath, bin, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return new Promise((res, rej) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { PATH: process.env.PATH ?? '', TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let transcript = '';
    let seen = 0;
    const pending = [...answers];
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      transcript += d;
      while (pending.length > 0) {
        const [prompt, answer] = pending[0]!;
        const m = prompt.exec(transcript.slice(seen));
        if (!m) break;
        seen += m.index + m[0].length;
        pending.shift();
        child.stdin.write(`${answer}\r`);
      }
    });
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? -1, transcript });
    });
  });
}

describe('passphrase prompt on a terminal', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('dbtool-prompt-');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('asks twice at init without echo, refuses two different answers, and asks once to open', async () => {
    const differ = await onTerminal(['--repo', join(dir, 'r1'), 'repo', 'init', '--encrypt'], [[/New passphrase: /, 'typed-secret-1'], [/Repeat the new passphrase: /, 'typed-secret-2']]);
    assert.equal(differ.code, 2, differ.transcript);
    assert.match(differ.transcript, /dbtool: the two passphrases differ/);
    assert.equal(existsSync(join(dir, 'r1', 'dbtool-repo.json')), false, 'no repository was created');

    const init = await onTerminal(['--repo', join(dir, 'r2'), 'repo', 'init', '--encrypt'], [[/New passphrase: /, 'typed-secret-1'], [/Repeat the new passphrase: /, 'typed-secret-1']]);
    assert.equal(init.code, 0, init.transcript);
    assert.ok(!init.transcript.includes('typed-secret'), 'the passphrase is not echoed');
    const info = await onTerminal(['--repo', join(dir, 'r2'), 'info'], [[/Repository passphrase: /, 'typed-secret-1']]);
    assert.equal(info.code, 0, info.transcript);
    assert.match(info.transcript, /no backups yet/);
    const wrong = await onTerminal(['--repo', join(dir, 'r2'), 'info'], [[/Repository passphrase: /, 'typed-secret-2']]);
    assert.equal(wrong.code, 2, wrong.transcript);
  });
});
