/**
 * Daily publish function (EventBridge Scheduler, after the rollup). Thin: read the config, publish
 * the definitions shipped beside the bundle to QuickSight (functions/lib/jobs/publish.ts with the
 * QuickSight adapter: data source, datasets and their SPICE refreshes, dashboards, report snapshots
 * into the lake bucket), log the run summary as one JSON line, return it. A failed snapshot job or
 * refresh, or a dashboard version that failed, fails the invocation after the summary is logged, so
 * the function's Errors metric alarms. Every wait ends a minute before the function's timeout.
 *
 * The event is `{}`, nothing else. The publisher is QuickSight, always: the HTML dashboard is the
 * CLI's. The account is the config's `aws.quicksight.accountId`, else the function's own (its ARN).
 * The definitions are read from `quicksight-templates/` beside the bundle (functions/lib/bundled.ts;
 * serverless.yml ships them in publish.zip).
 */
import { existsSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { BUNDLED_TEMPLATES_DIR } from '../lib/bundled';
import { configFromEnv } from '../lib/config/from-env';
import { publish } from '../lib/jobs/publish';
import type { RunMetric } from '../lib/ops/run';
import { scheduledHandler, type Invocation } from '../lib/ops/scheduled';
import { loadTemplates } from '../lib/publish/definitions';
import { quickSightPublisherFromConfig } from '../lib/publish/quicksight-from-config';
import type { PublishSummary } from '../lib/publish/port';
import { storeFromConfig } from '../lib/store/from-config';

export { BUNDLED_TEMPLATES_DIR };

/** Waits (SPICE imports, dashboard versions, snapshot jobs) end this long before Lambda's timeout, leaving time to log and tag. */
const SAFETY_MS = 60_000;

/** The run's EMF metrics (a failed snapshot or refresh fails the run: RunFailed). */
export function publishMetrics(s: PublishSummary): RunMetric[] {
  const changed = (a: string) => a === 'created' || a === 'updated';
  return [
    ['DataSetsChanged', 'Count', s.dataSets.filter((d) => changed(d.action)).length],
    ['SpiceRefreshes', 'Count', s.dataSets.filter((d) => d.ingestion).length],
    ['DashboardsChanged', 'Count', s.dashboards.filter((d) => changed(d.action)).length],
    ['Snapshots', 'Count', s.snapshots.length],
  ];
}

/** The function accepts `{}` (or no event) only. */
export const PublishEvent = z.strictObject({});

/** The account id in a Lambda function ARN (arn:aws:lambda:region:account:function:name). */
export const accountOf = (functionArn: string | undefined): string | undefined => /^arn:[^:]+:lambda:[^:]*:(\d{12}):/.exec(functionArn ?? '')?.[1];

type PublishContext = Pick<Context, 'awsRequestId' | 'invokedFunctionArn' | 'getRemainingTimeInMillis'>;

export const handler = scheduledHandler({
  job: 'publish',
  event: { schema: PublishEvent, shape: '{}' },
  metrics: publishMetrics,
  run: async ({ runId, context, logger }: Invocation<z.infer<typeof PublishEvent>, PublishContext>): Promise<PublishSummary> => {
    const config = configFromEnv();
    if (!('s3' in config.lake)) throw new Error('the publish function needs an S3 lake (lake.s3 in CCLAKE_CONFIG): snapshots are written to the lake bucket');
    if (!existsSync(BUNDLED_TEMPLATES_DIR))
      throw new Error(`no definitions at ${BUNDLED_TEMPLATES_DIR}: the package must ship quicksight-templates/** beside functions/`);
    const store = storeFromConfig(config);
    const publisher = quickSightPublisherFromConfig(config, store, {
      accountId: accountOf(context.invokedFunctionArn),
      region: config.aws.region ?? config.lake.s3.region ?? process.env.AWS_REGION,
      deadline: Date.now() + context.getRemainingTimeInMillis() - SAFETY_MS,
    });
    const summary = await publish(publisher, config, { runId, templates: loadTemplates(BUNDLED_TEMPLATES_DIR) });
    const line = {
      runId: summary.runId,
      status: summary.status,
      dataSource: summary.dataSource,
      dataSets: summary.dataSets.map(({ id, action, importMode, ingestion }) => ({ id, action, importMode, ingestion })),
      dashboards: summary.dashboards.map(({ id, action, version, error }) => ({ id, action, version, error })),
      snapshots: summary.snapshots,
      notes: summary.notes,
      durationMs: summary.durationMs,
    };
    if (summary.status === 'failed') {
      logger.error('publish run', line);
      const failures = [
        ...summary.snapshots.filter((s) => s.status === 'FAILED').map((s) => `snapshot ${s.dashboardId} (${s.jobId}): ${s.error}`),
        ...summary.dataSets
          .filter((d) => d.ingestion?.status === 'FAILED' || d.ingestion?.status === 'CANCELLED')
          .map((d) => `refresh of ${d.id}: ${d.ingestion!.status} ${d.ingestion!.reason ?? ''}`.trim()),
        ...summary.dashboards.filter((d) => d.action === 'failed').map((d) => `dashboard ${d.id}: ${d.error}`),
      ];
      throw new Error(`publish run ${summary.runId} failed: ${failures.join('; ')}`);
    }
    logger.info('publish run', line);
    return summary;
  },
});

export const parsePublishEvent = handler.parseEvent;
