/**
 * budget_forecast_daily (issue 18, part 3) on a hand-built lake, real Parquet and DuckDB, against a
 * hand computation. Reporting time zone UTC; the rollups cover 2026-10-26 (Monday) .. 2026-11-10
 * (Tuesday). November 2026 starts on a Sunday: 21 weekdays, 9 weekend days.
 *
 * Developer u1 (team alpha, cost center CC-A) uses an Opus model the price table lacks, so the cost
 * as billed is the reported cost:
 *   Oct 26 Mon 4, 27 Tue 6, 28 Wed 8, 29 Thu 2, 30 Fri 5, 31 Sat 1,
 *   Nov 1 Sun 3, 2 Mon 10, 3 Tue 20, 4 Wed 12, 5 Thu -, 6 Fri 9, 7 Sat 4, 8 Sun -, 9 Mon 15, 10 Tue 7
 *   (no activity on Nov 5 and Nov 8: days of 0).
 * Developer u2 (team beta, CC-A), Nov 4: 1,000,000 input tokens of Sonnet at $3 per million, priced
 * $3 (the reported $100 is not what is billed).
 * Budgets: team alpha $150, team gamma $10 (no spend), cost center CC-A $50.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../functions/lib/catalog/local';
import { parseConfig } from '../functions/lib/config/load';
import { LocalQueryEngine } from '../functions/lib/engine/local';
import type { Anomaly } from '../functions/lib/anomalies/anomaly';
import { LocalNotifier } from '../functions/lib/anomalies/notifier/local';
import { detectAnomalies } from '../functions/lib/jobs/anomalies';
import { compact } from '../functions/lib/jobs/compact';
import { rollup } from '../functions/lib/jobs/rollup';
import { LocalObjectStore } from '../functions/lib/store/local';
import { putRaw, rec, tempDirs } from './helpers/compaction-lake';

const tmp = tempDirs('cclake-budget-forecast-test-');
afterAll(() => tmp.cleanup());

const config = parseConfig({
  prices: {
    book: 'none',
    version: 'test',
    rows: [{ model: '*claude-sonnet-4*', validFrom: '2026-01-01', input: 3, output: 15, cacheRead: 0.3, cacheCreation: 3.75 }],
  },
  budgets: {
    teams: [
      { team: 'alpha', monthlyUsd: 150 },
      { team: 'gamma', monthlyUsd: 10 },
    ],
    costCenters: [{ costCenter: 'CC-A', monthlyUsd: 50 }],
  },
});

const U1_COST: Record<string, number> = {
  '2026-10-26': 4,
  '2026-10-27': 6,
  '2026-10-28': 8,
  '2026-10-29': 2,
  '2026-10-30': 5,
  '2026-10-31': 1,
  '2026-11-01': 3,
  '2026-11-02': 10,
  '2026-11-03': 20,
  '2026-11-04': 12,
  '2026-11-06': 9,
  '2026-11-07': 4,
  '2026-11-09': 15,
  '2026-11-10': 7,
};

interface Row {
  dt: string;
  entity_type: string;
  entity: string;
  month_to_date_usd: number;
  forecast_month_usd: number;
  budget_usd: number | null;
  exhausted_on: string | null;
}

describe('budget_forecast_daily', () => {
  let rows: Row[];
  let alerts: Anomaly[];
  const row = (dt: string, entityType: string, entity: string) => rows.find((r) => r.dt === dt && r.entity_type === entityType && r.entity === entity);

  beforeAll(async () => {
    const store = new LocalObjectStore(tmp.make());
    mkdirSync(path.join(store.root, 'reference'), { recursive: true });
    writeFileSync(
      path.join(store.root, 'reference', 'org-directory.csv'),
      [
        'user_email,user_id,team,department,cost_center,valid_from,valid_to',
        'u1@example.com,u1,alpha,eng,CC-A,2026-01-01,',
        'u2@example.com,u2,beta,eng,CC-A,2026-01-01,',
      ].join('\n') + '\n',
    );
    await putRaw(store, '2026-11-10T23:30:00Z', [
      ...Object.entries(U1_COST).map(([dt, cost]) => rec(`${dt}T12:00:00Z`, 'u1', { model: 'claude-opus-4-1-20250805', cost_usd: cost })),
      rec('2026-11-04T12:00:00Z', 'u2', { model: 'claude-sonnet-4-5', input_tokens: 1_000_000, output_tokens: 0, cost_usd: 100 }),
    ]);
    const catalog = new LocalCatalog(store, config.aws.glueDatabase);
    await compact(store, catalog, config, { now: Date.parse('2026-11-11T00:00:00Z') });
    const engine = await LocalQueryEngine.open(store, config);
    try {
      await rollup(store, catalog, engine, config, { now: Date.parse('2026-11-11T02:00:00Z') });
      rows = (await engine.query(`SELECT * FROM budget_forecast_daily ORDER BY entity_type, entity, dt`)).rows as unknown as Row[];
      const run = await detectAnomalies(store, catalog, engine, new LocalNotifier(store, () => {}), config, { now: Date.parse('2026-11-11T03:00:00Z') });
      alerts = run.anomalies.filter((a) => a.detector.startsWith('budget')).sort((a, b) => a.dt.localeCompare(b.dt));
    } finally {
      engine.close();
    }
  }, 120_000);

  it('month to date: the cost as billed from the first of the month, the priced cost where there is one, else the reported cost', () => {
    expect(row('2026-10-31', 'team', 'alpha')).toMatchObject({ month_to_date_usd: 4 + 6 + 8 + 2 + 5 + 1 });
    expect(row('2026-11-01', 'team', 'alpha')).toMatchObject({ month_to_date_usd: 3 });
    expect(row('2026-11-05', 'team', 'alpha')).toMatchObject({ month_to_date_usd: 3 + 10 + 20 + 12 }); // a day without spend adds 0
    expect(row('2026-11-10', 'team', 'alpha')).toMatchObject({ month_to_date_usd: 80 });
    expect(row('2026-11-10', 'team', 'beta')).toMatchObject({ month_to_date_usd: 3, budget_usd: null, exhausted_on: null }); // priced $3, not the reported $100
    expect(row('2026-11-10', 'cost_center', 'CC-A')!.month_to_date_usd).toBeCloseTo(83, 9);
  });

  it('forecast on a month with enough days: the month so far, weekdays and weekend days at their own rates', () => {
    // Nov 10: weekdays so far Nov 2, 3, 4, 5, 6, 9, 10 cost 73 (rate 73/7), weekend days Nov 1, 7, 8
    // cost 7 (rate 7/3); left: 21 - 7 = 14 weekdays and 9 - 3 = 6 weekend days.
    // 80 + 14 x 73/7 + 6 x 7/3 = 80 + 146 + 14 = 240.
    const r = row('2026-11-10', 'team', 'alpha')!;
    expect(r.forecast_month_usd).toBeCloseTo(240, 9);
    // Budget 150: 80, then +73/7 a weekday and +7/3 a weekend day: Nov 18 (Wed) 147.24, Nov 19 157.67.
    expect(r).toMatchObject({ budget_usd: 150, exhausted_on: '2026-11-19' });
  });

  it('forecast early in the month: the trailing 28 days stand in for a kind of day the month has too few of', () => {
    // Nov 3: only 2 weekdays this month (< 3): the weekdays of the 28 days ending Nov 3 the lake has,
    // Oct 26..30 and Nov 2, 3, cost 4+6+8+2+5+10+20 = 55 (rate 55/7); one weekend day (< 2): Oct 31
    // and Nov 1, cost 1+3 = 4 (rate 2). Left: 19 weekdays, 8 weekend days.
    // 33 + 19 x 55/7 + 8 x 2 = 198.2857...
    const r = row('2026-11-03', 'team', 'alpha')!;
    expect(r.month_to_date_usd).toBe(33);
    expect(r.forecast_month_usd).toBeCloseTo(33 + (19 * 55) / 7 + 16, 9);
    // Through Nov 22: 13 weekdays and 6 weekend days more, 147.14; through Nov 23 (Mon): 155.
    expect(r.exhausted_on).toBe('2026-11-23');
    // The lake's first day, Oct 26 (Mon): one weekday and no weekend day in 28 days, so the weekend
    // takes the mean of all days (4): 4 + 4 weekdays x 4 + Oct 31 x 4 = 24, under the budget.
    expect(row('2026-10-26', 'team', 'alpha')).toMatchObject({ month_to_date_usd: 4, forecast_month_usd: 24, exhausted_on: null });
  });

  it('exhausted_on is the day actual spend reached the budget once it has', () => {
    // CC-A, budget 50: 3, 13, 33, 48 (Nov 4, with u2's 3), 48, 57 on Nov 6.
    expect(row('2026-11-10', 'cost_center', 'CC-A')).toMatchObject({ budget_usd: 50, exhausted_on: '2026-11-06' });
    expect(row('2026-11-06', 'cost_center', 'CC-A')).toMatchObject({ exhausted_on: '2026-11-06' });
  });

  it('rows: every rollup day for an entity with spend in the month or a budget, nothing past the last rollup day', () => {
    expect(rows.filter((r) => r.entity === 'beta').map((r) => r.dt)).toEqual(
      ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10'].map((d) => `2026-11-${d}`),
    );
    const gamma = rows.filter((r) => r.entity === 'gamma');
    expect(gamma).toHaveLength(16);
    expect(gamma.every((r) => r.month_to_date_usd === 0 && r.forecast_month_usd === 0 && r.budget_usd === 10 && r.exhausted_on === null)).toBe(true);
    expect(
      rows
        .map((r) => r.dt)
        .sort()
        .at(-1),
    ).toBe('2026-11-10');
    expect(new Set(rows.map((r) => `${r.entity_type}:${r.entity}`))).toEqual(new Set(['team:alpha', 'team:beta', 'team:gamma', 'cost_center:CC-A']));
  });

  it('the budget detectors judge these rows: the forecast alert names the day the budget runs out', () => {
    // alpha on Nov 7 (forecastFromDay): 58 spent; weekdays Nov 2..6 cost 51 (10.2 a day), weekend
    // Nov 1, 7 cost 7 (3.5 a day); 58 + 16 x 10.2 + 7 x 3.5 = 245.7 over the $150 budget. Cumulative:
    // Nov 17 139.9, Nov 18 150.1. CC-A ($50) crosses 80% on Nov 4 (48) and 100% on Nov 6 (57).
    expect(alerts.map((a) => [a.dt, a.detector, a.entity, a.details.threshold, a.details.exhaustedOn])).toEqual([
      ['2026-11-04', 'budget', 'CC-A', 0.8, '2026-11-05'], // 48 + a weekday at (10 + 20 + 15) / 3 = 63 on Nov 5
      ['2026-11-06', 'budget', 'CC-A', 1, '2026-11-06'],
      ['2026-11-07', 'budget_forecast', 'alpha', 1, '2026-11-18'],
    ]);
    const forecast = alerts[2]!;
    expect(forecast.observed).toBeCloseTo(245.7, 9);
    expect(forecast.message).toBe(
      'Team alpha is on course to spend $245.70 in November 2026, 163.8% of its budget of $150.00: $58.00 in the first 7 of 30 days; the budget runs out on 2026-11-18.',
    );
  });
});
