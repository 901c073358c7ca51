// The one catalogue of dbtool's errors: stable codes, exit codes, whether a retry may help.
// Every failure a user can see is a DbtoolError built here; bin.ts prints it as one line.

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/**
 * wal-get only: PostgreSQL reads any restore_command exit status up to 125 as "not archived" and
 * would end recovery early, silently; a status above 125 makes it stop recovery with an error.
 */
export const EXIT_ABORT_RECOVERY = 126;

interface CatalogueEntry {
  /** exit status: 1 for a failure of the operation, 2 for bad usage or bad input */
  exit: 1 | 2;
  retryable: boolean;
}

/** Stable error codes. Scripts may match on them; never rename one. */
export const catalogue = {
  USAGE: { exit: 2, retryable: false },
  CONFIG_INVALID: { exit: 2, retryable: false },
  REPO_NOT_FOUND: { exit: 2, retryable: false },
  REPO_EXISTS: { exit: 2, retryable: false },
  REPO_INVALID: { exit: 1, retryable: false },
  REPO_OTHER_CLUSTER: { exit: 2, retryable: false },
  REPO_LOCKED: { exit: 1, retryable: true },
  NO_BACKUP: { exit: 2, retryable: false },
  BACKUP_NOT_FOUND: { exit: 2, retryable: false },
  TARGET_INVALID: { exit: 2, retryable: false },
  TARGET_OUT_OF_RANGE: { exit: 2, retryable: false },
  TARGET_DIR_NOT_EMPTY: { exit: 2, retryable: false },
  TARGET_DB_NOT_EMPTY: { exit: 2, retryable: false },
  TARGET_DB_IN_USE: { exit: 1, retryable: true },
  DATABASE_NOT_FOUND: { exit: 2, retryable: false },
  CHUNK_CORRUPT: { exit: 1, retryable: false },
  CHUNK_MISSING: { exit: 1, retryable: false },
  MANIFEST_INVALID: { exit: 1, retryable: false },
  ARCHIVE_CONFLICT: { exit: 1, retryable: false },
  VERIFY_FAILED: { exit: 1, retryable: false },
  ARCHIVE_MISSING: { exit: 1, retryable: false },
  WAL_INVALID: { exit: 2, retryable: false },
  SERVER_UNREACHABLE: { exit: 1, retryable: true },
  SERVER_AUTH: { exit: 2, retryable: false },
  SERVER_PRIVILEGE: { exit: 2, retryable: false },
  SERVER_CONFIG: { exit: 2, retryable: false },
  SERVER_PROTOCOL: { exit: 1, retryable: false },
  SERVER_START_FAILED: { exit: 1, retryable: false },
  RECOVERY_FAILED: { exit: 1, retryable: false },
  TOOL_MISSING: { exit: 2, retryable: false },
  TOOL_FAILED: { exit: 1, retryable: false },
  STORAGE_IO: { exit: 1, retryable: true },
  STORAGE_NOT_FOUND: { exit: 1, retryable: false },
  STORAGE_REFUSED: { exit: 1, retryable: false },
  ABORTED: { exit: 1, retryable: false },
  CLOCK_SKEW: { exit: 1, retryable: false },
  INTERNAL: { exit: 1, retryable: false },
  PASSPHRASE_MISSING: { exit: 2, retryable: false },
  PASSPHRASE_WRONG: { exit: 2, retryable: false },
  PASSPHRASE_MISMATCH: { exit: 2, retryable: false },
  OBJECT_TAMPERED: { exit: 1, retryable: false },
  SQL_FAILED: { exit: 1, retryable: false },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof catalogue;

/**
 * A failure with a stable code. `message` says what failed and why; `hint` says what to do.
 * The CLI prints `dbtool: <message>. <hint>` on one line.
 */
export class DbtoolError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly retryable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DbtoolError';
    this.code = code;
    this.exitCode = catalogue[code].exit;
    this.retryable = catalogue[code].retryable;
    this.hint = hint;
  }

  /** The same error with another exit status (see EXIT_ABORT_RECOVERY). */
  withExitCode(exitCode: number): DbtoolError {
    const copy = new DbtoolError(this.code, this.message, this.hint, this.cause === undefined ? undefined : { cause: this.cause });
    (copy as { exitCode: number }).exitCode = exitCode;
    return copy;
  }

  /** The one line the CLI prints. */
  oneLine(): string {
    const msg = this.message.replace(/\s+/g, ' ').trim();
    return this.hint ? `${msg}. ${this.hint.replace(/\s+/g, ' ').trim()}` : msg;
  }
}

export function dbtoolError(code: ErrorCode, message: string, hint?: string, cause?: unknown): DbtoolError {
  return new DbtoolError(code, message, hint, cause === undefined ? undefined : { cause });
}

export function isDbtoolError(e: unknown): e is DbtoolError {
  return e instanceof DbtoolError;
}

/** The message of anything thrown, for wrapping. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
