// The console on a pseudo-terminal (util-linux `script`): prompt, Tab completion, history kept in
// a file and recalled with the Up arrow in the next session, Ctrl-D to leave.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../harness/pg-cluster.js';

// eslint-disable-next-line no-control-regex -- terminal escape sequences are control characters
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r/g;

interface Tty {
  child: ChildProcessWithoutNullStreams;
  /** everything the terminal showed, escape sequences removed */
  screen(): string;
  /** resolve once the screen (after `from`) matches */
  waitFor(re: RegExp, from?: number): Promise<void>;
  exited: Promise<number | null>;
}

function openTty(historyFile: string): Tty {
  const cmd = `${process.execPath} ${join(repoRoot, 'dist', 'bin.js')} --config env console`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm', HOME: tmpdir(), DBTOOL_HISTORY: historyFile } });
  let raw = '';
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    raw += d;
    for (const w of waiters.splice(0)) w();
  });
  const screen = () => raw.replace(ANSI, '');
  const exited = new Promise<number | null>((res) => child.on('close', res));
  const waitFor = (re: RegExp, from = 0) =>
    new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`the terminal never showed ${re}; it shows:\n${screen()}`)), 20_000);
      const check = () => {
        if (re.test(screen().slice(from))) {
          clearTimeout(timer);
          res();
        } else waiters.push(check);
      };
      check();
    });
  return { child, screen, waitFor, exited };
}

describe('console on a terminal', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dbtool-tty-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prompt, Tab completion, history file, Up arrow, Ctrl-D', { timeout: 60_000 }, async () => {
    const history = join(dir, 'history');
    const t = openTty(history);
    await t.waitFor(/dbtool> $/);
    let mark = t.screen().length;
    t.child.stdin.write('help re\t');
    await t.waitFor(/help restore$/, mark);
    t.child.stdin.write('\r');
    await t.waitFor(/restore -target-dir <dir>[\s\S]*dbtool> $/, mark);
    mark = t.screen().length;
    t.child.stdin.write('inf\t');
    await t.waitFor(/info$/, mark);
    t.child.stdin.write('\r');
    await t.waitFor(/no repository is chosen yet[\s\S]*dbtool> $/, mark);
    t.child.stdin.write('\x04');
    assert.equal(await t.exited, 0, t.screen());
    assert.deepEqual((await readFile(history, 'utf8')).trim().split('\n'), ['help restore', 'info']);

    const t2 = openTty(history);
    await t2.waitFor(/dbtool> $/);
    mark = t2.screen().length;
    t2.child.stdin.write('\x1b[A\x1b[A');
    await t2.waitFor(/help restore$/, mark);
    t2.child.stdin.write('\x15exit\r');
    assert.equal(await t2.exited, 0, t2.screen());
  });
});
