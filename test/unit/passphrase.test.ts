import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDbtoolError } from '../../src/core/errors.js';
import { resolveSettings } from '../../src/config/settings.js';
import { choosePassphrase, passphraseProvider } from '../../src/cli/passphrase.js';
import { selfCommand } from '../../src/cli/program.js';

const code = (c: string) => (e: unknown) => isDbtoolError(e) && e.code === c;

describe('passphrase sources', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dbtool-pass-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('from DBTOOL_PASSPHRASE, or the first line of DBTOOL_PASSPHRASE_FILE (a path made absolute); not both', async () => {
    await writeFile(join(dir, 'pf'), 'first line secret\r\nsecond line\n');
    const s = resolveSettings({}, { DBTOOL_PASSPHRASE_FILE: 'pf' }, dir);
    assert.equal(s.passphrase.file, join(dir, 'pf'));
    assert.equal(await passphraseProvider(s.passphrase)(), 'first line secret');
    assert.equal(await passphraseProvider(resolveSettings({}, { DBTOOL_PASSPHRASE: 'v' }, dir).passphrase)(), 'v');
    assert.throws(() => resolveSettings({}, { DBTOOL_PASSPHRASE: 'v', DBTOOL_PASSPHRASE_FILE: 'pf' }, dir), code('CONFIG_INVALID'));
    // No TTY under the test runner: a clear error naming both variables.
    await assert.rejects(passphraseProvider({})(), (e) => isDbtoolError(e) && e.code === 'PASSPHRASE_MISSING' && /DBTOOL_PASSPHRASE\b/.test(e.oneLine()) && /DBTOOL_PASSPHRASE_FILE/.test(e.oneLine()));
    await assert.rejects(passphraseProvider({ file: join(dir, 'missing') })(), code('PASSPHRASE_MISSING'));
    await writeFile(join(dir, 'empty'), '\nx\n');
    await assert.rejects(passphraseProvider({ file: join(dir, 'empty') })(), code('PASSPHRASE_MISSING'));
    const n = resolveSettings({}, { DBTOOL_NEW_PASSPHRASE_FILE: join(dir, 'pf') }, dir).passphrase;
    assert.equal(await choosePassphrase('DBTOOL_NEW_PASSPHRASE', 'DBTOOL_NEW_PASSPHRASE_FILE', n.newValue, n.newFile), 'first line secret');
    await assert.rejects(choosePassphrase('DBTOOL_NEW_PASSPHRASE', 'DBTOOL_NEW_PASSPHRASE_FILE', undefined, undefined), code('PASSPHRASE_MISSING'));
    await assert.rejects(choosePassphrase('A', 'B', '', undefined), code('PASSPHRASE_MISSING'));
  });

  it("the server's restore_command names the passphrase file, never the passphrase", () => {
    const withFile = resolveSettings({ repo: '/r' }, { DBTOOL_PASSPHRASE_FILE: '/etc/dbtool/pass' }, dir);
    const cmd = selfCommand(withFile, ['wal-get', '%f', '"%p"'], { encrypted: true });
    assert.match(cmd, /^DBTOOL_PASSPHRASE_FILE=\/etc\/dbtool\/pass \S+ \S+ --repo \/r --source main wal-get %f "%p"$/);
    assert.doesNotMatch(selfCommand(withFile, ['wal-get'], { encrypted: false }), /PASSPHRASE/);
    const withValue = resolveSettings({ repo: '/r' }, { DBTOOL_PASSPHRASE: 'hunter2' }, dir);
    assert.throws(() => selfCommand(withValue, ['wal-get'], { encrypted: true }), (e) => isDbtoolError(e) && e.code === 'PASSPHRASE_MISSING' && /DBTOOL_PASSPHRASE_FILE/.test(e.oneLine()) && !e.oneLine().includes('hunter2'));
  });
});
