// Find where a named restore point (pg_create_restore_point) lies in archived WAL segments.
// The XLOG_RESTORE_POINT record holds the name NUL-terminated in a 64-byte field.

import { segmentStartLsn } from '../../core/lsn.js';
import type { Lsn } from '../../core/lsn.js';

export interface SegmentSource {
  segno: bigint;
  read(): Promise<Buffer>;
}

const MAXFNAMELEN = 64;

/** The LSN of the first record naming `name`, searching the segments in order; undefined if none. */
export async function findRestorePoint(name: string, segments: SegmentSource[], segmentSize: number): Promise<Lsn | undefined> {
  const needle = Buffer.alloc(Math.min(Buffer.byteLength(name) + 1, MAXFNAMELEN));
  needle.write(name, 'utf8');
  for (const s of segments) {
    const data = await s.read();
    // A match inside table data would only make the choice of backup more conservative (older).
    const at = data.indexOf(needle);
    if (at >= 0) return (segmentStartLsn(s.segno, segmentSize) + BigInt(at)) as Lsn;
  }
  return undefined;
}
