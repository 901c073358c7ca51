#!/usr/bin/env node
// Entry point: run the CLI, catch every failure in this one place, print one clear line, exit.
// `wal-push --async` and `wal-get --async` first look in their spool: a segment already pushed
// or fetched ahead is done at once, before the rest of dbtool is loaded (spool.ts says why).

import { asyncGetOfProcess, takePrefetched } from './command/wal-get/prefetch.js';
import { asyncPushOfProcess, consumeMarker } from './command/wal-push/spool.js';

const push = asyncPushOfProcess();
if (push && (await consumeMarker(push))) process.exit(0);
const get = asyncGetOfProcess();
if (get && (await takePrefetched(get))) process.exit(0);

const { CommanderError } = await import('@commander-js/extra-typings');
const { buildProgram } = await import('./cli/program.js');
const { EXIT_FAILURE, EXIT_USAGE, isDbtoolError, messageOf } = await import('./core/errors.js');

async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are not errors; the message was already written by commander.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exitCode = 0;
      else process.exitCode = EXIT_USAGE;
      return;
    }
    if (isDbtoolError(e)) {
      process.stderr.write(`dbtool: ${e.oneLine()}\n`);
      if (debug && e.cause) process.stderr.write(`${(e.cause as Error).stack ?? String(e.cause)}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`dbtool: unexpected failure: ${messageOf(e)}. Run again with --debug and report it\n`);
    if (debug) process.stderr.write(`${(e as Error).stack ?? ''}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

await main(process.argv);
// Worker threads and sockets are closed by the commands; do not wait on stragglers.
process.exit(process.exitCode ?? 0);
