// What `check` reports about a MySQL server's settings (binlogs and server id required, ROW advised), and option files.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mysqlSettingsProblems } from '../../src/command/check/mysql.js';
import { parseOptionFile } from '../../src/engine/mysql/option-file.js';

describe('mysql check settings', () => {
  it('passes binlogs on with a server id and ROW format', () => {
    assert.deepEqual(mysqlSettingsProblems({ logBin: true, binlogFormat: 'ROW', serverId: 1 }), { errors: [], warnings: [] });
  });
  it('refuses binlogs off or server id 0, warns about STATEMENT/MIXED', () => {
    assert.match(mysqlSettingsProblems({ logBin: false, binlogFormat: 'ROW', serverId: 1 }).errors[0]!.message, /log_bin OFF/);
    assert.match(mysqlSettingsProblems({ logBin: true, binlogFormat: 'ROW', serverId: 0 }).errors[0]!.message, /server_id is 0/);
    const mixed = mysqlSettingsProblems({ logBin: true, binlogFormat: 'MIXED', serverId: 1 });
    assert.deepEqual(mixed.errors, []);
    assert.match(mixed.warnings[0]!, /binlog_format is MIXED/);
  });
});

describe('mysql option files', () => {
  it('reads connection values from the client groups only', () => {
    const text = '# comment\n[mysqld]\nport = 1\nsocket=/wrong\n[client]\nuser = "backup"\npassword=\'se"cret\'\nsocket=/run/my.sock\n!include /etc/x.cnf\n[mariadb-client]\nhost=ignored\n';
    assert.deepEqual(parseOptionFile(text), { user: 'backup', password: 'se"cret', socket: '/run/my.sock' });
    assert.deepEqual(parseOptionFile('[client]\nhost=db1\nport=3307\n'), { host: 'db1', port: 3307 });
  });
});
