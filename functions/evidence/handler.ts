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
import { z } from 'zod';
import { BUNDLED_SQL_DIR } from '../lib/bundled';
import { configFromEnv } from '../lib/config/from-env';
import { athenaEngineFromConfig } from '../lib/engine/athena';
import { defaultEvidencePeriod, exportEvidence, type EvidenceSummary } from '../lib/jobs/evidence';
import { eventDate } from '../lib/ops/event';
import type { AthenaTally, RunMetric } from '../lib/ops/run';
import { scheduledHandler } from '../lib/ops/scheduled';
import { storeFromConfig } from '../lib/store/from-config';

export { BUNDLED_SQL_DIR };

const BOTH = 'a date YYYY-MM-DD (give both from and to)';
export const EvidenceEvent = z.strictObject({ from: eventDate(BOTH), to: eventDate(BOTH) }).superRefine(({ from, to }, ctx) => {
  if (from === undefined && to === undefined) return;
  if (from === undefined) ctx.addIssue({ code: 'custom', path: ['from'], message: BOTH, input: from });
  else if (to === undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: BOTH, input: to });
  else if (to < from) ctx.addIssue({ code: 'custom', message: `event.to ${to} is before event.from ${from}` });
});
export type EvidenceEvent = z.infer<typeof EvidenceEvent>;

/** The run's EMF metrics: failing controls (an alarm can watch them), files, Athena's bytes and cost. */
export function evidenceMetrics(s: EvidenceSummary, athena: AthenaTally): RunMetric[] {
  return [
    ['ControlsFailed', 'Count', s.status.failed],
    ['ControlsInconsistent', 'Count', s.status.inconsistent],
    ['FilesWritten', 'Count', s.files.length],
    ...athena.metrics(),
  ];
}

export const handler = scheduledHandler({
  job: 'evidence',
  event: { schema: EvidenceEvent, shape: 'an object such as {} or { "from": "2026-11-16", "to": "2026-11-22" }' },
  metrics: (s: EvidenceSummary, { athena }) => evidenceMetrics(s, athena),
  run: async ({ event, logger, athena }) => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const period = event.from && event.to ? { from: event.from, to: event.to } : defaultEvidencePeriod(config);
    const engine = athenaEngineFromConfig(config, athena.recorder(logger));
    const summary = await exportEvidence(store, engine, config, { ...period, sqlDir: BUNDLED_SQL_DIR });
    const { seq, location, status, failing, files, manifestSha256, previous, objectLock, durationMs } = summary;
    const line = {
      seq,
      location,
      period,
      status,
      failing,
      files,
      manifestSha256,
      previous,
      objectLock,
      queries: summary.queries.map((q) => ({ name: q.name, queryId: q.queryId, rows: q.rows })),
      durationMs,
    };
    if (status.failed || status.inconsistent) logger.warn('evidence report', line);
    else logger.info('evidence report', line);
    return summary;
  },
});

/** The event as the function accepts it (see the header); anything else fails with the reason. */
export const parseEvidenceEvent = handler.parseEvent;
