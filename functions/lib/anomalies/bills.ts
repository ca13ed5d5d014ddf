/**
 * `bill_variance`: a month, provider, account and model whose imported bill differs from the
 * telemetry's priced cost by more than `bills.varianceThreshold` (a share, default 0.05) either way
 * (bill_reconciliation_monthly's variance_pct). Judged on the month's last day with rollups (a
 * month may end on a weekend without telemetry), and again whenever that month's bills are imported
 * anew: the anomalies job recomputes that day when the month's bill_lines generation changes. Lines with only a bill or only
 * telemetry have no variance and do not alert here; the view lists them as `unmatched`.
 * Stateless and keyed by month: a rerun finds the same anomaly under the same id.
 */
import type { Config } from '../config/schema';
import { makeAnomaly, pct, usd, type Anomaly } from './anomaly';

export interface BillVarianceRow {
  month: string;
  provider: string;
  account: string | null;
  model: string | null;
  billedUsd: number | null;
  pricedUsd: number | null;
  variancePct: number | null;
  unmatched: string | null;
}

/** `judgeDays`: per month with bills, the day it is judged on (its last day with rollups). */
export function detectBillVariance(
  rows: readonly BillVarianceRow[],
  days: readonly string[],
  judgeDays: ReadonlyMap<string, string>,
  config: Config,
): Anomaly[] {
  if (config.anomalies.disabled.includes('bill_variance')) return [];
  const threshold = config.bills.varianceThreshold;
  const out: Anomaly[] = [];
  for (const dt of days.filter((d) => judgeDays.get(d.slice(0, 7)) === d)) {
    const month = dt.slice(0, 7);
    for (const r of rows) {
      if (r.month !== month || r.unmatched !== null || r.variancePct === null || r.billedUsd === null || r.pricedUsd === null) continue;
      if (Math.abs(r.variancePct) <= threshold) continue;
      const entity = `${r.provider}:${r.account ?? '(no account)'}:${r.model ?? '(no model)'}`;
      const more = r.variancePct > 0;
      out.push(
        makeAnomaly({
          dt,
          detector: 'bill_variance',
          entityType: 'model',
          entity,
          key: month,
          observed: r.billedUsd,
          baseline: r.pricedUsd,
          score: r.variancePct,
          severity: 'warning',
          message: `The ${month} bill of ${r.provider} account ${r.account ?? '(no account)'} charges ${usd(r.billedUsd)} for ${r.model ?? 'lines without a model'}, ${pct(Math.abs(r.variancePct))} ${more ? 'more' : 'less'} than the telemetry's priced cost of ${usd(r.pricedUsd)} (threshold ${pct(threshold)}).`,
          details: {
            month,
            provider: r.provider,
            account: r.account,
            model: r.model,
            threshold,
            billedUsd: r.billedUsd,
            pricedUsd: r.pricedUsd,
            variancePct: r.variancePct,
          },
        }),
      );
    }
  }
  return out;
}
