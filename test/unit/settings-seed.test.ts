// The seed's configuration: --config file|env, --database, .env values checked, config show.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDbtoolError } from '../../src/core/errors.js';
import { resolveSettings } from '../../src/config/settings.js';
import { settingsView } from '../../src/command/config-show/index.js';

describe('settings: the seed forms', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dbtool-settings-seed-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const inDir = async (files: Record<string, string>, fn: (d: string) => void | Promise<void>) => {
    const d = await mkdtemp(join(dir, 'case-'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(d, name), text);
    await fn(d);
  };

  it('precedence for each connection key: flag > environment > .env > config file', () =>
    inDir(
      {
        'dbtool.yaml': 'repo: /file\nhost: filehost\nport: 6001\nuser: fileuser\npassword: filepw\ndatabase: filedb\nengine: postgres\n',
        '.env': 'DB_HOST=dothost\nDB_PORT=6002\nDB_USER=dotuser\nDB_NAME=dotdb\nDBTOOL_REPO=/dot\n',
      },
      (d) => {
        const fileOnly = resolveSettings({ config: 'file' }, {}, d);
        // .env beats the file for what it sets; the file fills the rest.
        assert.deepEqual([fileOnly.connection.host, fileOnly.connection.port, fileOnly.connection.user, fileOnly.connection.database, fileOnly.connection.password, fileOnly.repo], ['dothost', 6002, 'dotuser', 'dotdb', 'filepw', '/dot']);
        assert.equal(fileOnly.origins.host, '.env DB_HOST');
        assert.equal(fileOnly.origins.password, 'config file dbtool.yaml');
        // The environment beats .env.
        const env = resolveSettings({ config: 'file' }, { DB_HOST: 'envhost', DB_PORT: '6003', DB_NAME: 'envdb', DBTOOL_REPO: '/env' }, d);
        assert.deepEqual([env.connection.host, env.connection.port, env.connection.database, env.repo], ['envhost', 6003, 'envdb', '/env']);
        assert.equal(env.origins.port, 'environment DB_PORT');
        // Flags beat everything.
        const flags = resolveSettings({ config: 'file', database: 'flagdb', repo: '/flag', db: 'postgres' }, { DB_NAME: 'envdb', DBTOOL_REPO: '/env', PGDATABASE: 'pgdb' }, d);
        assert.deepEqual([flags.connection.database, flags.repo], ['flagdb', '/flag']);
        assert.equal(flags.origins.database, '--database');
        assert.equal(flags.origins.engine, '--db');
      },
    ));

  it('--config env reads no config file; --config file finds dbtool.yaml, .yml or .json; anything else is a path', () =>
    inDir({ 'dbtool.json': '{"repo": "/json", "host": "jsonhost"}', 'other.yaml': 'repo: /other\n' }, async (d) => {
      const env = resolveSettings({ config: 'env' }, { DB_HOST: 'h' }, d);
      assert.equal(env.repo, undefined);
      assert.equal(env.configFile, undefined);
      assert.equal(env.connection.host, 'h');
      assert.equal(resolveSettings({ config: 'file' }, {}, d).repo, '/json');
      assert.equal(resolveSettings({}, { DBTOOL_CONFIG: 'file' }, d).connection.host, 'jsonhost');
      assert.equal(resolveSettings({ config: 'other.yaml' }, {}, d).repo, '/other');
      // Without --config no file is read, even when dbtool.json exists (as before).
      assert.equal(resolveSettings({}, {}, d).repo, undefined);
      await writeFile(join(d, 'dbtool.yaml'), 'repo: /yaml\n');
      assert.equal(resolveSettings({ config: 'file' }, {}, d).repo, '/yaml', 'dbtool.yaml wins over dbtool.json');
    }));

  it('--config file without a default file names what it looked for', () =>
    inDir({}, (d) => {
      assert.throws(
        () => resolveSettings({ config: 'file' }, {}, d),
        (e) => isDbtoolError(e) && e.code === 'CONFIG_INVALID' && /--config is 'file' but there is no dbtool\.yaml, dbtool\.yml, dbtool\.json/.test(e.message) && /--config env/.test(e.oneLine()),
      );
    }));

  it('bad values in .env and the environment name the variable and where it came from', () =>
    inDir({ '.env': 'DB_PORT=54x32\n' }, async (d) => {
      assert.throws(() => resolveSettings({}, {}, d), (e) => isDbtoolError(e) && e.code === 'CONFIG_INVALID' && /^\.env DB_PORT is '54x32', not a port number/.test(e.message));
      assert.throws(() => resolveSettings({}, { DB_PORT: '70000' }, d), (e) => isDbtoolError(e) && /^environment DB_PORT is '70000'/.test(e.message));
      await writeFile(join(d, '.env'), 'DB_ENGINE=oracle\n');
      assert.throws(() => resolveSettings({}, {}, d), (e) => isDbtoolError(e) && e.code === 'CONFIG_INVALID' && /^\.env DB_ENGINE is 'oracle', not a database engine/.test(e.message));
      assert.throws(() => resolveSettings({ db: 'sqlite' }, {}, d), (e) => isDbtoolError(e) && /^--db is 'sqlite'/.test(e.message));
      await writeFile(join(d, '.env'), 'DB_ENGINE=mariadb\n');
      assert.equal(resolveSettings({}, {}, d).connection.engine, 'mysql');
    }));

  it('config show: every setting with its origin, the password masked', () =>
    inDir({ 'dbtool.yaml': 'password: s3cret\nkeepFull: 2\n', '.env': 'DB_PASSWORD=dotsecret\n' }, (d) => {
      const view = settingsView(resolveSettings({ config: 'file', repo: '/r' }, { PGHOST: 'h' }, d));
      const by = Object.fromEntries(view.map((l) => [l.key, l]));
      assert.deepEqual(by.password, { key: 'password', value: '****', origin: '.env DB_PASSWORD' });
      assert.deepEqual(by.repo, { key: 'repo', value: '/r', origin: '--repo' });
      assert.deepEqual(by.host, { key: 'host', value: 'h', origin: 'environment PGHOST' });
      assert.deepEqual(by.keepFull, { key: 'keepFull', value: '2', origin: 'config file dbtool.yaml' });
      assert.deepEqual(by.source, { key: 'source', value: 'main', origin: 'default' });
      assert.equal(by.port!.value, null);
      assert.ok(!JSON.stringify(view).includes('secret'), 'no secret anywhere');
      const fromFile = settingsView(resolveSettings({ config: 'file' }, {}, d)).find((l) => l.key === 'password');
      assert.ok(!JSON.stringify(settingsView(resolveSettings({ config: 'env' }, { PGPASSWORD: 'pw' }, d))).includes('pw"'));
      assert.equal(fromFile!.value, '****');
    }));
});
