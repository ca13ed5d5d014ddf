/**
 * Hourly catalog function (EventBridge Scheduler, after compaction). Thin: read the config, bring
 * the catalog (Glue for an S3 lake, the local catalog files for a local one) in line with the lake,
 * log the run summary as one JSON line, return it. A manual invocation may pass
 * `{ "dryRun": true }` to get the requests it would send without changing anything.
 *
 * Entries the catalog refused after retries fail the invocation (the error names them), so they
 * show in the function's error metrics; the next hourly run retries them.
 */
import { z } from 'zod';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import { syncPartitions, type PartitionsSummary } from '../lib/jobs/partitions';
import type { RunMetric } from '../lib/ops/run';
import { scheduledHandler } from '../lib/ops/scheduled';
import { storeFromConfig } from '../lib/store/from-config';

/** How many failed entries the error message names before it only counts the rest. */
const NAMED_FAILURES = 10;

export const PartitionsEvent = z.strictObject({ dryRun: z.boolean({ error: 'true or false' }).optional() });
export type PartitionsEvent = z.infer<typeof PartitionsEvent>;

const sum = (s: PartitionsSummary, k: 'created' | 'updated' | 'deleted') => s.tables.reduce((n, t) => n + t[k], 0);

/** The run's EMF metrics (a run with catalog failures throws, so it counts in RunFailed). */
export function partitionsMetrics(s: PartitionsSummary): RunMetric[] {
  return [
    ['PartitionsCreated', 'Count', sum(s, 'created')],
    ['PartitionsUpdated', 'Count', sum(s, 'updated')],
    ['PartitionsDeleted', 'Count', sum(s, 'deleted')],
    ['ObjectsDeleted', 'Count', s.objectsDeleted],
    ['CatalogRequests', 'Count', s.requests.length],
    ['Warnings', 'Count', s.warnings.length],
    ['Locked', 'Count', s.status === 'locked' ? 1 : 0],
  ];
}

export const handler = scheduledHandler({
  job: 'partitions',
  event: { schema: PartitionsEvent, shape: 'an object such as {} or { "dryRun": true }' },
  metrics: partitionsMetrics,
  run: async ({ event: { dryRun }, runId, logger }) => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const summary = await syncPartitions(store, catalogFromConfig(config, store), config, { dryRun, runId });
    const { requests, ...totals } = summary;
    const line = { ...totals, requests: requests.length };
    if (summary.failures.length) logger.error('partitions run', line);
    else if (summary.status === 'locked') logger.warn('partitions run', line);
    else logger.info('partitions run', line);

    const { failures } = summary;
    if (failures.length) {
      const named = failures.slice(0, NAMED_FAILURES).map((f) => `${f.table} ${f.values.join('/')}: ${f.code}: ${f.message}`);
      const more = failures.length > NAMED_FAILURES ? ` (+${failures.length - NAMED_FAILURES} more)` : '';
      throw new Error(`${failures.length} catalog entr${failures.length === 1 ? 'y' : 'ies'} failed: ${named.join('; ')}${more}`);
    }
    return summary;
  },
});

/** The event as the function accepts it: absent, `{}` or `{ "dryRun": boolean }`, nothing else. */
export const parsePartitionsEvent = handler.parseEvent;
