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
import { BILL_LINES, BILL_LINES_PREFIX } from '../../../schemas/bills';
import { rawSourcesOf, type Config, type RawSourceConfig } from '../config/schema';
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
  return rawSourceTable(config.raw);
}

/**
 * The catalog table of one raw source (`raw.sources`): `events_raw` for a `cclake` source,
 * `metrics` (the AWS guidance's table, schemas/bedrock-guidance.ts) for a `bedrock-guidance` one,
 * each at its source's prefix with the arrival-hour partition keys both pipelines' Firehose writes.
 */
export function rawSourceTable(source: Pick<RawSourceConfig, 'profile' | 'prefix'>): TableSpec {
  return source.profile === 'bedrock-guidance'
    ? spec(BEDROCK_GUIDANCE_METRICS, BEDROCK_GUIDANCE_METRICS.name, source.prefix, ARRIVAL_KEYS)
    : spec(RAW_RECORD, RAW_TABLE, source.prefix, ARRIVAL_KEYS);
}

/** Every raw source's table, oldest source first (one source: the one `rawTable` describes). */
export function rawTables(config: Config): { source: RawSourceConfig; table: TableSpec }[] {
  return rawSourcesOf(config).map((source) => ({ source, table: rawSourceTable(source) }));
}

/**
 * Whether a catalog table is partitioned by projection (Athena computes its partitions from
 * `storage.location.template`; registered ones are ignored): the AWS guidance's own `metrics`
 * table is, so cclake leaves it as it is when it finds it in its Glue database.
 */
export const isProjected = (table: TableSpec | null) => table?.parameters['projection.enabled']?.toLowerCase() === 'true';

export function curatedEventsTable(): TableSpec {
  return spec(CURATED_EVENTS, CURATED_EVENTS.name, CURATED_EVENTS_PREFIX, CURATED_EVENTS.partitionKeys);
}

/** Lake key prefix of a rollup table. */
export const rollupPrefix = (name: string) => `rollups/${name}/`;

export function anomaliesTable(): TableSpec {
  return spec(DETECTED_ANOMALIES, DETECTED_ANOMALIES.name, ANOMALIES_PREFIX, DETECTED_ANOMALIES.partitionKeys);
}

/** The imported bill lines (`cclake import bill`), one partition per billing month. */
export function billLinesTable(): TableSpec {
  return spec(BILL_LINES, BILL_LINES.name, BILL_LINES_PREFIX, BILL_LINES.partitionKeys);
}

/** The tables cclake rewrites a partition (`dt`) at a time: curated events, the rollups, the anomalies and the bill lines, with their schemas. */
export function generationTables(): { spec: TableSpec; def: TableDef }[] {
  return [
    { spec: curatedEventsTable(), def: CURATED_EVENTS },
    ...ROLLUP_TABLES.map((def) => ({ spec: spec(def, def.name, rollupPrefix(def.name), def.partitionKeys), def })),
    { spec: anomaliesTable(), def: DETECTED_ANOMALIES },
    { spec: billLinesTable(), def: BILL_LINES },
    ...INTRADAY_TABLES.map((def) => ({ spec: spec(def, def.name, rollupPrefix(def.name), def.partitionKeys), def })),
  ];
}
