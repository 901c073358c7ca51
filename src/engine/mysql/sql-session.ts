// The SqlSession for MySQL/MariaDB: statements streamed row by row (mysql2's query stream, paused
// while a batch is handled), values in their text form, bulk loads as multi-row INSERTs.

import type { Connection } from 'mysql2/promise';
import type { Connection as CoreConnection, FieldPacket, ResultSetHeader } from 'mysql2';
import { dbtoolError } from '../../core/errors.js';
import type { SqlBatch, SqlOutcome, SqlSession, SqlValue } from '../sql-session.js';
import { connectMysql, mapMysqlError } from './connection.js';
import type { MysqlConnectionOptions } from './connection.js';

/** One INSERT carries at most this many bytes of values (well under max_allowed_packet's 16 MiB default). */
const INSERT_BYTES = 1 << 20;

function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A value as a MySQL literal: numbers as they are, strings quoted with backslash escapes. */
export function mysqlLiteral(v: string | number | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
    return String(v);
  }
  // Backslash, quotes and the characters that would break a statement's text; the rest as is.
  return `'${v.replace(/[\0\n\r\\'"]/g, (c) => (c === '\0' ? '\\0' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`))}'`;
}

/** The first word of a statement, upper-cased: MySQL has no command tag, so this stands in for one. */
export function commandWord(sql: string): string {
  const m = /^\s*(?:(?:--[^\n]*\n|#[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*([A-Za-z]+)/.exec(sql);
  return (m?.[1] ?? '').toUpperCase();
}

export class MysqlSqlSession implements SqlSession {
  readonly engine = 'mysql' as const;

  private constructor(
    private readonly conn: Connection,
    private readonly options: MysqlConnectionOptions,
  ) {}

  static async open(options: MysqlConnectionOptions): Promise<MysqlSqlSession> {
    return new MysqlSqlSession(await connectMysql(options), options);
  }

  async stream(sql: string, batchRows: number, onBatch: (batch: SqlBatch) => Promise<void> | void): Promise<SqlOutcome> {
    // The callback-style connection underneath: its query emits rows as they arrive, and
    // pause()/resume() stop reading the socket, so at most one batch is held in memory.
    // (the promise wrapper keeps it as `.connection`, which its typings do not declare)
    const raw = (this.conn as unknown as { connection: CoreConnection }).connection;
    return new Promise<SqlOutcome>((resolvePromise, rejectPromise) => {
      let columns: string[] = [];
      let rows: SqlValue[][] = [];
      let count = 0;
      let affected: number | null = null;
      let sentAny = false;
      let failed = false;
      let chain: Promise<void> = Promise.resolve();
      const fail = (e: unknown) => {
        if (failed) return;
        failed = true;
        rejectPromise(mapSqlError(e, this.options));
      };
      const flush = () => {
        const batch = { columns, rows };
        rows = [];
        sentAny = true;
        chain = chain.then(() => onBatch(batch));
        return chain;
      };
      const q = raw.query({
        sql,
        rowsAsArray: true,
        // Every column as the server's text (exact decimals, dates as written). The connection's
        // charset is utf8mb4, so text arrives as UTF-8; binary values (BLOB, CHAR(), JSON on
        // MySQL) are read as UTF-8 too, as the mysql client prints them (non-UTF-8 bytes → U+FFFD).
        typeCast: (field: { string: (encoding?: string) => string | null }) => field.string('utf8'),
      } as unknown as Parameters<typeof raw.query>[0]);
      q.on('fields', (fields: FieldPacket[] | undefined) => {
        // A multi-statement string reports several result sets; the last one with fields wins.
        if (fields) columns = fields.map((f) => f.name);
      });
      q.on('result', (row: unknown) => {
        if (failed) return;
        if (Array.isArray(row)) {
          rows.push(row as SqlValue[]);
          count++;
          if (rows.length >= batchRows) {
            raw.pause();
            flush().then(
              () => raw.resume(),
              (e: unknown) => {
                fail(e);
                raw.resume();
              },
            );
          }
        } else {
          const h = row as ResultSetHeader;
          affected = (affected ?? 0) + (h.affectedRows ?? 0);
        }
      });
      q.on('error', (e: unknown) => fail(e));
      q.on('end', () => {
        if (failed) return;
        if (rows.length > 0 || !sentAny) void flush().catch(() => undefined);
        chain.then(
          () => {
            if (failed) return;
            const isRows = columns.length > 0;
            resolvePromise({ command: commandWord(sql), rowCount: isRows ? count : affected });
          },
          (e: unknown) => fail(e),
        );
      });
    });
  }

  async execute(sql: string): Promise<void> {
    try {
      await this.conn.query(sql);
    } catch (e) {
      throw mapSqlError(e, this.options);
    }
  }

  /** One transaction per call: INSERTs of up to INSERT_BYTES each, committed together. */
  async load(table: string, columns: string[], rows: Iterable<Array<string | number | null>>): Promise<number> {
    const head = `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) VALUES `;
    let n = 0;
    let values: string[] = [];
    let bytes = 0;
    try {
      await this.conn.query('START TRANSACTION');
      for (const row of rows) {
        const tuple = `(${row.map(mysqlLiteral).join(',')})`;
        values.push(tuple);
        bytes += tuple.length + 1;
        n++;
        if (bytes >= INSERT_BYTES) {
          await this.conn.query(head + values.join(','));
          values = [];
          bytes = 0;
        }
      }
      if (values.length > 0) await this.conn.query(head + values.join(','));
      await this.conn.query('COMMIT');
    } catch (e) {
      await this.conn.query('ROLLBACK').catch(() => undefined);
      throw mapSqlError(e, this.options);
    }
    return n;
  }

  async close(): Promise<void> {
    await this.conn.end().catch(() => undefined);
  }
}

/**
 * An error in the user's statement is bad input (exit 2); connection trouble stays what it is.
 * mysql2 sets `sqlState` on server errors; classes 42 (syntax, unknown object), 22 (data), 23
 * (constraint), 21 (column count), 25/40 (transaction), 0A (unsupported), HY000 with a server errno
 * for the generic ones (e.g. a table that exists already is 42S01).
 */
function mapSqlError(e: unknown, o: MysqlConnectionOptions) {
  const err = e as { code?: string; errno?: number; sqlState?: string; sqlMessage?: string; message?: string; fatal?: boolean };
  const state = err.sqlState;
  if (typeof state === 'string' && !err.fatal && /^(42|22|23|21|25|40|0A|HY)/.test(state) && err.code !== 'ER_ACCESS_DENIED_ERROR') {
    return dbtoolError('SQL_FAILED', `the statement failed: ${err.sqlMessage ?? err.message ?? String(e)} (SQLSTATE ${state}, ${err.code ?? err.errno})`, 'Fix the statement and run it again');
  }
  return mapMysqlError(e, o);
}
