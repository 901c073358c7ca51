// How commands tell the user what is happening, without knowing about terminals: the CLI
// implements this with progress bars, plain lines or silence (--quiet).

export interface ProgressHandle {
  /** total may be refined as the source learns it (e.g. the server's estimate) */
  update(done: number, total?: number): void;
  stop(): void;
}

export type ProgressUnit = 'bytes' | 'rows';

export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  /** `unit` says how to show the counts: bytes (the default) or rows */
  progress(label: string, total: number, unit?: ProgressUnit): ProgressHandle;
}

/** A reporter that says nothing: library use and --quiet. */
export const silentReporter: Reporter = {
  info: () => undefined,
  warn: () => undefined,
  progress: () => ({ update: () => undefined, stop: () => undefined }),
};
