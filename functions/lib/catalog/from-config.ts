/**
 * The catalog for a configured lake: Glue for a lake on S3 (what Athena reads), the local catalog
 * files for a lake folder (what DuckDB's views read).
 */
import type { Config } from '../config/schema';
import type { ObjectStore } from '../store/port';
import { GlueCatalog, glueClientFor } from './glue';
import { LocalCatalog } from './local';
import type { Catalog } from './port';

export function catalogFromConfig(config: Config, store: ObjectStore): Catalog {
  if ('s3' in config.lake) {
    const { bucket, prefix, region } = config.lake.s3;
    return new GlueCatalog(glueClientFor(config.aws.region ?? region), { database: config.aws.glueDatabase, lakeUri: `s3://${bucket}/${prefix}` });
  }
  return new LocalCatalog(store, config.aws.glueDatabase);
}
