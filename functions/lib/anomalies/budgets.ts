/**
 * Monthly budgets per cost center and team (config `budgets`, written by the rollup as the seed
 * `budgets`), in USD of the cost as billed (per developer-day the priced cost where the price table
 * covers it, else the reported cost). The numbers come from the `budget_forecast_daily` view
 * (sql/views/R__52_budget_forecast_daily.sql), the one place they are computed:
 *
 *  - Spend to date, MTD(D): the month's cost from its first day through D.
 *  - Forecast F(D): MTD(D) plus each remaining day of the month at the entity's weekday or weekend
 *    rate (the mean cost of the month's weekdays, or weekend days, so far; of the last 28 days when
 *    the month has fewer than 3 weekdays or 2 weekend days yet).
 *  - exhausted_on: the first day the cumulative cost, actual then forecast, reaches the budget.
 *
 *  - `budget` alerts once per month and threshold t (default 0.8 and 1.0): on the day spend to date
 *    first reaches t x budget (MTD(D) >= t x B > MTD(D-1)). Critical from t >= 1.
 *  - `budget_forecast` alerts once per month and threshold t >= 1: on the first day, from day
 *    `forecastFromDay` (7) of the month, whose forecast reaches t x budget while the spend to date is
 *    still below it (a warning ahead of the overrun, naming the day the budget is expected to run
 *    out; once actual spend crosses, `budget` says so).
 * Both are stateless: the same day always gives the same answer, so a rerun finds the same alerts.
 */
import type { Config } from '../config/schema';
import { addDays } from '../util/dates';
import { makeAnomaly, pct, usd, type Anomaly } from './anomaly';

/** One row of `budget_forecast_daily` for an entity with a budget. */
export interface BudgetDayRow {
  dt: string;
  entityType: 'team' | 'cost_center';
  entity: string;
  monthToDateUsd: number;
  forecastMonthUsd: number;
  budgetUsd: number;
  /** The day the budget is reached (actual or forecast) within the month; null if it is not. */
  exhaustedOn: string | null;
}

export const daysInMonth = (dt: string) => new Date(Date.UTC(Number(dt.slice(0, 4)), Number(dt.slice(5, 7)), 0)).getUTCDate();
export const dayOfMonth = (dt: string) => Number(dt.slice(8, 10));
export const monthStart = (dt: string) => `${dt.slice(0, 7)}-01`;

const monthName = (dt: string) => new Date(`${dt}T00:00:00Z`).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });

export function detectBudgets(rows: readonly BudgetDayRow[], days: readonly string[], config: Config): Anomaly[] {
  const b = config.budgets;
  const byEntity = new Map<string, Map<string, BudgetDayRow>>();
  for (const r of rows) {
    const k = `${r.entityType}\u0001${r.entity}`;
    if (!byEntity.has(k)) byEntity.set(k, new Map());
    byEntity.get(k)!.set(r.dt, r);
  }
  const thresholds = [...new Set(b.thresholds)].sort((x, y) => x - y);
  const out: Anomaly[] = [];
  for (const series of byEntity.values()) {
    /** The entity's rows of D's month through D. */
    const toDate = (dt: string) => [...series.values()].filter((r) => r.dt >= monthStart(dt) && r.dt <= dt).sort((x, y) => x.dt.localeCompare(y.dt));
    for (const dt of days) {
      const row = series.get(dt);
      if (!row) continue;
      const { entityType: type, entity, monthToDateUsd: mtd, forecastMonthUsd: forecast, budgetUsd: budget, exhaustedOn } = row;
      const noun = type === 'team' ? `Team ${entity}` : `Cost center ${entity}`;
      const yesterday = addDays(dt, -1);
      const before = yesterday >= monthStart(dt) ? (series.get(yesterday)?.monthToDateUsd ?? 0) : 0;
      const runsOut = exhaustedOn ? `; the budget runs out on ${exhaustedOn}` : '';
      const details = (t: number) => ({
        threshold: t,
        month: dt.slice(0, 7),
        spendToDate: mtd,
        forecast,
        exhaustedOn,
        elapsedDays: dayOfMonth(dt),
        daysInMonth: daysInMonth(dt),
      });
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
              message: `${noun} has spent ${usd(mtd)} of its ${monthName(dt)} budget of ${usd(budget)} by ${dt} (${pct(mtd / budget)}, past the ${pct(t)} threshold); at this month's weekday and weekend rates it will spend ${usd(forecast)} (${pct(forecast / budget)}) by month end${runsOut}.`,
              details: details(t),
            }),
          );
        }
        if (t < 1 || config.anomalies.disabled.includes('budget_forecast') || dayOfMonth(dt) < b.forecastFromDay || mtd >= t * budget || forecast < t * budget)
          continue;
        // The first day from forecastFromDay on whose forecast reached the threshold (with actual below).
        const earlier = toDate(dt).some(
          (m) => m.dt < dt && dayOfMonth(m.dt) >= b.forecastFromDay && m.monthToDateUsd < t * budget && m.forecastMonthUsd >= t * budget,
        );
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
            message: `${noun} is on course to spend ${usd(forecast)} in ${monthName(dt)}, ${pct(forecast / budget)} of its budget of ${usd(budget)}: ${usd(mtd)} in the first ${dayOfMonth(dt)} of ${daysInMonth(dt)} days${runsOut}.`,
            details: details(t),
          }),
        );
      }
    }
  }
  return out;
}
