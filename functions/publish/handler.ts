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
 * The definitions are read from `quicksight-templates/` two folders up from this module, in the
 * repository and in the unpacked zip alike (serverless.yml ships them in publish.zip).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import { publish } from '../lib/jobs/publish';
import { instrumentedRun, jobRuntime, type RunMetric } from '../lib/ops/run';
import { loadTemplates } from '../lib/publish/definitions';
import type { PublishSummary } from '../lib/publish/port';
import { QuickSightPublisher } from '../lib/publish/quicksight';
import { writeRowAccess } from '../lib/publish/row-access';
import { storeFromConfig } from '../lib/store/from-config';

const rt = jobRuntime('publish');
/** Waits (SPICE imports, dashboard versions, snapshot jobs) end this long before Lambda's timeout, leaving time to log and tag. */
const SAFETY_MS = 60_000;
const logger = rt.logger;

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

/** `quicksight-templates/` as shipped beside the handler. */
export const BUNDLED_TEMPLATES_DIR = fileURLToPath(new URL('../../quicksight-templates/', import.meta.url));

/** The function accepts `{}` (or no event) only. */
export function parsePublishEvent(event: unknown): Record<string, never> {
  if (event === undefined || event === null) return {};
  if (typeof event !== 'object' || Array.isArray(event)) throw new Error(`the publish event must be {}, got ${JSON.stringify(event)}`);
  const keys = Object.keys(event);
  if (keys.length) throw new Error(`the publish event takes no fields, got ${keys.map((k) => JSON.stringify(k)).join(', ')}`);
  return {};
}

/** The account id in a Lambda function ARN (arn:aws:lambda:region:account:function:name). */
export const accountOf = (functionArn: string | undefined): string | undefined => /^arn:[^:]+:lambda:[^:]*:(\d{12}):/.exec(functionArn ?? '')?.[1];

export const handler = async (event: unknown, context: Pick<Context, 'awsRequestId' | 'invokedFunctionArn' | 'getRemainingTimeInMillis'>): Promise<PublishSummary> => {
  parsePublishEvent(event);
  return instrumentedRun(rt, context, async (runId) => {
    const config = configFromEnv();
    if (!('s3' in config.lake)) throw new Error('the publish function needs an S3 lake (lake.s3 in CCLAKE_CONFIG): snapshots are written to the lake bucket');
    if (!existsSync(BUNDLED_TEMPLATES_DIR)) throw new Error(`no definitions at ${BUNDLED_TEMPLATES_DIR}: the package must ship quicksight-templates/** beside functions/`);
    const store = storeFromConfig(config);
    const catalog = catalogFromConfig(config, store);
    const publisher = new QuickSightPublisher(config, {
      store,
      accountId: accountOf(context.invokedFunctionArn),
      region: config.aws.region ?? config.lake.s3.region ?? process.env.AWS_REGION,
      bucket: config.lake.s3.bucket,
      bucketPrefix: config.lake.s3.prefix,
      writeRowAccess: () => writeRowAccess(store, catalog, config),
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
        ...summary.dataSets.filter((d) => d.ingestion?.status === 'FAILED' || d.ingestion?.status === 'CANCELLED').map((d) => `refresh of ${d.id}: ${d.ingestion!.status} ${d.ingestion!.reason ?? ''}`.trim()),
        ...summary.dashboards.filter((d) => d.action === 'failed').map((d) => `dashboard ${d.id}: ${d.error}`),
      ];
      throw new Error(`publish run ${summary.runId} failed: ${failures.join('; ')}`);
    }
    logger.info('publish run', line);
    return summary;
  }, publishMetrics);
};
