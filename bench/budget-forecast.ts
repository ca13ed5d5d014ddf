/**
 * Budget forecast error (issue 18, part 3), on a generated lake of one full calendar month
 * (October 2026, 50 developers by default): generate, compact, catalog, rollup, then the
 * `budget_forecast_daily` view. For every team and cost center, and for the organisation (the sum
 * over cost centers), the month-end forecast made on day 10 is compared with the month's actual
 * total (month_to_date_usd on the 31st); beside it, the plain run rate (MTD / 10 x 31) as a
 * reference, and the mean absolute error of both over the forecasts of days 7 to 30.
 * Target: the organisation's day-10 forecast within 10% of the actual month.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { catalogFromConfig } from '../functions/lib/catalog/from-config';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import { compact } from '../functions/lib/jobs/compact';
import { generate } from '../functions/lib/jobs/generate';
import { syncPartitions } from '../functions/lib/jobs/partitions';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import type { BenchResult } from './run';

const config = parseConfig({});
const NOW = Date.parse('2026-11-02T00:00:00Z');
/** The organisation's day-10 forecast must be within this share of the actual month. */
export const ORG_DAY10_BOUND = 0.1;

export interface ForecastError {
  entityType: string;
  entity: string;
  forecastDay10: number;
  runRateDay10: number;
  actual: number;
  /** (forecast - actual) / actual at day 10. */
  error: number;
  runRateError: number;
  /** Mean |forecast - actual| / actual over the forecasts of days 7..30. */
  meanAbsError: number;
  runRateMeanAbsError: number;
}

/** Forecast errors for October 2026 of an already rolled-up lake, per entity and for the organisation. */
export async function forecastErrors(engine: LocalQueryEngine): Promise<ForecastError[]> {
  const { rows } = await engine.query(`
    WITH f AS (
      SELECT dt, entity_type, entity, month_to_date_usd, forecast_month_usd FROM budget_forecast_daily
      UNION ALL
      SELECT dt, 'organisation', 'all', sum(month_to_date_usd), sum(forecast_month_usd)
      FROM budget_forecast_daily WHERE entity_type = 'cost_center' GROUP BY dt
    ),
    a AS (SELECT entity_type, entity, month_to_date_usd AS actual FROM f WHERE dt = DATE '2026-10-31')
    SELECT
      f.entity_type, f.entity, a.actual,
      max(f.forecast_month_usd) FILTER (WHERE day(f.dt) = 10) AS forecast_day10,
      max(f.month_to_date_usd / 10 * 31) FILTER (WHERE day(f.dt) = 10) AS run_rate_day10,
      avg(abs(f.forecast_month_usd - a.actual)) FILTER (WHERE day(f.dt) BETWEEN 7 AND 30) / a.actual AS mae,
      avg(abs(f.month_to_date_usd / day(f.dt) * 31 - a.actual)) FILTER (WHERE day(f.dt) BETWEEN 7 AND 30) / a.actual AS run_rate_mae
    FROM f JOIN a ON a.entity_type = f.entity_type AND a.entity = f.entity
    WHERE f.dt BETWEEN DATE '2026-10-01' AND DATE '2026-10-31'
    GROUP BY f.entity_type, f.entity, a.actual
    ORDER BY f.entity_type, f.entity`);
  return rows.map((r) => {
    const actual = Number(r.actual);
    const forecastDay10 = Number(r.forecast_day10);
    const runRateDay10 = Number(r.run_rate_day10);
    return {
      entityType: String(r.entity_type),
      entity: String(r.entity),
      forecastDay10,
      runRateDay10,
      actual,
      error: (forecastDay10 - actual) / actual,
      runRateError: (runRateDay10 - actual) / actual,
      meanAbsError: Number(r.mae),
      runRateMeanAbsError: Number(r.run_rate_mae),
    };
  });
}

export async function benchBudgetForecast(users = 50, seed = 'budget-forecast'): Promise<BenchResult> {
  const dir = path.join(tmpdir(), 'cclake-bench-cache', `work-budget-forecast-${users}u`);
  rmSync(dir, { recursive: true, force: true });
  const store = new LocalObjectStore(dir);
  const catalog = catalogFromConfig(config, store);
  await generate(store, config, { users, days: 31, end: '2026-10-31', seed });
  await compact(store, catalog, config, { now: NOW });
  await syncPartitions(store, catalog, config, { now: NOW });
  const engine = await LocalQueryEngine.open(store, config);
  let errors: ForecastError[];
  try {
    await rollup(store, catalog, engine, config, { now: NOW });
    errors = await forecastErrors(engine);
  } finally {
    engine.close();
  }
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
  const usd = (x: number) => `$${x.toFixed(2)}`;
  const org = errors.find((e) => e.entityType === 'organisation')!;
  return {
    name: `budget forecast error: ${users} developers, October 2026 (generate seed '${seed}'), forecast on day 10 vs the month's actual`,
    lines: [
      'entity: day-10 forecast (weekday/weekend) vs actual = error | plain run rate error | mean |error| days 7-30: forecast, run rate',
      ...errors.map(
        (e) =>
          `${e.entityType} ${e.entity}: ${usd(e.forecastDay10)} vs ${usd(e.actual)} = ${pct(e.error)} | ${pct(e.runRateError)} | ${(100 * e.meanAbsError).toFixed(1)}%, ${(100 * e.runRateMeanAbsError).toFixed(1)}%`,
      ),
    ],
    target: { description: `organisation's day-10 forecast within ${100 * ORG_DAY10_BOUND}% of the actual month`, met: Math.abs(org.error) <= ORG_DAY10_BOUND },
  };
}
