/**
 * The query engine port: where the versioned SQL under `sql/` runs — Athena on AWS, DuckDB locally.
 * The SQL is Athena's (Trino) dialect on both. Values are bound to `?` placeholders, in order
 * (Athena ExecutionParameters, DuckDB prepared-statement parameters): no SQL is ever built by pasting
 * config or data into strings.
 */

/** A value bound to a `?` placeholder. Dates travel as 'YYYY-MM-DD' strings (`CAST(? AS DATE)` in the SQL). */
export type SqlValue = string | number | boolean | null;

export interface QueryStats {
  engine: 'duckdb' | 'athena';
  /** Athena's QueryExecutionId (null on DuckDB). */
  queryId: string | null;
  /** Bytes the engine read from the lake (Athena's DataScannedInBytes; null when unknown). */
  bytesScanned: number | null;
  durationMs: number;
  /** Rows an unload wrote, where the engine reports it (DuckDB's COPY does; Athena's UNLOAD does not). */
  rowsWritten?: number;
}

export interface EngineResult {
  columns: { name: string; type: string }[];
  /**
   * Plain values, the same on both engines: integers as numbers, DOUBLE as numbers, BOOLEAN as
   * booleans, DATE as 'YYYY-MM-DD', TIMESTAMP as ISO-8601 UTC ('2026-11-20T10:00:00.000Z'),
   * VARCHAR as strings, NULL as null.
   */
  rows: Record<string, unknown>[];
  stats: QueryStats;
}

export interface QueryEngine {
  readonly kind: 'duckdb' | 'athena';
  /** Runs one statement (a SELECT, or DDL such as CREATE OR REPLACE VIEW) with `params` bound in order. */
  query(sql: string, params?: SqlValue[]): Promise<EngineResult>;
  /**
   * Writes the rows of a SELECT as Parquet files (zstd) under `location`, a lake key prefix ending in
   * '/' that must be empty (Athena UNLOAD; DuckDB COPY then upload). The caller commits the location.
   */
  unload(select: string, params: SqlValue[], location: string): Promise<QueryStats>;
  /**
   * Makes what the lake gained since the engine opened readable (new partitions, seeds, rollup
   * days): the local engine re-registers its views over the lake's files; Athena reads the Glue
   * catalog at every query, so there is nothing to do. Jobs call it after they commit.
   */
  refresh(): Promise<unknown>;
}
