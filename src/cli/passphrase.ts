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

/** what was typed after the last answer of an earlier prompt (a fast typist, or a paste) */
let typedAhead = '';

function canPrompt(): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY;
}

/**
 * Ask on the terminal without echoing, one answer per question, in one raw-mode session (so an
 * answer typed ahead is kept for the next question); Ctrl-C aborts.
 */
export function promptHidden(...questions: string[]): Promise<string[]> {
  const input = process.stdin;
  const output = process.stderr;
  return new Promise((resolve, reject) => {
    const answers: string[] = [];
    let value = '';
    let lastWasCr = false;
    let done = false;
    const finish = (err?: unknown) => {
      done = true;
      input.removeListener('data', onData);
      input.setRawMode(false);
      input.pause();
      if (err) reject(err);
      else resolve(answers);
    };
    const onData = (chunk: string) => {
      const chars = [...chunk];
      for (let i = 0; i < chars.length; i++) {
        const ch = chars[i]!;
        const crlf = lastWasCr && ch === '\n';
        lastWasCr = ch === '\r';
        if (crlf) continue;
        if (ch === '\r' || ch === '\n') {
          output.write('\n');
          answers.push(value);
          value = '';
          if (answers.length === questions.length) {
            typedAhead = chars.slice(chars[i + 1] === '\n' && ch === '\r' ? i + 2 : i + 1).join('');
            return finish();
          }
          output.write(questions[answers.length]!);
        } else if (ch === '\u0003' || (ch === '\u0004' && value === '')) {
          output.write('\n');
          return finish(dbtoolError('ABORTED', 'no passphrase was entered', 'Run the command again'));
        } else if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
      return undefined;
    };
    // Echo off before the question shows: an answer typed at once must not be echoed.
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
    output.write(questions[0] ?? '');
    // Answers typed before an earlier prompt finished come first.
    const earlier = typedAhead;
    typedAhead = '';
    if (earlier !== '' && !done) onData(earlier);
  });
}

/** The passphrase of an existing repository; asked lazily, only when the repository is encrypted. */
export function passphraseProvider(p: PassphraseSettings): () => Promise<string> {
  return async () => {
    if (p.value !== undefined) return p.value;
    if (p.file !== undefined) return readPassphraseFile(p.file, 'DBTOOL_PASSPHRASE_FILE');
    if (canPrompt()) return (await promptHidden('Repository passphrase: '))[0]!;
    throw dbtoolError('PASSPHRASE_MISSING', 'the repository is encrypted and no passphrase was given', 'Set DBTOOL_PASSPHRASE, or DBTOOL_PASSPHRASE_FILE to a file whose first line is the passphrase');
  };
}

/** A passphrase being chosen (repo init --encrypt, repo passwd): from the environment, or typed twice. */
export async function choosePassphrase(valueVar: string, fileVar: string, value: string | undefined, file: string | undefined): Promise<string> {
  let chosen: string;
  if (value !== undefined) chosen = value;
  else if (file !== undefined) chosen = readPassphraseFile(file, fileVar);
  else if (canPrompt()) {
    const [first, again] = await promptHidden('New passphrase: ', 'Repeat the new passphrase: ');
    chosen = first!;
    if (again !== chosen) throw dbtoolError('PASSPHRASE_MISMATCH', 'the two passphrases differ', 'Run the command again and type the same passphrase twice');
  } else {
    throw dbtoolError('PASSPHRASE_MISSING', 'no passphrase was given for the new key', `Set ${valueVar}, or ${fileVar} to a file whose first line is the passphrase`);
  }
  if (chosen === '') throw dbtoolError('PASSPHRASE_MISSING', 'the passphrase is empty', 'Choose a non-empty passphrase');
  return chosen;
}
