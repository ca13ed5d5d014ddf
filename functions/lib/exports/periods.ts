/**
 * Months and days of the reporting time zone as UTC instants, for the exports (FOCUS date/times are
 * UTC, 'YYYY-MM-DDTHH:mm:ssZ'; `dt` partitions are days of `reporting.timeZone`).
 */
import { addDays, dateIn } from '../util/dates';

export const isMonth = (s: string) => /^\d{4}-(0[1-9]|1[0-2])$/.test(s);

export function monthDays(month: string): { first: string; last: string } {
  const first = `${month}-01`;
  return { first, last: addDays(`${nextMonth(month)}-01`, -1) };
}

export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

export function previousMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
}

/** The month ('YYYY-MM') an instant falls in, in a time zone. */
export const monthIn = (timeZone: string, ms: number) => dateIn(timeZone, ms).slice(0, 7);

/** How far the zone's wall clock is ahead of UTC at an instant, in ms. */
function offsetMs(timeZone: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(ms);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(ms / 1000) * 1000;
}

/** The first instant of a calendar day in a time zone, as epoch ms. */
export function startOfDay(day: string, timeZone: string): number {
  const wall = Date.parse(`${day}T00:00:00Z`);
  let t = wall - offsetMs(timeZone, wall);
  t = wall - offsetMs(timeZone, t); // a DST change between the guess and the answer
  // A zone whose clocks skip midnight starts the day at the first instant that exists.
  while (dateIn(timeZone, t) < day) t += 15 * 60_000;
  while (dateIn(timeZone, t - 1) === day) t -= 15 * 60_000;
  return t;
}

/** FOCUS date/time: 'YYYY-MM-DDTHH:mm:ssZ' (UTC, whole seconds). */
export const isoSeconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
