// The SqlSession for PostgreSQL: statements through a server-side cursor (pg-cursor), values in
// their text form, bulk loads through COPY FROM STDIN (pg-copy-streams).

import type pg from 'pg';
import Cursor from 'pg-cursor';
import { from as copyFrom } from 'pg-copy-streams';
import { once } from 'node:events';
import type { QueryResult } from 'pg';
import { dbtoolError } from '../../core/errors.js';
import type { SqlOutcome, SqlSession, SqlValue } from '../sql-session.js';
import { connectPg, mapPgError } from './connection.js';
import type { PgConnectionOptions } from './connection.js';

// Every column as the server's text: exact for numeric, dates, json, arrays (no JS conversion).
const textTypes = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** COPY text format: backslash, tab, newline and carriage return escaped; \N for NULL. */
export function copyTextField(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export class PgSqlSession implements SqlSession {
  readonly engine = 'postgres' as const;

  private constructor(
    private readonly client: pg.Client,
    private readonly conn: PgConnectionOptions,
  ) {}

  static async open(conn: PgConnectionOptions): Promise<PgSqlSession> {
    return new PgSqlSession(await connectPg(conn, 'sql'), conn);
  }

  async stream(sql: string, batchRows: number, onBatch: (b: { columns: string[]; rows: SqlValue[][] }) => Promise<void> | void): Promise<SqlOutcome> {
    const cursor = this.client.query(new Cursor<SqlValue[]>(sql, [], { rowMode: 'array', types: textTypes }));
    // The callback form hands over the result, which carries the fields and the command tag.
    const read = () =>
      new Promise<{ rows: SqlValue[][]; result: QueryResult }>((resolve, reject) => {
        cursor.read(batchRows, (err, rows, result) => (err ? reject(err) : resolve({ rows, result })));
      });
    try {
      let first = true;
      for (;;) {
        const { rows, result } = await read();
        if (rows.length > 0 || first) await onBatch({ columns: (result.fields ?? []).map((f) => f.name), rows });
        first = false;
        if (rows.length < batchRows) return { command: result.command ?? '', rowCount: result.rowCount ?? null };
      }
    } catch (e) {
      throw mapSqlError(e, this.conn);
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  async execute(sql: string): Promise<void> {
    try {
      await this.client.query(sql);
    } catch (e) {
      throw mapSqlError(e, this.conn);
    }
  }

  async load(table: string, columns: string[], rows: Iterable<Array<string | number | null>>): Promise<number> {
    const stream = this.client.query(copyFrom(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`));
    const done = once(stream, 'finish');
    done.catch(() => undefined);
    let n = 0;
    let buf = '';
    try {
      for (const row of rows) {
        buf += `${row.map(copyTextField).join('\t')}\n`;
        n++;
        // Write in pieces of ~64 KiB and honour backpressure.
        if (buf.length >= 65536) {
          if (!stream.write(buf)) await once(stream, 'drain');
          buf = '';
        }
      }
      stream.end(buf);
      await done;
    } catch (e) {
      stream.destroy();
      throw mapSqlError(e, this.conn);
    }
    return n;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** An error in the user's statement is bad input (exit 2); connection trouble stays what it is. */
function mapSqlError(e: unknown, conn: PgConnectionOptions) {
  const err = e as { code?: string; message?: string; position?: string };
  // SQLSTATE classes 42 (syntax, undefined object), 22 (data), 23 (constraint), 2B/25/40/0A: the statement's fault.
  if (typeof err.code === 'string' && /^(42|22|23|25|40|0A|2B|P0)/.test(err.code)) {
    return sqlStatementError(err.message ?? String(e), err.code);
  }
  return mapPgError(e, conn);
}

function sqlStatementError(message: string, code: string) {
  return dbtoolError('SQL_FAILED', `the statement failed: ${message} (SQLSTATE ${code})`, 'Fix the statement and run it again');
}
