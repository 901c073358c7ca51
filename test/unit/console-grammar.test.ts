import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { complete, helpText, HELP, parseLine, tokenize } from '../../src/command/console/grammar.js';
import { isDbtoolError } from '../../src/core/errors.js';

const usage = (line: string, re: RegExp) =>
  assert.throws(() => parseLine(line), (e) => isDbtoolError(e) && e.code === 'USAGE' && re.test(e.oneLine()), line);

describe('console grammar', () => {
  it("parses the seed's commands exactly", () => {
    assert.deepEqual(parseLine('full database -path /path/to/backups'), { kind: 'full', path: '/path/to/backups' });
    assert.deepEqual(parseLine('  FULL Database -path "/my backups"  '), { kind: 'full', path: '/my backups' });
    assert.deepEqual(parseLine('full database'), { kind: 'full' });
    assert.deepEqual(parseLine('differential backup'), { kind: 'backup', type: 'diff' });
    assert.deepEqual(parseLine('incremental backup'), { kind: 'backup', type: 'incr' });
    assert.deepEqual(parseLine('info'), { kind: 'info' });
    assert.deepEqual(parseLine('verify'), { kind: 'verify' });
    assert.deepEqual(parseLine('verify -backup 20261121T221000Z-F'), { kind: 'verify', backup: '20261121T221000Z-F' });
    assert.deepEqual(parseLine('help'), { kind: 'help' });
    assert.deepEqual(parseLine('help sql'), { kind: 'help', topic: 'sql' });
    assert.deepEqual(parseLine('exit'), { kind: 'exit' });
    assert.deepEqual(parseLine('quit'), { kind: 'exit' });
    assert.deepEqual(parseLine(''), { kind: 'empty' });
    assert.deepEqual(parseLine('# a comment'), { kind: 'empty' });
  });

  it('SQL keeps the query as typed, and -extract -path only at the end', () => {
    assert.deepEqual(parseLine('SQL SELECT 1, \'a  b\''), { kind: 'sql', query: "SELECT 1, 'a  b'" });
    assert.deepEqual(parseLine('sql select * from books -extract -path /tmp/out'), { kind: 'sql', query: 'select * from books', extractDir: '/tmp/out' });
    assert.deepEqual(parseLine("SQL SELECT '-extract' AS x -extract -path '/tmp/my dir'"), { kind: 'sql', query: "SELECT '-extract' AS x", extractDir: '/tmp/my dir' });
    assert.deepEqual(parseLine('SQL SELECT 1 -extract -path /tmp/x;'), { kind: 'sql', query: 'SELECT 1', extractDir: '/tmp/x' });
    usage('SQL', /SQL needs a query/);
    usage('SQL SELECT 1 -extract', /-extract needs -path/);
    usage('SQL -extract -path /tmp', /query before -extract/);
  });

  it('restore mirrors the CLI flags', () => {
    assert.deepEqual(parseLine("restore -target-dir /srv/r -to-time '2026-11-21T22:10:00Z' -start -port 5433 --force"), {
      kind: 'restore',
      flags: { targetDir: '/srv/r', toTime: '2026-11-21T22:10:00Z', start: true, port: 5433, force: true },
    });
    assert.deepEqual(parseLine('restore -target-dir r -backup L -immediate -target-action pause -archive-mode off'), { kind: 'restore', flags: { targetDir: 'r', backup: 'L', immediate: true, targetAction: 'pause', archiveMode: 'off' } });
    usage('restore -target-dir r -archive-mode on', /-archive-mode must be/);
    usage('restore', /needs -target-dir/);
    usage('restore -target-dir r -start', /-start needs -port/);
    usage('restore -target-dir r -port 0', /-port must be/);
    usage('restore -target-dir r -bogus', /unknown option -bogus/);
    usage('restore -target-dir', /needs a value/);
  });

  it('bad lines say what is wrong and how to write it', () => {
    usage('backup everything', /unknown command 'backup'.*help/);
    usage('full backup', /full database -path/);
    usage('differential', /differential backup/);
    usage('incremental backup now', /incremental backup/);
    usage('info x', /no arguments/);
    usage('help nothing', /no command 'nothing'/);
    usage('full database -path', /-path needs a value/);
    usage('full database -path "/x', /quote is not closed/);
  });

  it('tokenize groups quoted words', () => {
    assert.deepEqual(tokenize(`a "b c" 'd e' f`), ['a', 'b c', 'd e', 'f']);
  });

  it('completes commands and help topics', () => {
    assert.deepEqual(complete('di')[0], ['differential backup']);
    assert.deepEqual(complete('f')[0], ['full database -path ']);
    assert.deepEqual(complete('s')[0], ['SQL ']);
    assert.deepEqual(complete('help re')[0], ['help restore']);
    assert.equal(complete('')[0].length, 9);
    assert.deepEqual(complete('zzz')[0], []);
  });

  it('help lists every command and explains each', () => {
    const all = helpText();
    for (const h of Object.values(HELP)) assert.ok(all.includes(h.usage.slice(0, 30)), h.usage);
    assert.match(helpText('sql'), /-extract -path/);
  });
});
