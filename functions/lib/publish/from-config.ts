/**
 * The BI publisher for a config, chosen here and nowhere else: `publisher: 'quicksight'` publishes to
 * QuickSight (snapshots into the lake bucket, row-level security from the org directory), `'html'`
 * writes the local HTML dashboard over DuckDB. The publish function is QuickSight always and calls
 * `quickSightPublisherFromConfig` directly; the CLI calls `openPublisher`. Close what you open.
 */
import { catalogFromConfig } from '../catalog/from-config';
import type { Config } from '../config/schema';
import { LocalQueryEngine } from '../engine/local';
import { LocalObjectStore } from '../store/local';
import type { ObjectStore } from '../store/port';
import { HtmlPublisher } from './local';
import type { Publisher } from './port';
import { QuickSightPublisher, type QuickSightPublisherOptions } from './quicksight';
import { writeRowAccess } from './row-access';

/** Thrown when the config cannot publish with its publisher (a QuickSight publisher without an S3 lake...). */
export class PublisherConfigError extends Error {}

export function quickSightPublisherFromConfig(config: Config, store: ObjectStore, options: Pick<QuickSightPublisherOptions, 'accountId' | 'region' | 'deadline'> = {}): QuickSightPublisher {
  if (!('s3' in config.lake)) throw new PublisherConfigError('the QuickSight publisher writes its snapshots to the lake bucket: configure lake.s3 (the local lake is for the HTML publisher)');
  const catalog = catalogFromConfig(config, store);
  return new QuickSightPublisher(config, {
    ...options,
    store,
    bucket: config.lake.s3.bucket,
    bucketPrefix: config.lake.s3.prefix,
    writeRowAccess: () => writeRowAccess(store, catalog, config),
  });
}

/** The configured publisher over `store`, and what to close after publishing (the HTML publisher's DuckDB). */
export async function openPublisher(config: Config, store: ObjectStore): Promise<{ publisher: Publisher; close(): void }> {
  if (config.publisher === 'quicksight') return { publisher: quickSightPublisherFromConfig(config, store), close: () => {} };
  if (!(store instanceof LocalObjectStore)) throw new PublisherConfigError(`the HTML publisher runs on DuckDB over a local lake; the configured lake is ${store.location} (pass --lake DIR)`);
  const engine = await LocalQueryEngine.open(store, config);
  return { publisher: new HtmlPublisher(store, engine, config), close: () => engine.close() };
}
