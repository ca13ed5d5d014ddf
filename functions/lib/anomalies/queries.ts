/**
 * The detectors' inputs: one query per source over the rollups (sql/detectors/*.sql, Trino dialect,
 * run by the query engine port: DuckDB locally, Athena on AWS), each over the whole range of days
 * being judged plus the baseline window before it, so a run costs a handful of queries whatever the
 * number of days. Rows come back as the typed series the detectors take (detectors never see SQL).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config/schema';
import type { QueryEngine, SqlValue } from '../engine/port';
import { SQL_DIR } from '../sql/files';
import { countPlaceholders } from '../sql/placeholders';
import { addDays } from '../util/dates';
import type { ApiHealthRow } from './api-health';
import type { BillVarianceRow } from './bills';
import { monthStart, type BudgetDayRow } from './budgets';
import type { ComplianceRow } from './compliance';
import type { HourRow } from './hours';
import type { NewResourceRow } from './resources';
import type { SpikeRow } from './spikes';

export const DETECTOR_QUERIES = [
  'spike_series',
  'api_health_series',
  'user_hours_series',
  'new_resources',
  'compliance_series',
  'budget_spend',
  'bill_variance',
] as const;
export type DetectorQuery = (typeof DETECTOR_QUERIES)[number];
export type DetectorSql = Record<DetectorQuery, string>;

/** Reads sql/detectors/<name>.sql (beside the bundle on Lambda: `dir` is the sql/ folder). */
export function readDetectorSql(dir: string = SQL_DIR): DetectorSql {
  const out = {} as DetectorSql;
  for (const name of DETECTOR_QUERIES) {
    const file = path.join(dir, 'detectors', `${name}.sql`);
    if (!existsSync(file)) throw new Error(`no detector query at ${file}: the package must ship sql/detectors/*.sql`);
    out[name] = readFileSync(file, 'utf8');
  }
  return out;
}

export interface DetectorInputs {
  spikes: SpikeRow[];
  apiHealth: ApiHealthRow[];
  hours: HourRow[];
  newResources: NewResourceRow[];
  compliance: ComplianceRow[];
  budgets: BudgetDayRow[];
  billVariance: BillVarianceRow[];
  /** Per month with bills: the day its bill_variance is judged on (the month's last day with rollups). */
  billJudgeDays: ReadonlyMap<string, string>;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string => String(v);

/**
 * Runs the queries the enabled detectors need, for the days `from`..`to`. `billJudgeDays`: per month
 * with imported bills, the day its bill_variance is judged on (the anomalies job knows the commits).
 */
export async function fetchInputs(
  engine: QueryEngine,
  sql: DetectorSql,
  config: Config,
  from: string,
  to: string,
  billJudgeDays?: ReadonlyMap<string, string>,
): Promise<DetectorInputs> {
  const a = config.anomalies;
  const off = (...names: string[]) => names.every((n) => a.disabled.includes(n as never));
  const windowStart = addDays(from, -a.baselineDays);
  const run = async (name: DetectorQuery, params: SqlValue[]) => {
    const expected = countPlaceholders(sql[name]);
    if (expected !== params.length) throw new Error(`sql/detectors/${name}.sql has ${expected} placeholder(s) but ${params.length} value(s) were given`);
    return (await engine.query(sql[name], params)).rows;
  };
  const inputs: DetectorInputs = {
    spikes: [],
    apiHealth: [],
    hours: [],
    newResources: [],
    compliance: [],
    budgets: [],
    billVariance: [],
    billJudgeDays: new Map(),
  };

  if (!off('cost_spike', 'token_spike')) {
    const m = a.spikes;
    inputs.spikes = (
      await run('spike_series', [
        windowStart,
        to,
        from,
        to,
        m.minCostUsd.user,
        m.minTokens.user,
        m.minCostUsd.team,
        m.minTokens.team,
        m.minCostUsd.costCenter,
        m.minTokens.costCenter,
      ])
    ).map((r) => ({
      dt: str(r.dt),
      entityType: str(r.entity_type) as SpikeRow['entityType'],
      entity: str(r.entity),
      costUsd: num(r.cost_usd),
      tokens: num(r.tokens),
    }));
  }
  if (!off('error_rate', 'latency_p95')) {
    inputs.apiHealth = (await run('api_health_series', [windowStart, to])).map((r) => ({
      dt: str(r.dt),
      model: str(r.model),
      requests: num(r.requests),
      errors: num(r.errors),
      errorRate: numOrNull(r.error_rate),
      p95Ms: numOrNull(r.p95_ms),
    }));
  }
  if (!off('unusual_hours')) {
    inputs.hours = (await run('user_hours_series', [windowStart, to, from, to])).map((r) => ({
      dt: str(r.dt),
      userKey: str(r.user_key),
      hour: num(r.hour),
      requests: num(r.requests),
    }));
  }
  if (!off('new_model', 'new_mcp_server')) {
    const lookback = a.newResources.lookbackDays;
    const start = addDays(from, -lookback);
    inputs.newResources = (await run('new_resources', [start, to, a.newResources.minUses, from, to, lookback, start, to, lookback])).map((r) => ({
      dt: str(r.dt),
      team: str(r.team),
      resourceType: str(r.resource_type) as NewResourceRow['resourceType'],
      resource: str(r.resource),
      uses: num(r.uses),
      users: num(r.users),
      historyDays: num(r.history_days),
    }));
  }
  if (!off('compliance_violations')) {
    inputs.compliance = (await run('compliance_series', [windowStart, to, from, to, a.compliance.minViolations])).map((r) => ({
      dt: str(r.dt),
      controlId: str(r.control_id),
      team: str(r.team),
      evaluated: num(r.evaluated),
      violations: num(r.violations),
    }));
  }
  const budgeted = config.budgets.teams.length + config.budgets.costCenters.length > 0;
  if (budgeted && !off('budget', 'budget_forecast')) {
    inputs.budgets = (await run('budget_spend', [monthStart(from), to])).map((r) => ({
      dt: str(r.dt),
      entityType: str(r.entity_type) as BudgetDayRow['entityType'],
      entity: str(r.entity),
      monthToDateUsd: num(r.month_to_date_usd),
      forecastMonthUsd: num(r.forecast_month_usd),
      budgetUsd: num(r.budget_usd),
      exhaustedOn: r.exhausted_on === null || r.exhausted_on === undefined ? null : str(r.exhausted_on),
    }));
  }
  // bill_variance: the months whose judging day (their last day with rollups) is among the days judged.
  const billMonths = [...(billJudgeDays ?? new Map<string, string>())]
    .filter(([, dt]) => dt >= from && dt <= to)
    .map(([m]) => m)
    .sort();
  if (billMonths.length && !off('bill_variance')) {
    inputs.billJudgeDays = billJudgeDays!;
    inputs.billVariance = (await run('bill_variance', [billMonths[0]!, billMonths.at(-1)!])).map((r) => ({
      month: str(r.month),
      provider: str(r.provider),
      account: r.account === null || r.account === undefined ? null : str(r.account),
      model: r.model === null || r.model === undefined ? null : str(r.model),
      billedUsd: numOrNull(r.billed_usd),
      pricedUsd: numOrNull(r.priced_usd),
      variancePct: numOrNull(r.variance_pct),
      unmatched: r.unmatched === null || r.unmatched === undefined ? null : str(r.unmatched),
    }));
  }
  return inputs;
}
