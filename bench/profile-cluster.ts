// A throw-away pgbench cluster kept running for profiling the CLI by hand: prints its port and
// data directory, removes it on SIGTERM/SIGINT. BENCH_SCALE sets the pgbench scale (default 20).

import { spawn } from 'node:child_process';
import { pgBin } from '../src/engine/postgres/binaries.js';
import { startCluster } from '../test/harness/pg-cluster.js';

const scale = Number(process.env.BENCH_SCALE ?? 20);
const db = await startCluster({ settings: { shared_buffers: '256MB', max_wal_senders: '10', checkpoint_timeout: '30min', max_wal_size: '8GB', wal_level: 'replica' } });
await new Promise<void>((resolve, reject) => {
  const c = spawn(pgBin('pgbench'), ['-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-q', '-s', String(scale), 'postgres'], { stdio: 'ignore' });
  c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pgbench failed (${code})`))));
});
await db.query('VACUUM (FREEZE, ANALYZE)');
await db.query('CHECKPOINT');
process.stdout.write(`PORT=${db.port} DATA=${db.dataDir}\n`);
const stop = () => void db.destroy().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 1 << 30);
