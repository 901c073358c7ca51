// The MariaDB harness itself: a throw-away server with binlogs, checksums that see changes, cleanup.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { checksums, startMariadb } from '../harness/mariadb-instance.js';

describe('mariadb harness', () => {
  it('starts a server with binlogs, checksums tables, and removes it', async () => {
    const my = await startMariadb();
    try {
      const [facts] = await my.query<{ logBin: number; fmt: string }>('SELECT @@log_bin AS logBin, @@binlog_format AS fmt');
      assert.deepEqual(facts, { logBin: 1, fmt: 'ROW' });
      await my.query('CREATE DATABASE app; CREATE TABLE app.t (id int PRIMARY KEY, v text); INSERT INTO app.t VALUES (1, "a"), (2, "b")');
      const before = await checksums(my.connection);
      assert.deepEqual(Object.keys(before), ['app.t']);
      await my.query('UPDATE app.t SET v = "c" WHERE id = 2');
      const after = await checksums(my.connection);
      assert.notEqual(after['app.t'], before['app.t']);
    } finally {
      await my.destroy();
    }
    assert.equal(existsSync(my.baseDir), false);
  });
});
