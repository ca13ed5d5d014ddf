/**
 * The raw Glue table as the deploy creates it (AWS::Glue::Table in serverless.yml), so Firehose's
 * Parquet conversion has its schema before the first record arrives. One source of truth: the
 * TableInput is exactly the CreateTable input the partitions job would send for `rawTable(config)`
 * (schemas/raw-record.ts -> columns), so the job finds the table as it would have made it and has
 * nothing to change. serverless.yml reads it through raw-glue-table.cjs at package time.
 */
import { GlueClient, type TableInput } from '@aws-sdk/client-glue';
import { GlueCatalog } from '../catalog/glue';
import { rawTable } from '../catalog/tables';
import { parseConfig } from '../config/load';

export interface RawGlueTable {
  /** The table's name (events_raw for the cclake raw profile): Firehose's SchemaConfiguration.TableName. */
  name: string;
  /** The lake key prefix Firehose writes under (the config's raw.prefix). */
  prefix: string;
  tableInput: TableInput;
}

/** `configJson` is the stack's cclakeConfigJson parameter; its lake.s3 bucket and prefix place the table. */
export function rawGlueTable(configJson: string): RawGlueTable {
  const config = parseConfig(JSON.parse(configJson), 'param cclakeConfigJson');
  const s3 = 's3' in config.lake ? config.lake.s3 : null;
  if (!s3) throw new Error('param cclakeConfigJson has no lake.s3 (bucket, prefix): the raw table needs the lake bucket');
  const catalog = new GlueCatalog(new GlueClient({ region: 'us-east-1' }), {
    database: config.aws.glueDatabase,
    lakeUri: `s3://${s3.bucket}/${s3.prefix}`,
  });
  const table = rawTable(config);
  const [request] = catalog.describe({ op: 'createTable', table });
  const tableInput = (request?.input as { TableInput?: TableInput } | undefined)?.TableInput;
  if (request?.operation !== 'CreateTable' || !tableInput) throw new Error('the catalog adapter described no CreateTable request for the raw table');
  return { name: table.name, prefix: config.raw.prefix, tableInput };
}
