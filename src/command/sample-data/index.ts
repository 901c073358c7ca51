// `dbtool sample-data`: create the seed's `books` table if it is missing and load N generated rows
// in batches of B (one COPY, or one transaction of multi-row INSERTs for MySQL, per batch, each
// committed), with progress.

import type { Reporter } from '../../core/reporter.js';
import type { SqlSession } from '../../engine/sql-session.js';
import { BOOK_COLUMNS, BOOKS_DDL, nextBook, rng } from './books.js';

export interface SampleDataOptions {
  session: SqlSession;
  rows: number;
  batchSize: number;
  seed: number;
  reporter: Reporter;
}

export interface SampleDataResult {
  rows: number;
  batches: number;
  seconds: number;
  rowsPerSecond: number;
  /** rows in the table afterwards */
  tableRows: number;
}

export async function sampleData(o: SampleDataOptions): Promise<SampleDataResult> {
  await o.session.execute(BOOKS_DDL[o.session.engine]);
  const r = rng(o.seed);
  const started = performance.now();
  const progress = o.reporter.progress('sample-data books', o.rows, 'rows');
  let done = 0;
  let batches = 0;
  try {
    while (done < o.rows) {
      const n = Math.min(o.batchSize, o.rows - done);
      await o.session.load('books', [...BOOK_COLUMNS], batchOf(r, n));
      done += n;
      batches++;
      progress.update(done);
    }
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows: done, batches, seconds, rowsPerSecond: done / Math.max(seconds, 0.001), tableRows: await countBooks(o.session) };
}

/** Rows in the `books` table (-1 if the answer has none). */
export async function countBooks(session: SqlSession): Promise<number> {
  let n = -1;
  await session.stream('SELECT count(*) FROM books', 1, (b) => {
    n = Number(b.rows[0]?.[0] ?? -1);
  });
  return n;
}

function* batchOf(r: ReturnType<typeof rng>, n: number): Generator<Array<string | number>> {
  for (let i = 0; i < n; i++) {
    const b = nextBook(r);
    yield [b.title, b.author, b.published_year, b.isbn, b.price, b.stock];
  }
}
