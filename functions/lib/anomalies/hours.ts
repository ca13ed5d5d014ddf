/**
 * Use outside a developer's usual hours (user_hours_daily: api_request events per UTC hour). The
 * usual hours are every hour of day in which the developer made a request on any of their active
 * days in the previous `baselineDays`; they are known once there are `minActiveDays` such days
 * (config `anomalies.unusualHours`). A day alerts when the developer made at least `minRequests`
 * requests in hours that are at least `minDistanceHours` (4, on the 24-hour circle) from every usual
 * hour: work starting a little early or running a little late is not an alert, 3 a.m. is.
 */
import type { Config } from '../config/schema';
import { makeAnomaly, type Anomaly } from './anomaly';
import { addDays } from '../util/dates';

export interface HourRow {
  dt: string;
  userKey: string;
  hour: number;
  requests: number;
}

/** Distance between two hours of day on the 24-hour circle (23 and 1 are 2 apart). */
export const hourDistance = (a: number, b: number) => {
  const d = Math.abs(a - b) % 24;
  return Math.min(d, 24 - d);
};

const hh = (h: number) => `${String(((h % 24) + 24) % 24).padStart(2, '0')}:00`;

/** The shortest span of the clock covering every hour in `hours`, as "09:00-19:00 UTC". */
export function usualSpan(hours: ReadonlySet<number>): string {
  const hs = [...hours].sort((x, y) => x - y);
  if (!hs.length) return 'none';
  if (hs.length === 24) return 'all day';
  // The span is the complement of the largest gap between consecutive worked hours.
  let gapEnd = hs[0]!;
  let gap = hs[0]! + 24 - hs.at(-1)!;
  for (let i = 1; i < hs.length; i++) {
    if (hs[i]! - hs[i - 1]! > gap) {
      gap = hs[i]! - hs[i - 1]!;
      gapEnd = hs[i]!;
    }
  }
  const start = gapEnd;
  const end = (start + 24 - gap + 1) % 24;
  return `${hh(start)}-${hh(end)} UTC`;
}

export function detectUnusualHours(rows: readonly HourRow[], days: readonly string[], config: Config): Anomaly[] {
  const a = config.anomalies;
  const u = a.unusualHours;
  if (a.disabled.includes('unusual_hours')) return [];
  const byUser = new Map<string, Map<string, Map<number, number>>>();
  for (const r of rows) {
    let days = byUser.get(r.userKey);
    if (!days) byUser.set(r.userKey, (days = new Map()));
    let hours = days.get(r.dt);
    if (!hours) days.set(r.dt, (hours = new Map()));
    hours.set(r.hour, (hours.get(r.hour) ?? 0) + r.requests);
  }
  const out: Anomaly[] = [];
  for (const [user, byDay] of byUser) {
    for (const dt of days) {
      const today = byDay.get(dt);
      if (!today) continue;
      const usual = new Set<number>();
      let activeDays = 0;
      for (let k = 1; k <= a.baselineDays; k++) {
        const hours = byDay.get(addDays(dt, -k));
        if (!hours) continue;
        activeDays++;
        for (const h of hours.keys()) usual.add(h);
      }
      if (activeDays < u.minActiveDays) continue;
      const odd = [...today].filter(([h]) => [...usual].every((x) => hourDistance(x, h) >= u.minDistanceHours)).sort(([x], [y]) => x - y);
      const requests = odd.reduce((n, [, c]) => n + c, 0);
      if (requests < u.minRequests) continue;
      const distance = Math.min(...odd.map(([h]) => Math.min(...[...usual].map((x) => hourDistance(x, h)))));
      const when = odd.map(([h]) => `${hh(h)}-${hh(h + 1)}`).join(', ');
      out.push(
        makeAnomaly({
          dt,
          detector: 'unusual_hours',
          entityType: 'user',
          entity: user,
          observed: requests,
          baseline: 0,
          score: distance,
          severity: 'warning',
          message: `Developer ${user} made ${requests.toLocaleString('en-US')} requests on ${dt} at ${when} UTC, at least ${distance} hours from any hour they worked in the previous ${a.baselineDays} days (usually ${usualSpan(usual)}, ${activeDays} active days).`,
          details: {
            hours: Object.fromEntries(odd),
            usualHours: [...usual].sort((x, y) => x - y),
            activeDays,
            minDistanceHours: u.minDistanceHours,
            minRequests: u.minRequests,
          },
        }),
      );
    }
  }
  return out;
}
