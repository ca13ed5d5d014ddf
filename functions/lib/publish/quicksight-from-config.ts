/**
 * The QuickSight publisher built from the config (snapshots into the lake bucket, row-level security
 * from the org directory): the publish function's, and `openPublisher`'s (from-config.ts) when the
 * config says `publisher: 'quicksight'`. Its own module so the publish bundle carries no DuckDB.
 */
import { catalogFromConfig } from '../catalog/from-config';
import type { Config } from '../config/schema';
import type { ObjectStore } from '../store/port';
import { QuickSightPublisher, type QuickSightPublisherOptions } from './quicksight';
import { writeRowAccess } from './row-access';

/** Thrown when the config cannot publish with its publisher (a QuickSight publisher without an S3 lake...). */
export class PublisherConfigError extends Error {}

export function quickSightPublisherFromConfig(
  config: Config,
  store: ObjectStore,
  options: Pick<QuickSightPublisherOptions, 'accountId' | 'region' | 'deadline'> = {},
): QuickSightPublisher {
  if (!('s3' in config.lake))
    throw new PublisherConfigError(
      'the QuickSight publisher writes its snapshots to the lake bucket: configure lake.s3 (the local lake is for the HTML publisher)',
    );
  const catalog = catalogFromConfig(config, store);
  return new QuickSightPublisher(config, {
    ...options,
    store,
    bucket: config.lake.s3.bucket,
    bucketPrefix: config.lake.s3.prefix,
    writeRowAccess: () => writeRowAccess(store, catalog, config),
  });
}
