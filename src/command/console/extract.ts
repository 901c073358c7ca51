// `SQL <query> -extract -path <dir>`: stream one statement's rows into a CSV file (RFC 4180: CRLF
// records, header row, fields quoted when they hold a comma, quote or line break; NULL as an
// empty field, an empty string as ""; UTF-8). Rows come in cursor batches; the file is written
// with backpressure, so memory does not grow with the result.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import type { Stringifier } from 'csv-stringify';
import { dbtoolError, messageOf } from '../../core/errors.js';
import type { SqlSession } from '../../engine/sql-session.js';

export interface ExtractResult {
  file: string;
  rows: number;
  columns: string[];
  ms: number;
}

/** The stringifier's options: RFC 4180, and NULL distinguishable from the empty string. */
export function csvOptions(columns: string[]) {
  return {
    header: true,
    columns,
    record_delimiter: 'windows' as const,
    // Quote line breaks (RFC 4180 §2.6) whatever the record delimiter is.
    quoted_match: /[\r\n]/,
    // NULL arrives as null and is written as nothing; an empty string is written as "".
    cast: { string: (v: string) => (v === '' ? { value: '', quoted_empty: true } : v) },
  };
}

export async function extractCsv(session: SqlSession, query: string, dir: string, now = new Date()): Promise<ExtractResult> {
  const started = performance.now();
  const target = resolve(dir);
  try {
    await mkdir(target, { recursive: true });
  } catch (e) {
    throw dbtoolError('USAGE', `cannot create the directory ${target} (${messageOf(e)})`, 'Choose a directory you can write');
  }
  // UTC, to the millisecond: two extracts in one second get two files.
  const file = join(target, `extract-${now.toISOString().replace(/[-:]/g, '')}.csv`);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial, { flags: 'wx' });
  let csv: Stringifier | undefined;
  let piped: Promise<void> | undefined;
  let rows = 0;
  let columns: string[] = [];
  try {
    await once(out, 'open');
    await session.stream(query, 2000, async (batch) => {
      if (!csv) {
        columns = batch.columns;
        csv = stringify(csvOptions(columns));
        csv.pipe(out);
        piped = finished(out);
        piped.catch(() => undefined);
      }
      for (const row of batch.rows) {
        if (!csv.write(row)) await once(csv, 'drain');
      }
      rows += batch.rows.length;
    });
    if (columns.length === 0) throw dbtoolError('USAGE', 'the statement returns no rows to extract', 'Use -extract with a SELECT (or another statement that returns rows)');
    csv!.end();
    await piped;
    await rename(partial, file);
  } catch (e) {
    csv?.destroy();
    out.destroy();
    await rm(partial, { force: true });
    throw e;
  }
  return { file, rows, columns, ms: performance.now() - started };
}
