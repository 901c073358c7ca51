// The console's command grammar (the seed's, kept exactly): one line → one typed command, help
// texts and tab completion. Pure: no I/O, unit-tested on its own.

import { dbtoolError } from '../../core/errors.js';

export type ConsoleCommand =
  | { kind: 'empty' }
  | { kind: 'full'; path?: string }
  | { kind: 'backup'; type: 'diff' | 'incr' }
  | { kind: 'sql'; query: string; extractDir?: string }
  | { kind: 'restore'; flags: RestoreFlags }
  | { kind: 'info' }
  | { kind: 'verify'; backup?: string }
  | { kind: 'help'; topic?: string }
  | { kind: 'exit' };

export interface RestoreFlags {
  targetDir: string;
  backup?: string;
  toTime?: string;
  toLsn?: string;
  toXid?: string;
  toName?: string;
  immediate?: boolean;
  force?: boolean;
  start?: boolean;
  port?: number;
  targetAction?: 'promote' | 'pause' | 'shutdown';
  archiveMode?: 'preserve' | 'off';
}

interface HelpEntry {
  usage: string;
  text: string;
}

/** Help per command, in the order `help` lists them; the keys are what `help <command>` takes. */
export const HELP: Record<string, HelpEntry> = {
  full: { usage: 'full database -path /path/to/backups', text: 'Full physical backup into the repository at that path (created there if it has none). Later commands use that repository.' },
  differential: { usage: 'differential backup', text: 'Backup whose parent is the newest full backup; needs a previous full backup.' },
  incremental: { usage: 'incremental backup', text: 'Backup whose parent is the newest backup; needs a previous full backup.' },
  sql: {
    usage: 'SQL <query> [-extract -path <dir>]',
    text: 'Run one statement and print its rows as a table (the first 100 shown, every row counted). With -extract -path, stream every row into a CSV file (RFC 4180, header row, NULL as an empty field, UTF-8) in <dir>.',
  },
  restore: {
    usage: 'restore -target-dir <dir> [-backup LABEL] [-to-time TS | -to-lsn LSN | -to-xid XID | -to-name NAME | -immediate] [-target-action promote|pause|shutdown] [-archive-mode preserve|off] [-force] [-start -port N]',
    text: 'Restore into a directory, as `dbtool restore` does (quote values with spaces).',
  },
  info: { usage: 'info', text: 'Backups, archive range and the restorable window of the repository.' },
  verify: { usage: 'verify [-backup LABEL]', text: 'Check every chunk against its id, the manifests, each backup\'s WAL and archive holes.' },
  help: { usage: 'help [command]', text: 'This list, or the help of one command.' },
  exit: { usage: 'exit', text: 'Leave the console (Ctrl-D too).' },
};

/** What Tab offers at the start of a line. */
export const COMPLETIONS = ['full database -path ', 'differential backup', 'incremental backup', 'SQL ', 'restore -target-dir ', 'info', 'verify', 'help', 'exit'];

/** readline's completer: the commands that extend what was typed (case-insensitive). */
export function complete(line: string): [string[], string] {
  const lower = line.toLowerCase();
  if (/^help\s+/i.test(line)) {
    const partial = line.replace(/^help\s+/i, '').toLowerCase();
    const hits = Object.keys(HELP).filter((k) => k.startsWith(partial)).map((k) => `help ${k}`);
    return [hits, line];
  }
  const hits = COMPLETIONS.filter((c) => c.toLowerCase().startsWith(lower) && c.length > line.length);
  return [hits, line];
}

function usage(message: string, topic?: string): never {
  throw dbtoolError('USAGE', message, topic && HELP[topic] ? `Usage: ${HELP[topic].usage}` : 'Type help for the commands');
}

/** Split on blanks; '…' and "…" group words (no escapes inside: paths and times do not need them). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  if (/["']/.test(text.replace(/"[^"]*"|'[^']*'/g, ''))) usage('a quote is not closed');
  return out;
}

/** `-name value` / `--name value` pairs and `-flag` switches, checked against what is allowed. */
function parseFlags(words: string[], valued: string[], switches: string[], topic: string): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const name = /^--?([a-z][a-z-]*)$/i.exec(w)?.[1]?.toLowerCase();
    if (!name) usage(`unexpected '${w}'`, topic);
    if (switches.includes(name)) flags.set(name, true);
    else if (valued.includes(name)) {
      const v = words[++i];
      if (v === undefined) usage(`-${name} needs a value`, topic);
      flags.set(name, v);
    } else usage(`unknown option -${name} for ${topic}`, topic);
  }
  return flags;
}

const SQL_EXTRACT = /\s+-extract\s+-path\s+("[^"]*"|'[^']*'|[^\s;]+)\s*;?\s*$/i;

