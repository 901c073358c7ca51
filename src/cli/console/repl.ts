// The console's front: node:readline with line editing, history in a file, Tab completion and a
// prompt on a terminal; one command a line and no prompt when input is piped. An error prints
// one line and the console goes on; the number of failed commands is returned.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { dbtoolError, isDbtoolError, messageOf } from '../../core/errors.js';
import { complete, parseLine } from '../../command/console/grammar.js';
import type { ConsoleSession } from '../../command/console/session.js';
import { renderResult } from './render.js';

export interface ReplOptions {
  session: ConsoleSession;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
  errors: NodeJS.WritableStream;
  /** prompt, line editing, history and completion (a terminal) */
  interactive: boolean;
  historyFile: string;
}

export const HISTORY_SIZE = 1000;

/** `DBTOOL_HISTORY`, else ~/.dbtool_history. */
export function historyPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DBTOOL_HISTORY || join(homedir(), '.dbtool_history');
}

function loadHistory(file: string): string[] {
  try {
    // The file is oldest first; readline wants newest first.
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

function saveHistory(file: string, newestFirst: string[]): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${[...newestFirst].reverse().join('\n')}\n`, { mode: 0o600 });
  } catch {
    // History is a convenience: an unwritable file must not stop the console.
  }
}

function errorLine(e: unknown): string {
  if (isDbtoolError(e)) return `dbtool: ${e.oneLine()}\n`;
  return `dbtool: ${dbtoolError('INTERNAL', `unexpected failure: ${messageOf(e)}`, 'Run again with --debug and report it').oneLine()}\n`;
}

export async function runRepl(o: ReplOptions): Promise<{ failed: number }> {
  const out = (text: string) => o.output.write(text.endsWith('\n') ? text : `${text}\n`);
  const rl = o.interactive
    ? createInterface({
        input: o.input,
        output: o.output,
        terminal: true,
        prompt: 'dbtool> ',
        completer: complete,
        history: loadHistory(o.historyFile),
        historySize: HISTORY_SIZE,
        removeHistoryDuplicates: true,
      })
    : createInterface({ input: o.input, terminal: false });
  if (o.interactive) {
    rl.on('history', (h: string[]) => saveHistory(o.historyFile, h));
    rl.on('SIGINT', () => {
      rl.write(null, { ctrl: true, name: 'u' }); // Ctrl-C clears the line, as in a shell
      out('\n(type exit or press Ctrl-D to leave)');
      rl.prompt();
    });
    out('dbtool console: type help for the commands, exit or Ctrl-D to leave');
    rl.prompt();
  }
  let failed = 0;
  try {
    for await (const line of rl) {
      try {
        const cmd = parseLine(line);
        if (cmd.kind === 'exit') break;
        renderResult(await o.session.run(cmd), out);
      } catch (e) {
        failed++;
        o.errors.write(errorLine(e));
      }
      if (o.interactive) rl.prompt();
    }
  } finally {
    rl.close();
    if (o.interactive) out('');
    await o.session.close();
  }
  return { failed };
}
