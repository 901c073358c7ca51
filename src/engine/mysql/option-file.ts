// Connection values from a MySQL option file's [client] group (and [mysql], [mariadb],
// [client-server], [client-mariadb]), so the SQL connection sees what the tools see.

import { readFileSync } from 'node:fs';
import { dbtoolError, messageOf } from '../../core/errors.js';

export interface OptionFileConnection {
  host?: string;
  port?: number;
  socket?: string;
  user?: string;
  password?: string;
}

const GROUPS = new Set(['client', 'mysql', 'mariadb', 'client-server', 'client-mariadb']);

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t[t.length - 1] === t[0]) return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t.replace(/\s+#.*$/, '');
}

export function parseOptionFile(text: string): OptionFileConnection {
  const out: OptionFileConnection = {};
  let inGroup = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';') || line.startsWith('!')) continue;
    const g = /^\[([^\]]+)\]$/.exec(line);
    if (g) {
      inGroup = GROUPS.has(g[1]!.trim().toLowerCase());
      continue;
    }
    if (!inGroup) continue;
    const m = /^([A-Za-z0-9_-]+)\s*(?:=\s*(.*))?$/.exec(line);
    if (!m) continue;
    const key = m[1]!.replace(/_/g, '-').toLowerCase();
    const value = unquote(m[2] ?? '');
    if (key === 'host') out.host = value;
    else if (key === 'port' && /^\d+$/.test(value)) out.port = Number(value);
    else if (key === 'socket') out.socket = value;
    else if (key === 'user') out.user = value;
    else if (key === 'password') out.password = value;
  }
  return out;
}

export function readOptionFile(path: string): OptionFileConnection {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw dbtoolError('CONFIG_INVALID', `cannot read the MySQL option file ${path} (${messageOf(e)})`, 'Check DB_DEFAULTS_FILE / defaultsFile');
  }
  return parseOptionFile(text);
}
