// Progress for people: a bar with bytes, rate and ETA on a TTY, a plain line every few seconds
// when piped, nothing with --quiet. Messages go to stderr; stdout carries results.

import cliProgress from 'cli-progress';
import type { ProgressHandle, ProgressUnit, Reporter } from '../core/reporter.js';
import { formatBytes } from './format.js';

export interface ReporterOptions {
  quiet: boolean;
  tty: boolean;
  stream?: NodeJS.WriteStream;
  /** seconds between plain progress lines when not on a TTY */
  plainInterval?: number;
}

function formatCount(n: number, unit: ProgressUnit): string {
  return unit === 'rows' ? `${Math.round(n).toLocaleString('en-US')} rows` : formatBytes(n);
}

function barProgress(label: string, total: number, stream: NodeJS.WriteStream, unit: ProgressUnit = 'bytes'): ProgressHandle {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% {doneText}/{totalText} {rateText} ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  const payload = (done: number, t: number) => ({
    doneText: formatCount(done, unit),
    totalText: formatCount(t, unit),
    rateText: `${formatCount(done / Math.max(0.001, (Date.now() - started) / 1000), unit)}/s`,
  });
  let currentTotal = Math.max(1, total);
  bar.start(currentTotal, 0, payload(0, currentTotal));
  return {
    update(done, t) {
      if (t !== undefined && t !== currentTotal) {
        currentTotal = Math.max(1, t);
        bar.setTotal(currentTotal);
      }
      bar.update(done, payload(done, currentTotal));
    },
    stop() {
      bar.stop();
    },
  };
}

function plainProgress(label: string, total: number, stream: NodeJS.WriteStream, intervalS: number, unit: ProgressUnit = 'bytes'): ProgressHandle {
  const started = Date.now();
  let last = started;
  let done = 0;
  let currentTotal = total;
  const line = () => {
    const secs = (Date.now() - started) / 1000;
    const rate = done / Math.max(0.001, secs);
    const pct = currentTotal > 0 ? Math.min(100, Math.round((done / currentTotal) * 100)) : 0;
    const eta = rate > 0 && currentTotal > done ? `, ETA ${Math.round((currentTotal - done) / rate)} s` : '';
    stream.write(`${label}: ${formatCount(done, unit)} of ~${formatCount(currentTotal, unit)} (${pct}%), ${formatCount(rate, unit)}/s${eta}\n`);
  };
  return {
    update(d, t) {
      done = d;
      if (t !== undefined) currentTotal = t;
      if (Date.now() - last >= intervalS * 1000) {
        last = Date.now();
        line();
      }
    },
    stop() {
      line();
    },
  };
}

export function makeReporter(o: ReporterOptions): Reporter {
  const stream = o.stream ?? process.stderr;
  if (o.quiet) {
    return { info: () => undefined, warn: (m) => stream.write(`dbtool: warning: ${m}\n`), progress: () => ({ update: () => undefined, stop: () => undefined }) };
  }
  return {
    info: (m) => stream.write(`${m}\n`),
    warn: (m) => stream.write(`dbtool: warning: ${m}\n`),
    progress: (label, total, unit) => (o.tty ? barProgress(label, total, stream, unit) : plainProgress(label, total, stream, o.plainInterval ?? 10, unit)),
  };
}
