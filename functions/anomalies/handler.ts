/**
 * Daily anomalies function (EventBridge Scheduler, after the rollup). Thin: read the config, run the
 * detectors over the rollups on Athena, store the anomalies and deliver the new ones to SNS
 * (functions/lib/jobs/anomalies.ts), log the run summary as one JSON line, return it.
 *
 * The event is `{}` ("the days whose rollups changed"), `{ "dt": "YYYY-MM-DD" }` (one day) or
 * `{ "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }` (a range; `from` alone is that one day), nothing else.
 *
 * The topic is the stack's (`CCLAKE_ALERTS_TOPIC_ARN`, set by serverless.yml, the only topic the
 * role may publish to), else the config's `anomalies.delivery.snsTopicArn`; a deployed function
 * without either fails, naming both (it must never drop alerts silently). Alerts SNS would not take
 * are logged as a warning and stay pending in the lake's delivery ledger for the next run.
 *
 * The detector queries are read from `sql/detectors/` beside the bundle (serverless.yml ships them
 * in anomalies.zip): functions/lib/bundled.ts, as for every function.
 */
import { existsSync } from 'node:fs';
import { snsClientFor, SnsNotifier } from '../lib/anomalies/notifier/sns';
import { readDetectorSql } from '../lib/anomalies/queries';
import { BUNDLED_SQL_DIR } from '../lib/bundled';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import { athenaEngineFromConfig } from '../lib/engine/athena';
import { detectAnomalies, type AnomaliesSummary } from '../lib/jobs/anomalies';
import { DAY_RANGE_EVENT, DAY_RANGE_SHAPE } from '../lib/ops/event';
import type { AthenaTally, RunMetric } from '../lib/ops/run';
import { scheduledHandler } from '../lib/ops/scheduled';
import { storeFromConfig } from '../lib/store/from-config';
import type { DayRange } from '../lib/util/day-range';

export { BUNDLED_SQL_DIR };

/** The run's EMF metrics: anomalies found, alerts sent and still pending, Athena's bytes and cost. */
export function anomaliesMetrics(s: AnomaliesSummary, athena: AthenaTally): RunMetric[] {
  return [
    ['DaysJudged', 'Count', s.days.length],
    ['Anomalies', 'Count', s.anomalies.length],
    ['AlertsDelivered', 'Count', s.delivery?.delivered ?? 0],
    ['AlertsPending', 'Count', s.delivery?.failed.length ?? 0],
    ['CatalogErrors', 'Count', s.catalogErrors.length],
    ['Locked', 'Count', s.status === 'locked' ? 1 : 0],
    ...athena.metrics(),
  ];
}

export type AnomaliesEvent = DayRange;

export const handler = scheduledHandler({
  job: 'anomalies',
  event: { schema: DAY_RANGE_EVENT, shape: DAY_RANGE_SHAPE },
  metrics: (s: AnomaliesSummary, { athena }) => anomaliesMetrics(s, athena),
  run: async ({ event: days, runId, logger, athena }) => {
    const config = configFromEnv();
    const topic = process.env.CCLAKE_ALERTS_TOPIC_ARN || config.anomalies.delivery.snsTopicArn;
    if (!topic) throw new Error('no SNS topic for alerts: set CCLAKE_ALERTS_TOPIC_ARN (serverless.yml does) or anomalies.delivery.snsTopicArn in the config');
    if (!existsSync(BUNDLED_SQL_DIR)) throw new Error(`no SQL files at ${BUNDLED_SQL_DIR}: the package must ship sql/detectors/** beside functions/`);
    const store = storeFromConfig(config);
    const summary = await detectAnomalies(
      store,
      catalogFromConfig(config, store),
      athenaEngineFromConfig(config, athena.recorder(logger)),
      new SnsNotifier(snsClientFor(topic), topic),
      config,
      { ...days, runId, sql: readDetectorSql(BUNDLED_SQL_DIR) },
    );
    const line = {
      runId: summary.runId,
      status: summary.status,
      ...(summary.lockedBy ? { lockedBy: summary.lockedBy } : {}),
      days: summary.days.map(({ dt, anomalies, generation, reason }) => ({ dt, anomalies, generation, reason })),
      anomalies: summary.anomalies.length,
      byDetector: summary.byDetector,
      delivery: summary.delivery,
      generationsDeleted: summary.generationsDeleted,
      catalogErrors: summary.catalogErrors,
      durationMs: summary.durationMs,
    };
    if (summary.catalogErrors.length || summary.status === 'locked' || summary.delivery?.failed.length) logger.warn('anomalies run', line);
    else logger.info('anomalies run', line);
    return summary;
  },
});

/** The event as the function accepts it: {}, { dt } or { from, to } (functions/lib/ops/event.ts). */
export const parseAnomaliesEvent: (event: unknown) => AnomaliesEvent = handler.parseEvent;
