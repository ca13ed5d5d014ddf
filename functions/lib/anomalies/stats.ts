/**
 * Robust statistics over an entity's own history: the median and the median absolute deviation
 * (MAD) of the trailing days, so one earlier spike does not move the baseline, and a weekday-aware
 * choice of days, so a quiet weekend or a holiday never makes Monday look like a spike.
 *
 * Baseline for day D: the days D-1 .. D-`days`, holidays left out (they are not normal days), of the
 * same kind as D (working days for a working day or a holiday, weekend days for a weekend day). When
 * fewer than `minSamples` of those have a value, a sparse series (a developer's active days, where
 * weekend work is rare) falls back to every non-holiday day in the window with a value; a dense one
 * (a team's days, idle days counted as 0) does not: a weekend is never judged against working days.
 * Fewer samples than that: no baseline, and nothing is judged (a new entity).
 */
import { addDays } from '../util/dates';

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median absolute deviation from the median. */
export function mad(xs: readonly number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

/**
 * The modified z-score of Iglewicz and Hoaglin, 0.6745 x (x - median) / MAD: about a standard
 * z-score for normal data, unmoved by outliers. With MAD 0 (a flat history) any rise is infinite.
 */
export function robustZ(x: number, med: number, madValue: number): number {
  if (madValue > 0) return (0.6745 * (x - med)) / madValue;
  return x > med ? Infinity : x < med ? -Infinity : 0;
}

export type DayKind = 'workday' | 'weekend' | 'holiday';

export function dayKind(dt: string, holidays: ReadonlySet<string>): DayKind {
  if (holidays.has(dt)) return 'holiday';
  const dow = new Date(`${dt}T00:00:00Z`).getUTCDay();
  return dow === 0 || dow === 6 ? 'weekend' : 'workday';
}

export interface BaselineOptions {
  days: number;
  minSamples: number;
  holidays: ReadonlySet<string>;
  /** false for series without a working week (error rates, latency): every day is of one kind. */
  weekdayAware: boolean;
  /** Sparse series only: too few days of D's kind, then every day (see the header). */
  fallbackToAllDays?: boolean;
}

export interface Baseline {
  median: number;
  mad: number;
  samples: number;
  /** Which days the samples are: for the message. */
  basis: 'working days' | 'weekend days' | 'days';
}

/** `value(d)` is the day's sample, or undefined when the day is no sample (an idle developer, before a team existed). */
export function baselineOf(dt: string, value: (d: string) => number | undefined, o: BaselineOptions): Baseline | null {
  const kind = dayKind(dt, o.holidays) === 'weekend' ? 'weekend' : 'workday';
  const same: number[] = [];
  const all: number[] = [];
  for (let k = 1; k <= o.days; k++) {
    const d = addDays(dt, -k);
    const dk = dayKind(d, o.holidays);
    if (dk === 'holiday') continue;
    const v = value(d);
    if (v === undefined) continue;
    all.push(v);
    if (dk === kind) same.push(v);
  }
  const pick: [number[], Baseline['basis']] | null = !o.weekdayAware
    ? all.length >= o.minSamples
      ? [all, 'days']
      : null
    : same.length >= o.minSamples
      ? [same, kind === 'weekend' ? 'weekend days' : 'working days']
      : o.fallbackToAllDays && all.length >= o.minSamples
        ? [all, 'days']
        : null;
  if (!pick) return null;
  return { median: median(pick[0]), mad: mad(pick[0]), samples: pick[0].length, basis: pick[1] };
}

/** Days from `from` to `to` inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}
