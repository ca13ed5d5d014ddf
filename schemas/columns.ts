/**
 * The logical column types cclake tables use, and how each one is spelled in every place that
 * needs it: Apache Arrow (Parquet files written by the functions; in ./arrow.ts), Hive DDL (Glue table columns,
 * read by Athena) and DuckDB (the embedded engine). Table definitions in this folder name only
 * the logical type; nothing else in the project spells a physical type by hand.
 */
// The Arrow spelling lives in ./arrow.ts, so reading the schemas does not load apache-arrow.

export type LogicalType = 'string' | 'int32' | 'int64' | 'double' | 'boolean' | 'timestamp' | 'date' | 'map<string,string>';

export interface ColumnDef {
  readonly name: string;
  readonly type: LogicalType;
  /** false only for columns every row must carry. */
  readonly nullable?: boolean;
  readonly doc: string;
  /** OpenTelemetry attribute keys (first match wins) that land in this column. */
  readonly otel?: readonly string[];
}

export interface TableDef {
  readonly name: string;
  readonly doc: string;
  readonly columns: readonly ColumnDef[];
  /** Hive-style partition columns: part of the key path (`dt=2026-11-20/`), not of the files. */
  readonly partitionKeys?: readonly ColumnDef[];
  /**
   * The columns that identify a row within a partition (a rollup table's grain). The rollup checks
   * it, and the not-null columns (`nullable: false`), on every day it writes (functions/lib/quality/table-tests.ts).
   */
  readonly key?: readonly string[];
}

/** JS value of each logical type as rows carry it in memory. */
export interface JsValueOf {
  string: string;
  int32: number;
  int64: number; // token counts stay far below 2^53; converted to BigInt only at the Arrow boundary
  double: number;
  boolean: boolean;
  timestamp: number; // epoch milliseconds, UTC
  date: string; // YYYY-MM-DD
  'map<string,string>': Record<string, string>;
}

/** The in-memory row type of a table definition: every column, null when absent. */
export type RowOf<T extends TableDef> = {
  [C in T['columns'][number] as C['name']]: JsValueOf[C['type']] | null;
};

const HIVE: Record<LogicalType, string> = {
  string: 'string',
  int32: 'int',
  int64: 'bigint',
  double: 'double',
  boolean: 'boolean',
  timestamp: 'timestamp',
  date: 'date',
  'map<string,string>': 'map<string,string>',
};

const DUCKDB: Record<LogicalType, string> = {
  string: 'VARCHAR',
  int32: 'INTEGER',
  int64: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  'map<string,string>': 'MAP(VARCHAR, VARCHAR)',
};

export const hiveType = (t: LogicalType): string => HIVE[t];
export const duckdbType = (t: LogicalType): string => DUCKDB[t];

/** Glue `StorageDescriptor.Columns` entries. */
export function glueColumns(table: TableDef): { Name: string; Type: string; Comment: string }[] {
  return table.columns.map((c) => ({ Name: c.name, Type: hiveType(c.type), Comment: c.doc.slice(0, 255) }));
}

/** DuckDB `read_parquet(..., columns = {...})`-style struct literal and CREATE TABLE body. */
export function duckdbColumns(table: TableDef): { name: string; type: string }[] {
  return table.columns.map((c) => ({ name: c.name, type: duckdbType(c.type) }));
}
