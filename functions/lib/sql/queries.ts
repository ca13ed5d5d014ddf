/**
 * The exports' queries: `sql/exports/<name>.sql`, plain parameterised SELECTs over the rollup tables
 * and views (Trino dialect, linted with the rest of `sql/`). Each run records the file, its checksum
 * (sha256, as the ledger computes it) and the engine's query id beside the result it produced, so a
 * report can say exactly which SQL made each number.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { EngineResult, QueryEngine, SqlValue } from '../engine/port';
import { checksumOf, SQL_DIR } from './files';
import { countPlaceholders } from './placeholders';

export interface QueryFile {
  name: string;
  /** Repository-relative path, e.g. `sql/exports/chargeback_total.sql`. */
  file: string;
  sql: string;
  checksum: string;
  placeholders: number;
}

/** What one execution of a query file produced, for manifests and reports. */
export interface QueryRun {
  name: string;
  file: string;
  checksum: string;
  engine: 'duckdb' | 'athena';
  /** Athena's QueryExecutionId; null on DuckDB. */
  queryId: string | null;
  rows: number;
  durationMs: number;
}

export function readQuery(name: string, sqlDir: string = SQL_DIR): QueryFile {
  const file = path.join(sqlDir, 'exports', `${name}.sql`);
  let sql: string;
  try {
    sql = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read sql/exports/${name}.sql from ${sqlDir}: ${(err as Error).message}`);
  }
  return { name, file: `sql/exports/${name}.sql`, sql, checksum: checksumOf(sql), placeholders: countPlaceholders(sql) };
}

/** Runs a query file with its parameters (their number must match its placeholders) and records the run. */
export async function runQuery(engine: QueryEngine, q: QueryFile, params: SqlValue[], runs: QueryRun[]): Promise<EngineResult> {
  if (params.length !== q.placeholders) throw new Error(`${q.file} has ${q.placeholders} placeholder(s) but was given ${params.length} value(s)`);
  const result = await engine.query(q.sql, params);
  runs.push({
    name: q.name,
    file: q.file,
    checksum: q.checksum,
    engine: result.stats.engine,
    queryId: result.stats.queryId,
    rows: result.rows.length,
    durationMs: result.stats.durationMs,
  });
  return result;
}
