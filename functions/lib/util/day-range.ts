/**
 * The days a job is asked to (re)compute: nothing (the days that changed), one day (`dt`), or a
 * range (`from`..`to`; `from` alone is that one day). The rollup and anomalies functions take it as
 * their event (functions/lib/ops/event.ts `DAY_RANGE_EVENT`), the CLI as `--dt` / `--from` / `--to`;
 * both refuse anything else with the reason.
 */

export interface DayRange {
  dt?: string;
  from?: string;
  to?: string;
}

/** The combination rules, worded for `event.x` (functions) or `--x` (the CLI); null when the range is valid. */
export function dayRangeProblem(r: DayRange, name: (field: keyof DayRange) => string): string | null {
  if (r.dt && (r.from || r.to)) return `give ${name('dt')} or ${name('from')}/${name('to')}, not both`;
  if (r.to && !r.from) return `${name('to')} needs ${name('from')}`;
  if (r.from && r.to && r.to < r.from) return `${name('to')} ${r.to} is before ${name('from')} ${r.from}`;
  return null;
}
