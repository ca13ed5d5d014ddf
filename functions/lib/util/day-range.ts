/**
 * The days a job is asked to (re)compute: nothing (the days that changed), one day (`dt`), or a
 * range (`from`..`to`; `from` alone is that one day). The rollup and anomalies functions take it as
 * their event, the CLI as `--dt` / `--from` / `--to`; both refuse anything else with the reason.
 */
import { isIsoDate } from './dates';

export interface DayRange {
  dt?: string;
  from?: string;
  to?: string;
}

const EXAMPLE = '{}, { "dt": "2026-11-20" } or { "from": "2026-11-01", "to": "2026-11-20" }';

/** The combination rules, worded for `event.x` (functions) or `--x` (the CLI); null when the range is valid. */
export function dayRangeProblem(r: DayRange, name: (field: keyof DayRange) => string): string | null {
  if (r.dt && (r.from || r.to)) return `give ${name('dt')} or ${name('from')}/${name('to')}, not both`;
  if (r.to && !r.from) return `${name('to')} needs ${name('from')}`;
  if (r.from && r.to && r.to < r.from) return `${name('to')} ${r.to} is before ${name('from')} ${r.from}`;
  return null;
}

/** A function's event as a day range; `job` names the function in the errors. */
export function parseDayRangeEvent(event: unknown, job: string): DayRange {
  if (event === undefined || event === null) return {};
  if (typeof event !== 'object' || Array.isArray(event)) throw new Error(`the ${job} event must be an object such as ${EXAMPLE}, got ${JSON.stringify(event)}`);
  const { dt, from, to, ...rest } = event as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new Error(`the ${job} event accepts only "dt", "from" and "to", got ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const out: DayRange = {};
  for (const [name, value] of [['dt', dt], ['from', from], ['to', to]] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'string' || !isIsoDate(value)) throw new Error(`event.${name} must be a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
    out[name] = value;
  }
  const problem = dayRangeProblem(out, (f) => `event.${f}`);
  if (problem) throw new Error(problem);
  return out;
}
