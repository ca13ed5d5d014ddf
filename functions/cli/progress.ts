/**
 * How the command line shows a job's progress (functions/lib/ops/progress.ts) on stderr, so stdout
 * stays the command's result: on a terminal one bar redrawn in place with counts, rate-based ETA
 * and the unit being worked on; otherwise (CI logs, pipes) a plain line at most every `everyMs`
 * and a last one at the end, so a long job's log neither floods nor goes silent for minutes, and a
 * job shorter than `everyMs` prints nothing at all.
 */
import type { OnProgress, ProgressUpdate } from '../lib/ops/progress';

export interface ProgressSink {
  isTTY: boolean;
  write(text: string): void;
}

export interface ProgressOptions {
  /** Minimum time between plain lines (default 5 s). */
  everyMs?: number;
  now?: () => number;
}

const BAR = 24;

/** m:ss or h:mm:ss. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The text of one update: `compact [#####...] 3/10 dates 30% ETA 0:14 2026-11-03`. */
export function progressLine(title: string, u: ProgressUpdate, elapsedMs: number, withBar: boolean): string {
  const frac = u.total > 0 ? Math.min(1, u.done / u.total) : 1;
  const parts = [title];
  if (withBar) parts.push(`[${'#'.repeat(Math.round(frac * BAR)).padEnd(BAR, '.')}]`);
  parts.push(`${u.done}/${u.total} ${u.unit}`, `${Math.floor(frac * 100)}%`);
  if (u.done >= u.total) parts.push(`in ${formatDuration(elapsedMs)}`);
  else if (u.done > 0) parts.push(`ETA ${formatDuration((elapsedMs / u.done) * (u.total - u.done))}`);
  if (u.label) parts.push(u.label);
  return parts.join(' ');
}

/** A progress callback that draws on `sink` (process.stderr by default). */
export function progressReporter(title: string, sink: ProgressSink = process.stderr, options: ProgressOptions = {}): OnProgress {
  const now = options.now ?? Date.now;
  const everyMs = options.everyMs ?? 5000;
  const started = now();
  let lastLine = started;
  let printed = false;
  let width = 0;
  let finished = false;
  return (u) => {
    if (finished) return;
    const t = now();
    const end = u.done >= u.total;
    if (sink.isTTY) {
      const text = progressLine(title, u, t - started, true).slice(0, 100);
      sink.write(`\r${text.padEnd(width)}${end ? '\n' : ''}`);
      width = Math.max(width, text.length);
    } else if ((end && printed) || (!end && t - lastLine >= everyMs)) {
      sink.write(`${progressLine(title, u, t - started, false)}\n`);
      lastLine = t;
      printed = true;
    }
    finished = end;
  };
}

/** The progress reporter of a command, when the command line's output has somewhere to draw it. */
export function progressOf(io: { progress?: ProgressSink }, title: string): OnProgress | undefined {
  return io.progress ? progressReporter(title, io.progress) : undefined;
}
