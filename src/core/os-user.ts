// The OS user that database servers run as: PostgreSQL refuses root, so root runs them as `postgres`.

import { execFileSync } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dbtoolError } from './errors.js';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function parsePasswdLine(line: string): OsUser | undefined {
  const f = line.split(':');
  if (f.length < 7) return undefined;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined;
  return { name: f[0] ?? '', uid, gid, home: f[5] || '/' };
}

/** Look a user up in /etc/passwd, then through NSS (`getent`) for LDAP/sssd users. */
export function lookupUser(name: string): OsUser | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      if (line.startsWith(`${name}:`)) return parsePasswdLine(line);
    }
  } catch {
    // no /etc/passwd: fall through to getent
  }
  try {
    const out = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return parsePasswdLine(out.trim());
  } catch {
    return undefined;
  }
}

/**
 * Who servers run as. Root: the named user (default `postgres`), because PostgreSQL refuses to run
 * as root. Anyone else: undefined, meaning "run as myself".
 */
export function resolveRunAs(name?: string): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const wanted = name ?? 'postgres';
  const user = lookupUser(wanted);
  if (!user) {
    throw dbtoolError(
      'USAGE',
      `running as root, and the OS user '${wanted}' to run the database server as does not exist`,
      `Create it (e.g. \`useradd --system --home-dir /var/lib/postgresql ${wanted}\`), or run dbtool as an unprivileged user`,
    );
  }
  if (user.uid === 0) {
    throw dbtoolError('USAGE', `the OS user '${wanted}' has uid 0, and PostgreSQL refuses to run as root`, 'Name an unprivileged user to run the server as');
  }
  return user;
}

/** Give a whole directory tree to `user` (no-op when undefined, i.e. when we run servers as ourselves). */
export async function chownTree(dir: string, user: OsUser | undefined): Promise<void> {
  if (!user) return;
  await lchown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    // lchown, never follow: a symlink (e.g. pg_tblspc/<oid>) must not hand over its target.
    if (entry.isDirectory()) await chownTree(p, user);
    else await lchown(p, user.uid, user.gid);
  }
}

/** spawn() options that run a child as `user` with a matching HOME/USER; just the env when undefined. */
export function spawnOptionsFor(user?: OsUser, env: NodeJS.ProcessEnv = process.env): Pick<SpawnOptions, 'uid' | 'gid' | 'env'> {
  if (!user) return { env: { ...env } };
  return {
    uid: user.uid,
    gid: user.gid,
    env: { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name },
  };
}
