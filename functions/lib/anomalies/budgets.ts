/**
 * Monthly budgets per cost center and team (config `budgets`), in USD of the cost chargeback bills
 * (per developer-day the priced cost where the price table covers it, else the reported cost).
 *
 *  - Spend to date, MTD(D): the month's cost from its first day through D.
 *  - Forecast, F(D) = MTD(D) / d x n, where d is D's day of the month (days elapsed, D included: a
 *    run after the rollup of D has D's full day) and n the days in the month: the month's run rate
 *    carried to its end.
 *  - `budget` alerts once per month and threshold t (default 0.8 and 1.0): on the day spend to date
 *    first reaches t x budget (MTD(D) >= t x B > MTD(D-1)). Critical from t >= 1.
 *  - `budget_forecast` alerts once per month and threshold t >= 1: on the first day, from day
 *    `forecastFromDay` (7) of the month, whose forecast reaches t x budget while the spend to date is
 *    still below it (a warning ahead of the overrun; once actual spend crosses, `budget` says so).
 * Both are stateless: the same day always gives the same answer, so a rerun finds the same alerts.
 */
import type { Config } from '../config/schema';
import { addDays } from '../util/dates';
import { makeAnomaly, pct, usd, type Anomaly } from './anomaly';

export interface SpendRow {
  dt: string;
  entityType: 'team' | 'cost_center';
  entity: string;
  costUsd: number;
}

export const daysInMonth = (dt: string) => new Date(Date.UTC(Number(dt.slice(0, 4)), Number(dt.slice(5, 7)), 0)).getUTCDate();
export const dayOfMonth = (dt: string) => Number(dt.slice(8, 10));
export const monthStart = (dt: string) => `${dt.slice(0, 7)}-01`;

/** The month-end forecast from the spend to date: MTD / elapsed days x days in the month. */
export function forecastMonth(spendToDate: number, dt: string): number {
  return (spendToDate / dayOfMonth(dt)) * daysInMonth(dt);
}

const monthName = (dt: string) => new Date(`${dt}T00:00:00Z`).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });

export function detectBudgets(rows: readonly SpendRow[], days: readonly string[], config: Config): Anomaly[] {
  const b = config.budgets;
  const budgets: { type: SpendRow['entityType']; entity: string; budget: number }[] = [
    ...b.costCenters.map((c) => ({ type: 'cost_center' as const, entity: c.costCenter, budget: c.monthlyUsd })),
    ...b.teams.map((t) => ({ type: 'team' as const, entity: t.team, budget: t.monthlyUsd })),
  ];
  if (!budgets.length) return [];
  const spend = new Map<string, number>();
  for (const r of rows)
    spend.set(`${r.entityType}\u0001${r.entity}\u0001${r.dt}`, (spend.get(`${r.entityType}\u0001${r.entity}\u0001${r.dt}`) ?? 0) + r.costUsd);
  const thresholds = [...new Set(b.thresholds)].sort((x, y) => x - y);
  const out: Anomaly[] = [];
  for (const { type, entity, budget } of budgets) {
    /** Spend to date for each day of D's month through D. */
    const toDate = (dt: string) => {
      const out: { dt: string; mtd: number }[] = [];
      let mtd = 0;
      for (let d = monthStart(dt); d <= dt; d = addDays(d, 1)) {
        mtd += spend.get(`${type}\u0001${entity}\u0001${d}`) ?? 0;
        out.push({ dt: d, mtd });
      }
      return out;
    };
    const noun = type === 'team' ? `Team ${entity}` : `Cost center ${entity}`;
    for (const dt of days) {
      const month = toDate(dt);
      const mtd = month.at(-1)!.mtd;
      const before = month.length > 1 ? month.at(-2)!.mtd : 0;
      const forecast = forecastMonth(mtd, dt);
      const key = (t: number) => `${dt.slice(0, 7)}:${t}`;
      for (const t of thresholds) {
        if (!config.anomalies.disabled.includes('budget') && mtd >= t * budget && before < t * budget) {
          out.push(
            makeAnomaly({
              dt,
              detector: 'budget',
              entityType: type,
              entity,
              key: key(t),
              observed: mtd,
              baseline: budget,
              score: mtd / budget,
              severity: t >= 1 ? 'critical' : 'warning',
              message: `${noun} has spent ${usd(mtd)} of its ${monthName(dt)} budget of ${usd(budget)} by ${dt} (${pct(mtd / budget)}, past the ${pct(t)} threshold); at this month's run rate it will spend ${usd(forecast)} (${pct(forecast / budget)}) by month end.`,
              details: { threshold: t, month: dt.slice(0, 7), spendToDate: mtd, forecast, elapsedDays: dayOfMonth(dt), daysInMonth: daysInMonth(dt) },
            }),
          );
        }
        if (t < 1 || config.anomalies.disabled.includes('budget_forecast') || dayOfMonth(dt) < b.forecastFromDay || mtd >= t * budget || forecast < t * budget)
          continue;
        // The first day from forecastFromDay on whose forecast reached the threshold (with actual below).
        const earlier = month.some((m) => m.dt < dt && dayOfMonth(m.dt) >= b.forecastFromDay && m.mtd < t * budget && forecastMonth(m.mtd, m.dt) >= t * budget);
        if (earlier) continue;
        out.push(
          makeAnomaly({
            dt,
            detector: 'budget_forecast',
            entityType: type,
            entity,
            key: key(t),
            observed: forecast,
            baseline: budget,
            score: forecast / budget,
            severity: 'warning',
            message: `${noun} is on course to spend ${usd(forecast)} in ${monthName(dt)}, ${pct(forecast / budget)} of its budget of ${usd(budget)}: ${usd(mtd)} in the first ${dayOfMonth(dt)} of ${daysInMonth(dt)} days.`,
            details: { threshold: t, month: dt.slice(0, 7), spendToDate: mtd, forecast, elapsedDays: dayOfMonth(dt), daysInMonth: daysInMonth(dt) },
          }),
        );
      }
    }
  }
  return out;
}
