/**
 * The catalog tables cclake keeps, derived from `schemas/` (names, columns and types are never
 * typed twice): the raw zone as Firehose writes it (or the AWS guidance's `metrics` table as an
 * input profile), the curated events, the rollup tables and the anomalies the detectors found.
 */
import { BEDROCK_GUIDANCE_METRICS } from '../../../schemas/bedrock-guidance';
import { hiveType, type ColumnDef, type TableDef } from '../../../schemas/columns';
import { CURATED_EVENTS, CURATED_EVENTS_PREFIX } from '../../../schemas/curated-events';
import { RAW_RECORD } from '../../../schemas/raw-record';
import { INTRADAY_TABLES, ROLLUP_TABLES } from '../../../schemas/rollups';
import { ANOMALIES_PREFIX, DETECTED_ANOMALIES } from '../../../schemas/anomalies';
import type { Config } from '../config/schema';
import type { CatalogColumn, TableSpec } from './port';

/** Catalog name of the raw zone's table for the `cclake` profile. */
export const RAW_TABLE = 'events_raw';

/** Firehose's arrival-time partition keys, strings as in its key layout (`year=2026/month=11/...`). */
const ARRIVAL_KEYS: ColumnDef[] = ['year', 'month', 'day', 'hour'].map((name) => ({
  name,
  type: 'string',
  doc: `Arrival ${name} (UTC), from the Firehose key`,
}));

/** Catalog columns (Hive types, comments) of schema columns. */
export const columnsOf = (cols: readonly ColumnDef[]): CatalogColumn[] =>
  cols.map((c) => ({ name: c.name, type: hiveType(c.type), comment: c.doc.slice(0, 255) }));

function spec(table: TableDef, name: string, location: string, partitionKeys: readonly ColumnDef[]): TableSpec {
  return {
    name,
    description: table.doc,
    location,
    columns: columnsOf(table.columns),
    partitionKeys: columnsOf(partitionKeys),
    format: 'parquet',
    parameters: { 'cclake.schema': table.name },
  };
}

/** The raw table: partitions registered per arrival hour (see README, "Catalog"). */
export function rawTable(config: Config): TableSpec {
  return config.raw.profile === 'bedrock-guidance'
    ? spec(BEDROCK_GUIDANCE_METRICS, BEDROCK_GUIDANCE_METRICS.name, config.raw.prefix, ARRIVAL_KEYS)
    : spec(RAW_RECORD, RAW_TABLE, config.raw.prefix, ARRIVAL_KEYS);
}

export function curatedEventsTable(): TableSpec {
  return spec(CURATED_EVENTS, CURATED_EVENTS.name, CURATED_EVENTS_PREFIX, CURATED_EVENTS.partitionKeys);
}

/** Lake key prefix of a rollup table. */
export const rollupPrefix = (name: string) => `rollups/${name}/`;

export function anomaliesTable(): TableSpec {
  return spec(DETECTED_ANOMALIES, DETECTED_ANOMALIES.name, ANOMALIES_PREFIX, DETECTED_ANOMALIES.partitionKeys);
}

/** The tables cclake rewrites a partition (`dt`) at a time: curated events, the rollups and the anomalies, with their schemas. */
export function generationTables(): { spec: TableSpec; def: TableDef }[] {
  return [
    { spec: curatedEventsTable(), def: CURATED_EVENTS },
    ...ROLLUP_TABLES.map((def) => ({ spec: spec(def, def.name, rollupPrefix(def.name), def.partitionKeys), def })),
    { spec: anomaliesTable(), def: DETECTED_ANOMALIES },
    ...INTRADAY_TABLES.map((def) => ({ spec: spec(def, def.name, rollupPrefix(def.name), def.partitionKeys), def })),
  ];
}
