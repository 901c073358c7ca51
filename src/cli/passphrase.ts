// Where an encrypted repository's passphrase comes from: DBTOOL_PASSPHRASE, the first line of the
// file DBTOOL_PASSPHRASE_FILE names, or a hidden prompt on a terminal; never a command-line argument.

import { readFileSync } from 'node:fs';
import { dbtoolError, messageOf } from '../core/errors.js';
import type { PassphraseSettings } from '../config/settings.js';

function readPassphraseFile(path: string, variable: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw dbtoolError('PASSPHRASE_MISSING', `cannot read the passphrase file ${path} named by ${variable} (${messageOf(e)})`, 'Check the path and that this OS user may read it');
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw dbtoolError('PASSPHRASE_MISSING', `the passphrase file ${path} named by ${variable} has an empty first line`, 'Put the passphrase on its first line');
  return line;
}

function canPrompt(): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY;
}

/** Ask on the terminal without echoing; Ctrl-C aborts. */
export function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: unknown) => {
      input.removeListener('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003' || (ch === '\u0004' && value === '')) return finish(dbtoolError('ABORTED', 'no passphrase was entered', 'Run the command again'));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
      return undefined;
    };
    output.write(question);
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}

/** The passphrase of an existing repository; asked lazily, only when the repository is encrypted. */
export function passphraseProvider(p: PassphraseSettings): () => Promise<string> {
  return async () => {
    if (p.value !== undefined) return p.value;
    if (p.file !== undefined) return readPassphraseFile(p.file, 'DBTOOL_PASSPHRASE_FILE');
    if (canPrompt()) return promptHidden('Repository passphrase: ');
    throw dbtoolError('PASSPHRASE_MISSING', 'the repository is encrypted and no passphrase was given', 'Set DBTOOL_PASSPHRASE, or DBTOOL_PASSPHRASE_FILE to a file whose first line is the passphrase');
  };
}

/** A passphrase being chosen (repo init --encrypt, repo passwd): from the environment, or typed twice. */
export async function choosePassphrase(valueVar: string, fileVar: string, value: string | undefined, file: string | undefined): Promise<string> {
  let chosen: string;
  if (value !== undefined) chosen = value;
  else if (file !== undefined) chosen = readPassphraseFile(file, fileVar);
  else if (canPrompt()) {
    chosen = await promptHidden('New passphrase: ');
    const again = await promptHidden('Repeat the new passphrase: ');
    if (again !== chosen) throw dbtoolError('PASSPHRASE_MISMATCH', 'the two passphrases differ', 'Run the command again and type the same passphrase twice');
  } else {
    throw dbtoolError('PASSPHRASE_MISSING', 'no passphrase was given for the new key', `Set ${valueVar}, or ${fileVar} to a file whose first line is the passphrase`);
  }
  if (chosen === '') throw dbtoolError('PASSPHRASE_MISSING', 'the passphrase is empty', 'Choose a non-empty passphrase');
  return chosen;
}
