// Text/JSON renderings of MySQL/MariaDB results.

import type { MysqlRestoreResult } from '../command/restore/mysql.js';
import { formatBytes } from './format.js';

type Out = (text: string) => void;

export function printMysqlRestore(r: MysqlRestoreResult, json: boolean, out: Out): void {
  if (json) {
    out(JSON.stringify(r));
    return;
  }
  out(`restored backup ${r.label} into ${r.targetDir} (chain ${r.chain.join(' → ')}; ${r.files} files, ${formatBytes(r.bytes)})${r.binlog ? `; binlog position ${r.binlog.file}:${r.binlog.position}` : ''}`);
  if (r.replay) out(`replayed binlogs ${r.replay.files.join(', ')} from ${r.replay.from} up to ${r.replay.stop}`);
  if (r.server) out(`server running on 127.0.0.1:${r.server.port}, socket ${r.server.socket}, pid ${r.server.pid}`);
  else out(`start it with: mariadbd --defaults-file=${r.targetDir}/backup-my.cnf --datadir=${r.targetDir}`);
}
