/**
 * The BI publisher for a config, chosen here and nowhere else: `publisher: 'quicksight'` publishes to
 * QuickSight (snapshots into the lake bucket, row-level security from the org directory), `'html'`
 * writes the local HTML dashboard over DuckDB. The publish function is QuickSight always and calls
 * `quickSightPublisherFromConfig` (quicksight-from-config.ts: its bundle must not carry DuckDB or
 * the HTML publisher) directly; the CLI calls `openPublisher`. Close what you open.
 */
import type { Config } from '../config/schema';
import { LocalQueryEngine } from '../engine/local';
import { LocalObjectStore } from '../store/local';
import type { ObjectStore } from '../store/port';
import { HtmlPublisher } from './local';
import type { Publisher } from './port';
import { PublisherConfigError, quickSightPublisherFromConfig } from './quicksight-from-config';

export { PublisherConfigError };

/** The configured publisher over `store`, and what to close after publishing (the HTML publisher's DuckDB). */
export async function openPublisher(config: Config, store: ObjectStore): Promise<{ publisher: Publisher; close(): void }> {
  if (config.publisher === 'quicksight') return { publisher: quickSightPublisherFromConfig(config, store), close: () => {} };
  if (!(store instanceof LocalObjectStore))
    throw new PublisherConfigError(`the HTML publisher runs on DuckDB over a local lake; the configured lake is ${store.location} (pass --lake DIR)`);
  const engine = await LocalQueryEngine.open(store, config);
  return { publisher: new HtmlPublisher(store, engine, config), close: () => engine.close() };
}
