/**
 * Monthly chargeback function (EventBridge Scheduler, the 1st of the month, after the daily rollup
 * that follows the month's end). Thin: read the config, run the finance export on Athena for each
 * month due (functions/lib/jobs/chargeback.ts `exportChargebackMonths`, as `cclake export
 * chargeback` does), log one JSON summary line, return it.
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
import { z } from 'zod';
import { BUNDLED_SQL_DIR } from '../lib/bundled';
import { configFromEnv } from '../lib/config/from-env';
import { athenaEngineFromConfig } from '../lib/engine/athena';
import { isMonth } from '../lib/exports/periods';
import { exportChargebackMonths, type ChargebackSummary } from '../lib/jobs/chargeback';
import type { AthenaTally, RunMetric } from '../lib/ops/run';
import { scheduledHandler } from '../lib/ops/scheduled';
import { storeFromConfig } from '../lib/store/from-config';

export { BUNDLED_SQL_DIR };

const MONTH = 'a month YYYY-MM';
export const ChargebackEvent = z.strictObject({ month: z.string({ error: MONTH }).refine(isMonth, { error: MONTH }).optional() });
export type ChargebackEvent = z.infer<typeof ChargebackEvent>;

export interface ChargebackRun {
  months: Pick<
    ChargebackSummary,
    'month' | 'status' | 'revision' | 'location' | 'rows' | 'adjustmentRows' | 'totals' | 'unpriced' | 'trueUp' | 'warnings' | 'durationMs'
  >[];
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

export const handler = scheduledHandler({
  job: 'chargeback',
  event: { schema: ChargebackEvent, shape: 'an object such as {} or { "month": "2026-10" }' },
  metrics: (run: ChargebackRun, { athena }) => chargebackMetrics(run, athena),
  run: async ({ event, logger, athena }) => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const engine = athenaEngineFromConfig(config, athena.recorder(logger));
    const done = await exportChargebackMonths(store, engine, config, { month: event.month, sqlDir: BUNDLED_SQL_DIR });
    const run: ChargebackRun = {
      months: done.months.map(({ month, status, revision, location, rows, adjustmentRows, totals, unpriced, trueUp, warnings, durationMs }) => ({
        month,
        status,
        revision,
        location,
        rows,
        adjustmentRows,
        totals,
        unpriced,
        trueUp,
        warnings,
        durationMs,
      })),
      failed: done.failed.map(({ month, error }) => ({ month, error: error.message })),
    };
    if (run.failed.length) {
      logger.error('chargeback run', { ...run });
      throw new Error(`chargeback failed for ${run.failed.map((f) => `${f.month}: ${f.error}`).join(' | ')}`);
    }
    if (run.months.some((m) => m.warnings.length)) logger.warn('chargeback run', { ...run });
    else logger.info('chargeback run', { ...run });
    return run;
  },
});

/** The event as the function accepts it (see the header); anything else fails with the reason. */
export const parseChargebackEvent = handler.parseEvent;
