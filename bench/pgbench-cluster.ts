// One throw-away PostgreSQL cluster with a pgbench database (BENCH_SCALE), started the first time a
// suite asks for it and shared by the s3, crypto and logical suites (pgbench -i is paid once).

import { pgBin } from '../src/engine/postgres/binaries.js';
import { startCluster } from '../test/harness/pg-cluster.js';
import type { TestCluster } from '../test/harness/pg-cluster.js';
import { SCALE, log, timed } from './lib.js';

export interface PgbenchCluster {
  db: TestCluster;
  /** libpq variables that reach it as postgres */
  env: Record<string, string>;
  /** sum of pg_database_size over all databases after loading: the MB in every MB/s */
  dbBytes: number;
}

/** The settings of bench/run.ts's cluster, so figures compare across suites. */
export const BENCH_CLUSTER_SETTINGS = { shared_buffers: '256MB', max_wal_senders: '10', checkpoint_timeout: '30min', max_wal_size: '8GB', wal_level: 'replica' };

export function libpqEnv(db: TestCluster): Record<string, string> {
  return { PGHOST: '127.0.0.1', PGPORT: String(db.port), PGUSER: 'postgres' };
}

let shared: Promise<PgbenchCluster> | undefined;

export function pgbenchCluster(): Promise<PgbenchCluster> {
  shared ??= (async () => {
    const db = await startCluster({ settings: BENCH_CLUSTER_SETTINGS });
    try {
      log(`shared cluster: pgbench -i -s ${SCALE}`);
      await timed([pgBin('pgbench'), '-h', '127.0.0.1', '-p', String(db.port), '-U', 'postgres', '-i', '-q', '-s', String(SCALE), 'postgres']);
      await db.query('VACUUM (FREEZE, ANALYZE)');
      await db.query('CHECKPOINT');
      const [size] = await db.query<{ b: string }>('SELECT sum(pg_database_size(oid))::text AS b FROM pg_database');
      return { db, env: libpqEnv(db), dbBytes: Number(size!.b) };
    } catch (e) {
      await db.destroy();
      throw e;
    }
  })();
  return shared;
}

/** Stop and delete the shared cluster if one was started. */
export async function closePgbenchCluster(): Promise<void> {
  const c = shared;
  shared = undefined;
  if (c) await (await c.catch(() => undefined))?.db.destroy();
}
