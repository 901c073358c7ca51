// Time in dbtool is UTC: backup labels, stored times, and parsing of user-given target times.

import { dbtoolError } from './errors.js';

export type BackupKind = 'full' | 'diff' | 'incr' | 'logical';

const KIND_LETTER: Record<BackupKind, string> = { full: 'F', diff: 'D', incr: 'I', logical: 'L' };
const LABEL_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-([FDIL])$/;

/** `20261121T221000Z-F`: the start time in UTC, to the second, and the kind's letter. */
export function makeLabel(start: Date, kind: BackupKind): string {
  const iso = start.toISOString(); // 2026-11-21T22:10:00.123Z
  const compact = iso.slice(0, 19).replace(/[-:]/g, '');
  return `${compact}Z-${KIND_LETTER[kind]}`;
}

export function isLabel(text: string): boolean {
  return LABEL_RE.test(text);
}

export function labelTime(label: string): Date {
  const m = LABEL_RE.exec(label);
  if (!m) throw dbtoolError('USAGE', `'${label}' is not a backup label`, 'Labels look like 20261121T221000Z-F; see `dbtool info`');
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

// ISO-8601 date-time with an explicit zone: Z, ±HH, ±HHMM or ±HH:MM. A space may stand for 'T'.
const ISO_ZONED_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;
const ISO_UNZONED_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?$/;

export interface ParsedTime {
  /** the instant, to the millisecond */
  date: Date;
  /** microseconds within the second, for PostgreSQL's microsecond timestamps */
  micros: number;
}

/**
 * Parse a user-given time. A zone or offset is required: "12:00" means different instants on
 * the server, the client and in the repository, so guessing would restore to the wrong point.
 */
export function parseZonedTime(text: string): ParsedTime {
  const t = text.trim();
  const m = ISO_ZONED_RE.exec(t);
  if (!m) {
    if (ISO_UNZONED_RE.test(t)) {
      throw dbtoolError(
        'TARGET_INVALID',
        `the time '${text}' has no time zone, so it could mean different instants`,
        `Add a zone or offset, e.g. '${t.replace(' ', 'T')}Z' for UTC or '${t.replace(' ', 'T')}+01:00'`,
      );
    }
    throw dbtoolError('TARGET_INVALID', `'${text}' is not an ISO-8601 time`, "Write e.g. '2026-11-21T22:10:00Z' or '2026-11-21 23:10:00+01:00'");
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = +y!, month = +mo!, day = +d!, hour = +h!, minute = +mi!, second = s ? +s : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    throw dbtoolError('TARGET_INVALID', `'${text}' is not a valid date and time`, "Write e.g. '2026-11-21T22:10:00Z'");
  }
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = +digits.slice(0, 2);
    const om = digits.length > 2 ? +digits.slice(2, 4) : 0;
    if (oh > 23 || om > 59) throw dbtoolError('TARGET_INVALID', `'${zone}' in '${text}' is not a valid UTC offset`, 'Offsets go from -23:59 to +23:59');
    offsetMinutes = sign * (oh * 60 + om);
  }
  const fracDigits = (frac ?? '').padEnd(6, '0').slice(0, 6);
  const micros = Number(fracDigits);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, Math.floor(micros / 1000)) - offsetMinutes * 60_000;
  const date = new Date(ms);
  if (new Date(Date.UTC(year, month - 1, day)).getUTCMonth() !== month - 1) {
    throw dbtoolError('TARGET_INVALID', `'${text}' is not a valid date`, 'Check the day of the month');
  }
  return { date, micros };
}

/** The instant as PostgreSQL accepts it for recovery_target_time, in UTC with microseconds. */
export function formatPgTimestamp(t: ParsedTime): string {
  const iso = t.date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(t.micros).padStart(6, '0')}+00`;
}

export function nowUtc(): Date {
  return new Date();
}

export function isoUtc(d: Date): string {
  return d.toISOString();
}
