/**
 * Monthly chargeback function (EventBridge Scheduler, the 1st of the month, after the daily rollup
 * that follows the month's end). Thin: read the config, run the finance export on Athena
 * (functions/lib/jobs/chargeback.ts) for each month due, log one JSON summary line, return it.
 *
 * The event is `{}` (the month that just closed in the reporting time zone, then the
 * `chargeback.revisitMonths` months before it, so data that arrived after their close becomes a new
 * revision; a revisited month with no data and no revision is skipped) or `{ "month": "YYYY-MM" }`
 * (that month only), nothing else.
 *
 * A month that does not reconcile, or whose rollup is behind, fails the invocation with the reason
 * (after the other months ran): the schedule's retries and the error in the log are the alarm.
 * The SQL (sql/models for the model version, sql/exports for the queries) ships beside the bundle.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { configFromEnv } from '../lib/config/from-env';
import { athenaEngineFromConfig } from '../lib/engine/athena';
import { isMonth, previousMonth } from '../lib/exports/periods';
import { exportChargeback, lastClosedMonth, type ChargebackSummary } from '../lib/jobs/chargeback';
import { AthenaTally, instrumentedRun, jobRuntime, type RunMetric } from '../lib/ops/run';
import { storeFromConfig } from '../lib/store/from-config';

const rt = jobRuntime('chargeback');
const logger = rt.logger;

/** `sql/` as shipped beside the handler: two folders up, in the repository and in the unpacked zip alike. */
export const BUNDLED_SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface ChargebackEvent {
  month?: string;
}

/** The event as the function accepts it (see the header); anything else fails with the reason. */
export function parseChargebackEvent(event: unknown): ChargebackEvent {
  if (event === undefined || event === null) return {};
  if (typeof event !== 'object' || Array.isArray(event)) throw new Error(`the chargeback event must be an object such as {} or { "month": "2026-10" }, got ${JSON.stringify(event)}`);
  const { month, ...rest } = event as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new Error(`the chargeback event accepts only "month", got ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  if (month === undefined) return {};
  if (typeof month !== 'string' || !isMonth(month)) throw new Error(`event.month must be a month YYYY-MM, got ${JSON.stringify(month)}`);
  return { month };
}

export interface ChargebackRun {
  months: Pick<ChargebackSummary, 'month' | 'status' | 'revision' | 'location' | 'rows' | 'adjustmentRows' | 'totals' | 'unpriced' | 'warnings' | 'durationMs'>[];
  failed: { month: string; error: string }[];
}

/** The run's EMF metrics: months exported, revisions written, lines, and Athena's bytes and cost. */
export function chargebackMetrics(run: ChargebackRun, athena: AthenaTally): RunMetric[] {
  return [
    ['MonthsChecked', 'Count', run.months.length],
    ['RevisionsWritten', 'Count', run.months.filter((m) => m.status === 'written').length],
    ['LinesWritten', 'Count', run.months.reduce((n, m) => n + (m.status === 'written' || m.status === 'preliminary' ? m.rows : 0), 0)],
    ['Warnings', 'Count', run.months.reduce((n, m) => n + m.warnings.length, 0)],
    ...athena.metrics(),
  ];
}

export const handler = async (event: ChargebackEvent | undefined, context?: Pick<Context, 'awsRequestId'>): Promise<ChargebackRun> => {
  const parsed = parseChargebackEvent(event);
  const athena = new AthenaTally();
  return instrumentedRun(rt, context ?? { awsRequestId: randomUUID() }, async () => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const engine = athenaEngineFromConfig(config, athena.recorder(logger));
    const closing = parsed.month ?? lastClosedMonth(config);
    const months = [closing];
    if (!parsed.month) for (let i = 0, m = closing; i < config.chargeback.revisitMonths; i++) months.push((m = previousMonth(m)));
    const run: ChargebackRun = { months: [], failed: [] };
    for (const month of months) {
      try {
        const s = await exportChargeback(store, engine, config, { month, sqlDir: BUNDLED_SQL_DIR, skipEmpty: month !== closing });
        const { status, revision, location, rows, adjustmentRows, totals, unpriced, warnings, durationMs } = s;
        run.months.push({ month, status, revision, location, rows, adjustmentRows, totals, unpriced, warnings, durationMs });
      } catch (err) {
        run.failed.push({ month, error: (err as Error).message });
      }
    }
    if (run.failed.length) {
      logger.error('chargeback run', { ...run });
      throw new Error(`chargeback failed for ${run.failed.map((f) => `${f.month}: ${f.error}`).join(' | ')}`);
    }
    if (run.months.some((m) => m.warnings.length)) logger.warn('chargeback run', { ...run });
    else logger.info('chargeback run', { ...run });
    return run;
  }, (run) => chargebackMetrics(run, athena));
};
