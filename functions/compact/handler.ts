/**
 * Hourly compaction function (EventBridge Scheduler). Thin: read the config, run the compaction
 * job with a deadline a minute before Lambda's, log the run summary as one JSON line, return it.
 * A manual invocation may pass `{ "dt": "YYYY-MM-DD", "rebuild": true }`, nothing else.
 */
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import { compact, type CompactSummary } from '../lib/jobs/compact';
import { eventDate } from '../lib/ops/event';
import type { RunMetric } from '../lib/ops/run';
import { scheduledHandler, type Invocation } from '../lib/ops/scheduled';
import { storeFromConfig } from '../lib/store/from-config';

/** Time kept back from Lambda's limit to finish the current date, save state and release the lock. */
const SAFETY_MS = 60_000;

export const CompactEvent = z.strictObject({ dt: eventDate(), rebuild: z.boolean({ error: 'true or false' }).optional() });
export type CompactEvent = z.infer<typeof CompactEvent>;

/** The run's EMF metrics (functions/lib/ops/run.ts); serverless.yml alarms on QuarantinedObjects and CatalogErrors. */
export function compactMetrics(s: CompactSummary): RunMetric[] {
  return [
    ['ObjectsRead', 'Count', s.objectsRead],
    ['RowsIn', 'Count', s.rowsIn],
    ['RowsOut', 'Count', s.rowsOut],
    ['DuplicatesDropped', 'Count', s.duplicatesDropped],
    ['LateRows', 'Count', s.lateRows],
    ['QuarantinedObjects', 'Count', s.quarantined.length],
    ['DatesCommitted', 'Count', s.dts.length],
    ['DatesDeferred', 'Count', s.deferredDts.length],
    ['FilesWritten', 'Count', s.dts.reduce((n, d) => n + d.files, 0)],
    ['BytesWritten', 'Bytes', s.dts.reduce((n, d) => n + d.bytes, 0)],
    ['CatalogErrors', 'Count', s.catalogErrors.length],
    ['Locked', 'Count', s.status === 'locked' ? 1 : 0],
    ...freshnessMetrics(s, Date.now()),
  ];
}

const HOUR = 3_600_000;

/**
 * Data freshness, for serverless.yml's alarms: `RawFreshnessHours` (how long since the newest raw
 * arrival hour ended: the collector, CloudWatch subscription or Firehose stopped delivering) and
 * `CompactionBacklogHours` (arrival hours between the newest raw object and compaction's
 * watermark: compaction is not keeping up). Left out when unknown (an empty raw zone, a lock held),
 * which the freshness alarm treats as breaching.
 */
export function freshnessMetrics(s: Pick<CompactSummary, 'rawNewestHourMs' | 'watermarkHourMs' | 'status'>, now: number): RunMetric[] {
  if (s.status === 'locked' || s.rawNewestHourMs === null) return [];
  const out: RunMetric[] = [['RawFreshnessHours', 'None', Math.max(0, Math.floor((now - (s.rawNewestHourMs + HOUR)) / HOUR))]];
  if (s.watermarkHourMs !== null) out.push(['CompactionBacklogHours', 'None', Math.max(0, Math.round((s.rawNewestHourMs - s.watermarkHourMs) / HOUR))]);
  return out;
}

export const handler = scheduledHandler({
  job: 'compact',
  event: { schema: CompactEvent, shape: 'an object such as {} or { "dt": "2026-11-20", "rebuild": true }' },
  metrics: compactMetrics,
  run: async ({ event, runId, context, logger }: Invocation<CompactEvent, Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>>) => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const summary = await compact(store, catalogFromConfig(config, store), config, {
      dt: event.dt,
      rebuild: event.rebuild === true,
      deadlineMs: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MS,
      runId,
      tmpDir: process.env.CCLAKE_TMP_DIR ?? '/tmp',
    });
    const { dts, ...totals } = summary;
    logger.info('compaction run', { ...totals, dts: dts.map((d) => ({ dt: d.dt, newRows: d.newRows, rowsOut: d.rowsOut, files: d.files, bytes: d.bytes })) });
    return summary;
  },
});

/** The event as the function accepts it: absent, `{}`, `{ dt }`, `{ dt, rebuild }`; anything else throws naming it. */
export const parseCompactEvent = handler.parseEvent;
