import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDbtoolError } from '../../src/core/errors.js';
import { requireRepo, resolveSettings } from '../../src/config/settings.js';

describe('settings', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dbtool-settings-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('flags beat environment beat .env beat the config file', async () => {
    await writeFile(join(dir, 'cfg.yaml'), 'repo: /from/file\nsource: filesrc\nhost: filehost\nport: 6000\nuser: fileuser\ncompressLevel: 3\n');
    await writeFile(join(dir, '.env'), 'DB_HOST=dothost\nDB_PORT=7000\nDB_PASSWORD=dotsecret\nDBTOOL_REPO=/from/dotenv\n');
    const s = resolveSettings({ config: 'cfg.yaml', source: 'flagsrc' }, { PGPORT: '8000' }, dir);
    assert.equal(s.source, 'flagsrc');
    assert.equal(s.repo, '/from/dotenv');
    assert.equal(s.connection.host, 'dothost');
    assert.equal(s.connection.port, 8000);
    assert.equal(s.connection.user, 'fileuser');
    assert.equal(s.connection.password, 'dotsecret');
    assert.equal(s.compressLevel, 3);
    assert.equal(resolveSettings({ config: 'cfg.yaml', repo: '/from/flag' }, {}, dir).repo, '/from/flag');
    // The environment wins over .env for the same variable.
    assert.equal(resolveSettings({}, { DB_HOST: 'envhost' }, dir).connection.host, 'envhost');
    assert.equal(resolveSettings({}, { PGHOST: 'pghost', DB_HOST: 'envhost' }, dir).connection.host, 'pghost');
  });

  it('a source section of the config file applies to that source', async () => {
    await writeFile(join(dir, 'multi.yaml'), 'repo: /r\nsources:\n  a: { host: ha, port: 5433 }\n  b: { host: hb, repo: /rb }\n');
    const empty = await mkdtemp(join(tmpdir(), 'dbtool-settings-empty-'));
    try {
      assert.equal(resolveSettings({ config: join(dir, 'multi.yaml'), source: 'a' }, {}, empty).connection.port, 5433);
      assert.equal(resolveSettings({ config: join(dir, 'multi.yaml'), source: 'b' }, {}, empty).repo, '/rb');
      assert.equal(resolveSettings({ config: join(dir, 'multi.yaml'), source: 'a' }, {}, empty).repo, '/r');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('names the key and the file of a bad config entry', async () => {
    const bad = async (text: string, re: RegExp) => {
      await writeFile(join(dir, 'bad.yaml'), text);
      assert.throws(() => resolveSettings({ config: 'bad.yaml' }, {}, dir), (e) => isDbtoolError(e) && e.code === 'CONFIG_INVALID' && re.test(e.message) && e.message.includes('bad.yaml'));
    };
    await bad('repoo: /x\n', /unknown key repoo/);
    await bad('sources:\n  a: { hots: x }\n', /unknown key sources\.a\.hots/);
    await bad('port: "abc"\n', /'port'/);
    await bad('compressLevel: 40\n', /'compressLevel'/);
    await bad('repo: [unclosed\n', /not valid YAML/);
    assert.throws(() => resolveSettings({ config: 'missing.yaml' }, {}, dir), (e) => isDbtoolError(e) && /cannot read the config file/.test(e.message));
  });

  it('bad environment values are named', () => {
    assert.throws(() => resolveSettings({}, { PGPORT: 'x' }, dir), (e) => isDbtoolError(e) && /PGPORT is 'x'/.test(e.message));
    assert.throws(() => resolveSettings({}, { DB_ENGINE: 'oracle' }, dir), (e) => isDbtoolError(e) && /DB_ENGINE is 'oracle'/.test(e.message));
    assert.throws(() => resolveSettings({ source: '../x' }, {}, dir), (e) => isDbtoolError(e) && /source name/.test(e.message));
  });

  it('requires a repository', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'dbtool-settings-empty-'));
    try {
      assert.throws(() => requireRepo(resolveSettings({}, {}, empty)), (e) => isDbtoolError(e) && e.code === 'REPO_NOT_FOUND');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
