/**
 * Daily bill import function (EventBridge Scheduler, before the chargeback's monthly run): imports
 * what is new in the S3 locations config `bills.sources` names (AWS Data Exports CUR 2.0 / FOCUS
 * deliveries by their newest manifest, Anthropic cost report objects) into `bill_lines`, as
 * `cclake import bill` does locally (functions/lib/jobs/import-bill-sources.ts). Thin: read the
 * config, run the job, log one summary line, return it.
 *
 * The event is `{}` (what changed since the last run) or `{ "reimport": true }` (read every newest
 * delivery again; unchanged bills stay unchanged), nothing else. A delivery that cannot be imported
 * fails the invocation after every other delivery and source ran, naming the object: the
 * on-failure queue and the error alarm are the signal, and the next run tries it again.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { catalogFromConfig } from '../lib/catalog/from-config';
import { configFromEnv } from '../lib/config/from-env';
import type { Config } from '../lib/config/schema';
import { importBillSources, type BillSource, type ImportBillSourcesSummary } from '../lib/jobs/import-bill-sources';
import type { RunMetric } from '../lib/ops/run';
import { scheduledHandler } from '../lib/ops/scheduled';
import { storeFromConfig } from '../lib/store/from-config';
import { S3ObjectStore } from '../lib/store/s3';

export const ImportBillEvent = z.strictObject({ reimport: z.boolean({ error: 'true or false' }).optional() });
export type ImportBillEvent = z.infer<typeof ImportBillEvent>;

/** The run's EMF metrics: deliveries imported, already imported, failed, left for the lock. */
export function importBillMetrics(s: ImportBillSourcesSummary): RunMetric[] {
  return [
    ['DeliveriesImported', 'Count', s.imported],
    ['DeliveriesUnchanged', 'Count', s.alreadyImported],
    ['DeliveriesFailed', 'Count', s.failed.length],
    [
      'BillsRevised',
      'Count',
      s.sources
        .flatMap((x) => x.deliveries)
        .flatMap((d) => d.bills)
        .filter((b) => b.status === 'revised').length,
    ],
    ['Locked', 'Count', s.locked],
  ];
}

/** A source's bucket and prefix as an object store (its own client: the bucket may be in another region). */
export function billSourceStore(config: Config, source: BillSource): S3ObjectStore {
  const region = source.region ?? ('s3' in config.lake ? config.lake.s3.region : undefined);
  return new S3ObjectStore({ client: new S3Client({ ...(region ? { region } : {}), maxAttempts: 1 }), bucket: source.bucket, prefix: source.prefix });
}

export const handler = scheduledHandler({
  job: 'import-bill',
  event: { schema: ImportBillEvent, shape: 'an object such as {} or { "reimport": true }' },
  metrics: importBillMetrics,
  run: async ({ event, runId, logger }) => {
    const config = configFromEnv();
    const store = storeFromConfig(config);
    const summary = await importBillSources(store, catalogFromConfig(config, store), config, {
      openSource: (source) => billSourceStore(config, source),
      runId,
      reimport: event.reimport === true,
    });
    if (summary.failed.length) {
      logger.error('import bill run', { ...summary });
      throw new Error(`bill import failed for ${summary.failed.map((f) => f.error).join(' | ')}`);
    }
    if (summary.locked || summary.catalogErrors.length) logger.warn('import bill run', { ...summary });
    else logger.info('import bill run', { ...summary });
    return summary;
  },
});

/** The event as the function accepts it (see the header); anything else fails with the reason. */
export const parseImportBillEvent = handler.parseEvent;
