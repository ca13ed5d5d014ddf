/**
 * The tables DuckDB serves over a local lake, read the way Athena reads Glue's: `events_raw` (every
 * raw object, typed by the raw record schema, for looking at what arrived, including hours not
 * registered yet); every generation table (curated events, the rollups, the anomalies) under its
 * catalog name, over the files of the partitions the local catalog lists (every file under each
 * location except `_` and `.` names, plus `dt`); a plain `events` (the curated events with
 * `user_key`) until the rollup's ledger applies the contract views; and the seed tables (org
 * directory, prices, ROI assumptions, compliance policy; the org directory falls back to the lake's
 * CSV until the rollup has seeded it). The views of `sql/views/`, the generated `events` view among
 * them, are applied on top by engine/local.ts.
 */
import { USER_KEY_SQL } from '../sql/user-key';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { duckdbColumns, duckdbType } from '../../../schemas/columns';
import { ORG_DIRECTORY } from '../../../schemas/org-directory';
import { SEED_TABLES } from '../../../schemas/seeds';
import { CURATED_EVENTS } from '../../../schemas/curated-events';
import { RAW_RECORD } from '../../../schemas/raw-record';
import { LocalCatalog } from '../catalog/local';
import { generationTables } from '../catalog/tables';
import type { Config } from '../config/schema';
import { parquetMagicProblem } from '../parquet/magic';
import { listAll } from '../store/port';
import type { LocalObjectStore } from '../store/local';
import { sqlIdent, sqlString, type DuckDBEngine } from './duckdb';


/** A cheap check that a file can be a Parquet file (magic at both ends); footers are checked by the reader. */
export function looksLikeParquet(file: string): boolean {
  return parquetMagicProblem(file) === null;
}

export interface ViewSetup {
  views: string[];
  /** Raw objects left out of `events_raw` because they are not Parquet (compaction quarantines them). */
  skippedRawObjects: string[];
}

/** A SELECT list that types every raw-record column as the schema says (missing columns read as NULL). */
function typedRawColumns(): string {
  return duckdbColumns(RAW_RECORD)
    .map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`)
    .join(', ');
}

/** The data files of a catalog table (every partition's location, or the table's own when it has no partitions), as Athena would read them (none when the table is absent). */
export async function catalogFiles(catalog: LocalCatalog, store: LocalObjectStore, table: string): Promise<string[]> {
  const spec = await catalog.getTable(table);
  if (!spec) return [];
  const out: string[] = [];
  const locations = spec.partitionKeys.length ? (await catalog.listPartitions(table)).map((p) => p.location) : [spec.location];
  for (const location of locations) {
    for (const o of await listAll(store, location)) {
      // Athena reads a location recursively and skips files and folders named `_...` or `.…`.
      if (!o.key.slice(location.length).split('/').some((part) => part.startsWith('_') || part.startsWith('.'))) out.push(o.key);
    }
  }
  return out;
}

export async function registerLakeViews(engine: DuckDBEngine, store: LocalObjectStore, config: Config): Promise<ViewSetup> {
  const setup: ViewSetup = { views: [], skippedRawObjects: [] };
  const files: string[] = [];
  for (const o of await listAll(store, config.raw.prefix)) {
    if (!o.key.endsWith('.parquet')) continue;
    const file = path.join(store.root, ...o.key.split('/'));
    if (looksLikeParquet(file)) files.push(file);
    else setup.skippedRawObjects.push(o.key);
  }
  const emptyRaw = `SELECT ${duckdbColumns(RAW_RECORD)
    .map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`)
    .join(', ')} WHERE false`;
  const source = files.length
    ? `SELECT ${typedRawColumns()} FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`
    : emptyRaw;
  await engine.run(`CREATE OR REPLACE VIEW events_raw AS ${source}`);
  setup.views.push('events_raw');

  // Every generation table (curated events, rollups) as the catalog lists it, under its catalog name.
  const catalog = new LocalCatalog(store, config.aws.glueDatabase);
  for (const { spec, def } of generationTables()) {
    const files = (await catalogFiles(catalog, store, spec.name)).map((key) => path.join(store.root, ...key.split('/')));
    const keys = def.partitionKeys ?? [];
    const select = files.length
      ? `SELECT ${duckdbColumns(def).map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')}${keys.map((k) => `, CAST(${sqlIdent(k.name)} AS ${duckdbType(k.type)}) AS ${sqlIdent(k.name)}`).join('')}
         FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true, union_by_name = true)`
      : `SELECT ${[...def.columns, ...keys].map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${sqlIdent(c.name)}`).join(', ')} WHERE false`;
    await engine.run(`CREATE OR REPLACE VIEW ${sqlIdent(spec.name)} AS ${select}`);
    setup.views.push(spec.name);
  }
  // `events`: the curated events with `user_key` (CONTRACTS section 3).
  await engine.run(`CREATE OR REPLACE VIEW events AS SELECT *, ${USER_KEY_SQL} AS user_key FROM ${sqlIdent(CURATED_EVENTS.name)}`);
  setup.views.push('events');

  // Seeds (org directory, prices, ROI assumptions, compliance policy) as the catalog has them; the
  // org directory falls back to the lake's CSV until the rollup stage has seeded it.
  const csv = path.join(store.root, ...config.orgDirectory.key.split('/'));
  for (const def of SEED_TABLES) {
    const files = (await catalogFiles(catalog, store, def.name)).map((key) => path.join(store.root, ...key.split('/')));
    const typed = duckdbColumns(def).map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ');
    const select = files.length
      ? `SELECT ${typed} FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = false)`
      : def.name === ORG_DIRECTORY.name && existsSync(csv)
        ? `SELECT * FROM read_csv(${sqlString(csv)}, header = true, columns = {${duckdbColumns(ORG_DIRECTORY)
            .map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`)
            .join(', ')}})`
        : `SELECT ${duckdbColumns(def).map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')} WHERE false`;
    await engine.run(`CREATE OR REPLACE VIEW ${sqlIdent(def.name)} AS ${select}`);
    setup.views.push(def.name);
  }
  return setup;
}
