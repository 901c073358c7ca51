// Connecting to PostgreSQL (SQL or replication), and turning its failures into clear errors.

import type pg from 'pg';
import { dbtoolError, isDbtoolError, messageOf } from '../../core/errors.js';
import type { DbtoolError } from '../../core/errors.js';

/** Where and as whom to connect. The password comes from config or env, never argv. */
export interface PgConnectionOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** seconds to wait for the TCP/socket connection */
  connectTimeout?: number;
}

export function describeTarget(o: PgConnectionOptions): string {
  const host = o.host ?? 'localhost';
  return `${host.startsWith('/') ? `socket ${host}` : host}:${o.port ?? 5432}`;
}

/**
 * pg's Client class, loaded on first use rather than at start-up: wal-push and wal-get, run once
 * per WAL segment, never connect.
 */
export async function pgClientClass(): Promise<typeof pg.Client> {
  return (await import('pg')).default.Client;
}

export async function connectPg(o: PgConnectionOptions, mode: 'sql' | 'replication'): Promise<pg.Client> {
  const Client = await pgClientClass();
  const client = new Client({
    host: o.host,
    port: o.port,
    user: o.user,
    password: o.password,
    database: mode === 'replication' ? undefined : o.database,
    replication: mode === 'replication' ? 'true' : undefined,
    application_name: 'dbtool',
    connectionTimeoutMillis: (o.connectTimeout ?? 15) * 1000,
  } as pg.ClientConfig);
  // A server that goes away mid-backup emits 'error' on the client; the pending query rejects.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw mapPgError(e, o, mode);
  }
  return client;
}

interface PgErrorLike {
  code?: string;
  message?: string;
}

/** Map a pg/socket error to one clear dbtool error. */
export function mapPgError(e: unknown, o: PgConnectionOptions, mode: 'sql' | 'replication' = 'sql'): DbtoolError {
  if (isDbtoolError(e)) return e;
  const err = e as PgErrorLike;
  const msg = messageOf(e);
  const where = describeTarget(o);
  const user = o.user ?? process.env.USER ?? 'the current user';
  if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' || err.code === 'EHOSTUNREACH' || err.code === 'ETIMEDOUT' || /timeout expired|Connection terminated due to connection timeout/i.test(msg)) {
    return dbtoolError('SERVER_UNREACHABLE', `cannot reach PostgreSQL at ${where} (${msg})`, 'Check that the server runs and that host/port (PGHOST, PGPORT, DB_HOST, DB_PORT or the config file) are right', e);
  }
  if (/must be superuser or replication role|permission denied to start WAL sender|must have the REPLICATION/i.test(msg)) {
    return dbtoolError('SERVER_PRIVILEGE', `role '${user}' may not open a replication connection to ${where}`, `Grant it: ALTER ROLE "${user}" REPLICATION; (a physical backup needs only that privilege)`, e);
  }
  if (/max_wal_senders|wal_level/i.test(msg)) {
    return dbtoolError('SERVER_CONFIG', `PostgreSQL at ${where} does not allow replication connections (${msg})`, 'Set wal_level = replica and max_wal_senders >= 2 in postgresql.conf and restart the server', e);
  }
  if (/no pg_hba\.conf entry/i.test(msg)) {
    const hint = mode === 'replication'
      ? `Add a line for the \`replication\` database to pg_hba.conf, e.g. \`host replication ${user} 127.0.0.1/32 scram-sha-256\`, and reload`
      : 'Add a pg_hba.conf line for this user and database, and reload';
    return dbtoolError('SERVER_AUTH', `PostgreSQL at ${where} refused ${mode === 'replication' ? 'a replication' : 'a'} connection for '${user}' (${msg})`, hint, e);
  }
  if (err.code === '28P01' || err.code === '28000' || /password authentication failed|SASL|password must be a string/i.test(msg)) {
    return dbtoolError('SERVER_AUTH', `authentication as '${user}' to ${where} failed`, 'Check the user and password (PGPASSWORD, DB_PASSWORD, ~/.pgpass or the config file)', e);
  }
  if (err.code === '3D000') {
    return dbtoolError('SERVER_CONFIG', `database '${o.database}' does not exist on ${where}`, 'Set PGDATABASE / DB_NAME to an existing database', e);
  }
  if (/Connection terminated|ECONNRESET|EPIPE|server closed the connection/i.test(msg)) {
    return dbtoolError('SERVER_UNREACHABLE', `the connection to PostgreSQL at ${where} was lost (${msg})`, 'Check the server log; then retry', e);
  }
  return dbtoolError('SERVER_PROTOCOL', `PostgreSQL at ${where} answered with an error: ${msg}`, 'See the server log for details', e);
}
