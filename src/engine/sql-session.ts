// A plain SQL session for the user surface (console, sample-data): run one statement with its rows
// streamed in batches, or bulk-load rows. One implementation per engine (postgres/ now, mysql/ next).

/** A value as the server prints it (text form), or null for SQL NULL. */
export type SqlValue = string | null;

export interface SqlBatch {
  /** column names; the same in every batch of one statement (empty for statements without rows) */
  columns: string[];
  rows: SqlValue[][];
}

export interface SqlOutcome {
  /** the server's command tag, e.g. SELECT, INSERT, CREATE TABLE */
  command: string;
  /** rows returned or affected, when the server says */
  rowCount: number | null;
}

export interface SqlSession {
  readonly engine: 'postgres' | 'mysql';
  /**
   * Run one statement. `onBatch` gets its rows `batchRows` at a time, in order, and is awaited
   * before the next batch is fetched (a server-side cursor: memory stays bounded). It is called
   * at least once, so the columns are known even when there are no rows.
   */
  stream(sql: string, batchRows: number, onBatch: (batch: SqlBatch) => Promise<void> | void): Promise<SqlOutcome>;
  /** run statements that return no rows we need (DDL) */
  execute(sql: string): Promise<void>;
  /** bulk-load rows into `table(columns)` the engine's fastest way (COPY for PostgreSQL); the row count */
  load(table: string, columns: string[], rows: Iterable<Array<string | number | null>>): Promise<number>;
  close(): Promise<void>;
}
