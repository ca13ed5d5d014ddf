/**
 * Progress of long work, as jobs report it: how many units of a known total are done. Jobs only
 * call the callback; how it is shown (a bar on a terminal, periodic lines in a log, nothing in a
 * Lambda) is the caller's choice (functions/cli/progress.ts for the command line).
 */
export interface ProgressUpdate {
  /** What is being counted, plural: 'days', 'dates', 'steps', 'outputs'. */
  readonly unit: string;
  readonly done: number;
  readonly total: number;
  /** The unit just finished (a date, a dashboard), when there is one worth showing. */
  readonly label?: string;
}

export type OnProgress = (update: ProgressUpdate) => void;

/** Counts finished units of a known total: `step(label)` after each; reports 0 of total at once. */
export function progressCounter(onProgress: OnProgress | undefined, unit: string, total: number): (label?: string) => void {
  let done = 0;
  onProgress?.({ unit, done, total });
  return (label) => onProgress?.({ unit, done: ++done, total, label });
}
