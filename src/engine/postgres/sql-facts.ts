// Facts only a SQL connection can tell (wal_level, tablespace names, the next xid). Best effort:
// a replication-only role may not be allowed to connect to a database.

import { dbtoolError } from '../../core/errors.js';
import { connectPg } from './connection.js';
import type { PgConnectionOptions } from './connection.js';

/** Refuse clearly when the server cannot be backed up physically (wal_level=minimal). */
export async function checkWalLevel(o: PgConnectionOptions): Promise<void> {
  let level: string | undefined;
  try {
    const client = await connectPg({ ...o, database: o.database ?? 'postgres' }, 'sql');
    try {
      level = (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (e) {
    // Unreachable servers fail the same way on the replication connection with a clear message.
    if ((e as { code?: string }).code === 'SERVER_UNREACHABLE') throw e;
    return;
  }
  if (level === 'minimal') {
    throw dbtoolError('SERVER_CONFIG', 'the server runs with wal_level = minimal, which cannot be backed up physically or recovered to a point in time', 'Set wal_level = replica (and max_wal_senders >= 2) in postgresql.conf, then restart the server');
  }
}

export async function tablespaceNames(o: PgConnectionOptions): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  try {
    const client = await connectPg({ ...o, database: o.database ?? 'postgres' }, 'sql');
    try {
      const r = await client.query<{ oid: string; spcname: string }>('SELECT oid::text, spcname FROM pg_tablespace');
      for (const row of r.rows) out.set(Number(row.oid), row.spcname);
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch {
    // names are only for display
  }
  return out;
}

/** The next transaction id to be assigned, as text, or undefined when SQL access is denied. */
export async function nextXid(o: PgConnectionOptions): Promise<string | undefined> {
  try {
    const client = await connectPg({ ...o, database: o.database ?? 'postgres' }, 'sql');
    try {
      // xmax of the current snapshot = first xid not yet assigned (64-bit, epoch included).
      const r = await client.query<{ x: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x');
      return r.rows[0]?.x;
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch {
    return undefined;
  }
}
