/**
 * The query engine for a configured lake: Athena for a lake on S3 (over the Glue catalog), DuckDB
 * for a lake folder (over the local catalog). Close it when done.
 */
import type { Config } from '../config/schema';
import { LocalObjectStore } from '../store/local';
import type { ObjectStore } from '../store/port';
import { athenaEngineFromConfig } from './athena';
import { LocalQueryEngine } from './local';
import type { QueryEngine } from './port';

export async function engineFromConfig(config: Config, store: ObjectStore): Promise<QueryEngine & { close(): void }> {
  if ('s3' in config.lake) return Object.assign(athenaEngineFromConfig(config), { close: () => {} });
  if (!(store instanceof LocalObjectStore)) throw new Error(`a local lake needs a local store, got ${store.location}`);
  return LocalQueryEngine.open(store, config);
}