export function parseLine(line: string): ConsoleCommand {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return { kind: 'empty' };
  const head = /^\S+/.exec(text)![0].toLowerCase();
  const rest = text.slice(head.length).trim();

  if (head === 'sql') {
    if (rest === '') usage('SQL needs a query', 'sql');
    const m = SQL_EXTRACT.exec(' ' + rest);
    if (m) {
      const query = (' ' + rest).slice(0, m.index).trim();
      if (query === '') usage('SQL needs a query before -extract', 'sql');
      return { kind: 'sql', query, extractDir: tokenize(m[1]!)[0]! };
    }
    if (/\s-extract\b/i.test(' ' + rest)) usage('-extract needs -path <dir> at the end of the line', 'sql');
    return { kind: 'sql', query: rest };
  }

  const words = tokenize(text);
  const lower = words.map((w) => w.toLowerCase());
  switch (head) {
    case 'full': {
      if (lower[1] !== 'database') usage(`say 'full database -path <dir>'`, 'full');
      const flags = parseFlags(words.slice(2), ['path'], [], 'full');
      const path = flags.get('path');
      return typeof path === 'string' ? { kind: 'full', path } : { kind: 'full' };
    }
    case 'differential':
    case 'incremental':
      if (words.length !== 2 || lower[1] !== 'backup') usage(`say '${head} backup'`, head);
      return { kind: 'backup', type: head === 'differential' ? 'diff' : 'incr' };
    case 'info':
      if (words.length > 1) usage('info takes no arguments', 'info');
      return { kind: 'info' };
    case 'verify': {
      const flags = parseFlags(words.slice(1), ['backup'], [], 'verify');
      const b = flags.get('backup');
      return typeof b === 'string' ? { kind: 'verify', backup: b } : { kind: 'verify' };
    }
    case 'restore':
      return { kind: 'restore', flags: restoreFlags(words.slice(1)) };
    case 'help':
    case '?': {
      if (words.length > 2) usage('help takes one command name', 'help');
      const topic = lower[1];
      if (topic === undefined) return { kind: 'help' };
      const key = topic === 'database' ? 'full' : topic;
      if (!HELP[key]) usage(`no command '${topic}'`);
      return { kind: 'help', topic: key };
    }
    case 'exit':
    case 'quit':
    case '\\q':
      return { kind: 'exit' };
    default:
      return usage(`unknown command '${words[0]}'`);
  }
}

function restoreFlags(words: string[]): RestoreFlags {
  const f = parseFlags(words, ['target-dir', 'backup', 'to-time', 'to-lsn', 'to-xid', 'to-name', 'port', 'target-action', 'archive-mode'], ['immediate', 'force', 'start'], 'restore');
  const str = (k: string) => {
    const v = f.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const targetDir = str('target-dir');
  if (!targetDir) usage('restore needs -target-dir <dir>', 'restore');
  const out: RestoreFlags = { targetDir };
  const copy = { backup: 'backup', toTime: 'to-time', toLsn: 'to-lsn', toXid: 'to-xid', toName: 'to-name' } as const;
  for (const [k, flag] of Object.entries(copy) as Array<[keyof typeof copy, string]>) {
    const v = str(flag);
    if (v !== undefined) out[k] = v;
  }
  if (f.has('immediate')) out.immediate = true;
  if (f.has('force')) out.force = true;
  if (f.has('start')) out.start = true;
  const port = str('port');
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) usage(`-port must be a number from 1 to 65535, not '${port}'`, 'restore');
    out.port = Number(port);
  }
  if (out.start && out.port === undefined) usage('-start needs -port', 'restore');
  const action = str('target-action');
  if (action !== undefined) {
    if (action !== 'promote' && action !== 'pause' && action !== 'shutdown') usage(`-target-action must be promote, pause or shutdown, not '${action}'`, 'restore');
    out.targetAction = action;
  }
  const archiveMode = str('archive-mode');
  if (archiveMode !== undefined) {
    if (archiveMode !== 'preserve' && archiveMode !== 'off') usage(`-archive-mode must be preserve or off, not '${archiveMode}'`, 'restore');
    out.archiveMode = archiveMode;
  }
  return out;
}

/** The text `help` prints. */
export function helpText(topic?: string): string {
  if (topic) {
    const h = HELP[topic]!;
    return `${h.usage}\n  ${h.text}`;
  }
  const width = Math.max(...Object.values(HELP).map((h) => Math.min(h.usage.length, 40)));
  return ['commands:', ...Object.values(HELP).map((h) => `  ${(h.usage.length > 40 ? h.usage.slice(0, 37) + '...' : h.usage).padEnd(width)}  ${h.text.split('. ')[0]!.replace(/\.$/, '')}`), 'help <command> for details; Tab completes commands.'].join('\n');
}
