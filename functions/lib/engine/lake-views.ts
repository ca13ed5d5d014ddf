/**
 * The analyst views DuckDB serves over a local lake. So far: `events_raw` (the raw zone, typed by
 * the raw record schema) and `org_directory`. Later stages add the curated and contract views.
 */
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { duckdbColumns } from '../../../schemas/columns';
import { ORG_DIRECTORY } from '../../../schemas/org-directory';
import { RAW_RECORD } from '../../../schemas/raw-record';
import type { Config } from '../config/schema';
import { listAll } from '../store/port';
import type { LocalObjectStore } from '../store/local';
import { sqlIdent, sqlString, type DuckDBEngine } from './duckdb';

const MAGIC = Buffer.from('PAR1');

/** A cheap check that a file can be a Parquet file (magic at both ends); footers are checked by the reader. */
export function looksLikeParquet(file: string): boolean {
  const size = statSync(file).size;
  if (size < 12) return false;
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    readSync(fd, tail, 0, 4, size - 4);
    return head.equals(MAGIC) && tail.equals(MAGIC);
  } finally {
    closeSync(fd);
  }
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
    ? `SELECT ${typedRawColumns()} FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`
    : emptyRaw;
  await engine.run(`CREATE OR REPLACE VIEW events_raw AS ${source}`);
  setup.views.push('events_raw');

  const dir = path.join(store.root, ...config.orgDirectory.key.split('/'));
  if (existsSync(dir)) {
    await engine.run(
      `CREATE OR REPLACE VIEW org_directory AS SELECT * FROM read_csv(${sqlString(dir)}, header = true, columns = {` +
        duckdbColumns(ORG_DIRECTORY)
          .map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`)
          .join(', ') +
        '})',
    );
    setup.views.push('org_directory');
  }
  return setup;
}
