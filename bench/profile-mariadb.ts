// A throw-away MariaDB with the mysql suite's sysbench-style database, kept running for profiling
// the CLI by hand: prints its port, socket, data directory and an option file, removes it on
// SIGTERM/SIGINT. BENCH_MYSQL_MB sets the size (default 1000, as the suite).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mysqlRunAs, startMariadb } from '../test/harness/mariadb-instance.js';
import { makeTempDir } from '../test/harness/pg-cluster.js';
import { flushDirty, loadSysbench } from './suites/mysql.js';

const sizeMb = Number(process.env.BENCH_MYSQL_MB ?? 1000);
const rowsPerTable = Math.max(1000, Math.round((sizeMb * 1e6) / 4 / 250));
const poolMb = Math.max(128, Math.ceil((sizeMb * 1.2) / 128) * 128);
const my = await startMariadb({ binlog: false, args: [`--innodb-buffer-pool-size=${poolMb}M`, '--innodb-log-file-size=512M', '--innodb-flush-log-at-trx-commit=2'] });
await loadSysbench(my, rowsPerTable);
await flushDirty(my);
const work = await makeTempDir('dbtool-profile-mysql-', mysqlRunAs());
const cnf = join(work, 'client.cnf');
const values = ['user=root', 'host=127.0.0.1', 'protocol=tcp', `port=${my.port}`];
await writeFile(cnf, ['[client]', ...values, '[mariadb-backup]', ...values, ''].join('\n'), { mode: 0o644 });
process.stdout.write(`PORT=${my.port} DATA=${my.dataDir} CNF=${cnf} ENV=${JSON.stringify(my.env)}\n`);
const stop = () => void my.destroy().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 1 << 30);
