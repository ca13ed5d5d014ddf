/**
 * Scheduled compliance evidence function (EventBridge Scheduler, serverless.yml's evidenceSchedule).
 * Thin: read the config, write the evidence report on Athena (functions/lib/jobs/evidence.ts), log
 * one JSON summary line, return it.
 *
 * The event is `{}` (the `evidence.periodDays` days ending yesterday, reporting time zone) or
 * `{ "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }`, nothing else. With `lake.s3.objectLock` configured
 * the report's objects are written under S3 Object Lock. The SQL ships beside the bundle (sql/exports
 * for the queries; sql/models and sql/views for the definitions the report quotes).
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { configFromEnv } from '../lib/config/from-env';
import { athenaEngineFromConfig } from '../lib/engine/athena';
import { defaultEvidencePeriod, exportEvidence, type EvidenceSummary } from '../lib/jobs/evidence';
import { AthenaTally, instrumentedRun, jobRuntime, type RunMetric } from '../lib/ops/run';
import { storeFromConfig } from '../lib/store/from-config';
import { isIsoDate } from '../lib/util/dates';

const rt = jobRuntime('evidence');
const logger = rt.logger;

/** `sql/` as shipped beside the handler: two folders up, in the repository and in the unpacked zip alike. */
export const BUNDLED_SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export interface EvidenceEvent {
  from?: string;
  to?: string;
}

/** The event as the function accepts it (see the header); anything else fails with the reason. */
export function parseEvidenceEvent(event: unknown): EvidenceEvent {
  if (event === undefined || event === null) return {};
  if (typeof event !== 'object' || Array.isArray(event)) throw new Error(`the evidence event must be an object such as {} or { "from": "2026-11-16", "to": "2026-11-22" }, got ${JSON.stringify(event)}`);
  const { from, to, ...rest } = event as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new Error(`the evidence event accepts only "from" and "to", got ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  if (from === undefined && to === undefined) return {};
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (typeof value !== 'string' || !isIsoDate(value)) throw new Error(`event.${name} must be a date YYYY-MM-DD (give both from and to), got ${JSON.stringify(value)}`);
  }
  if ((to as string) < (from as string)) throw new Error(`event.to ${to} is before event.from ${from}`);
  return { from: from as string, to: to as string };
}

/** The run's EMF metrics: failing controls (an alarm can watch them), files, Athena's bytes and cost. */
export function evidenceMetrics(s: EvidenceSummary, athena: AthenaTally): RunMetric[] {
  return [
    ['ControlsFailed', 'Count', s.status.failed],
    ['ControlsInconsistent', 'Count', s.status.inconsistent],
    ['FilesWritten', 'Count', s.files.length],
    ...athena.metrics(),
  ];
}

export const handler = async (event: EvidenceEvent | undefined, context?: Pick<Context, 'awsRequestId'>): Promise<EvidenceSummary> => {
  const parsed = parseEvidenceEvent(event);
  const athena = new AthenaTally();
  return instrumentedRun(rt, context ?? { awsRequestId: randomUUID() }, async () => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const period = parsed.from && parsed.to ? { from: parsed.from, to: parsed.to } : defaultEvidencePeriod(config);
    const engine = athenaEngineFromConfig(config, athena.recorder(logger));
    const summary = await exportEvidence(store, engine, config, { ...period, sqlDir: BUNDLED_SQL_DIR });
    const { seq, location, status, failing, files, manifestSha256, previous, objectLock, durationMs } = summary;
    const line = { seq, location, period, status, failing, files, manifestSha256, previous, objectLock, queries: summary.queries.map((q) => ({ name: q.name, queryId: q.queryId, rows: q.rows })), durationMs };
    if (status.failed || status.inconsistent) logger.warn('evidence report', line);
    else logger.info('evidence report', line);
    return summary;
  }, (s) => evidenceMetrics(s, athena));
};
