import type { Config } from '../config/schema';
import { LocalObjectStore } from './local';
import type { ObjectStore } from './port';
import { s3StoreFromConfig } from './s3';

/** The lake's object store for a config: a local folder, or an S3 bucket/prefix. */
export function storeFromConfig(config: Config): ObjectStore {
  return 'local' in config.lake ? new LocalObjectStore(config.lake.local.path) : s3StoreFromConfig(config.lake.s3);
}
