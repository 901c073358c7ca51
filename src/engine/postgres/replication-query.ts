// A pg Submittable for replication commands whose answer mixes result sets and a COPY OUT
// stream (BASE_BACKUP, and simple ones like IDENTIFY_SYSTEM). pg's own Query drops CopyData.

import type { Connection } from 'pg';

export interface ResultSet {
  fields: string[];
  rows: Array<Array<string | null>>;
}

interface FieldMsg {
  name: string;
}

export interface CopyHandlers {
  /** One CopyData payload. The buffer is reused by the parser after this returns: copy it. */
  onCopyData(chunk: Buffer): void;
}

/**
 * Sends a simple-protocol query and collects every result set; CopyData messages go to the
 * handler in between. `done` settles at ReadyForQuery (or on the first error).
 */
export class ReplicationQuery {
  readonly resultSets: ResultSet[] = [];
  readonly done: Promise<ResultSet[]>;
  private resolve!: (v: ResultSet[]) => void;
  private reject!: (e: unknown) => void;
  private current: ResultSet | undefined;
  private connection: Connection | undefined;

  constructor(
    readonly text: string,
    private readonly handlers?: CopyHandlers,
    /** called once a result set is complete (e.g. to learn the start LSN before the COPY) */
    private readonly onResultSet?: (rs: ResultSet, index: number) => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // The caller awaits `done`; an early failure must not count as unhandled meanwhile.
    this.done.catch(() => undefined);
  }

  submit(connection: Connection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  /** Stop reading from the server (backpressure) until resume(). */
  pause(): void {
    this.socket()?.pause();
  }

  resume(): void {
    this.socket()?.resume();
  }

  private socket(): { pause(): void; resume(): void } | undefined {
    return (this.connection as unknown as { stream?: { pause(): void; resume(): void } } | undefined)?.stream;
  }

  handleRowDescription(msg: { fields: FieldMsg[] }): void {
    // Some result sets are not closed by CommandComplete before the next one starts.
    if (this.current) this.handleCommandComplete();
    this.current = { fields: msg.fields.map((f) => f.name), rows: [] };
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    this.current?.rows.push(msg.fields.map((v) => (v === null ? null : String(v))));
  }

  handleCommandComplete(): void {
    if (this.current) {
      this.resultSets.push(this.current);
      this.onResultSet?.(this.current, this.resultSets.length - 1);
      this.current = undefined;
    }
  }

  handleCopyInResponse(): void {
    this.fail(new Error('server asked for COPY IN during a replication command'));
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    try {
      this.handlers?.onCopyData(msg.chunk);
    } catch (e) {
      this.fail(e);
    }
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleError(err: unknown): void {
    this.fail(err);
  }

  handleReadyForQuery(): void {
    if (this.current) this.handleCommandComplete();
    this.resolve(this.resultSets);
  }

  private fail(e: unknown): void {
    this.reject(e);
  }
}
