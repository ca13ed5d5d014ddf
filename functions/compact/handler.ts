/**
 * Hourly compaction function (EventBridge Scheduler). Thin: read the config, run the compaction
 * job with a deadline a minute before Lambda's, log the run summary as one JSON line, return it.
 * A manual invocation may pass `{ "dt": "YYYY-MM-DD", "rebuild": true }`.
 */
import type { Context } from 'aws-lambda';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import { compact, type CompactSummary } from '../lib/jobs/compact';
import { instrumentedRun, jobRuntime, type RunMetric } from '../lib/ops/run';
import { storeFromConfig } from '../lib/store/from-config';
import { isIsoDate } from '../lib/util/dates';

const rt = jobRuntime('compact');
/** Time kept back from Lambda's limit to finish the current date, save state and release the lock. */
const SAFETY_MS = 60_000;

export interface CompactEvent {
  dt?: string;
  rebuild?: boolean;
}

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

export const handler = async (event: CompactEvent | undefined, context: Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>): Promise<CompactSummary> => {
  const dt = event?.dt;
  if (dt !== undefined && !isIsoDate(dt)) throw new Error(`event.dt must be a date YYYY-MM-DD, got ${JSON.stringify(dt)}`);
  return instrumentedRun(rt, context, async (runId) => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const summary = await compact(store, catalogFromConfig(config, store), config, {
      dt,
      rebuild: event?.rebuild === true,
      deadlineMs: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MS,
      runId,
      tmpDir: process.env.CCLAKE_TMP_DIR ?? '/tmp',
    });
    const { dts, ...totals } = summary;
    rt.logger.info('compaction run', { ...totals, dts: dts.map((d) => ({ dt: d.dt, newRows: d.newRows, rowsOut: d.rowsOut, files: d.files, bytes: d.bytes })) });
    return summary;
  }, compactMetrics);
};
