/**
 * The logical column types cclake tables use, and how each one is spelled in every place that
 * needs it: Apache Arrow (Parquet files written by the functions), Hive DDL (Glue table columns,
 * read by Athena) and DuckDB (the embedded engine). Table definitions in this folder name only
 * the logical type; nothing else in the project spells a physical type by hand.
 */
import * as arrow from 'apache-arrow';

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

const mapType = () =>
  new arrow.Map_(
    new arrow.Field(
      'entries',
      new arrow.Struct<{ key: arrow.Utf8; value: arrow.Utf8 }>([
        new arrow.Field('key', new arrow.Utf8(), false),
        new arrow.Field('value', new arrow.Utf8(), true),
      ] as arrow.Field[]),
      false,
    ),
  );

/**
 * Timestamps are written without a time-zone annotation and hold UTC wall time. Athena's
 * `timestamp` and DuckDB's `TIMESTAMP` then both read the same instant with no session time
 * zone applied (a TIMESTAMPTZ column would shift date arithmetic in DuckDB, silently).
 */
export function arrowType(t: LogicalType): arrow.DataType {
  switch (t) {
    case 'string':
      return new arrow.Utf8();
    case 'int32':
      return new arrow.Int32();
    case 'int64':
      return new arrow.Int64();
    case 'double':
      return new arrow.Float64();
    case 'boolean':
      return new arrow.Bool();
    case 'timestamp':
      return new arrow.TimestampMillisecond();
    case 'date':
      return new arrow.DateDay();
    case 'map<string,string>':
      return mapType();
  }
}

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

export function arrowSchema(table: TableDef): arrow.Schema {
  return new arrow.Schema(table.columns.map((c) => new arrow.Field(c.name, arrowType(c.type), c.nullable !== false)));
}

/** Glue `StorageDescriptor.Columns` entries. */
export function glueColumns(table: TableDef): { Name: string; Type: string; Comment: string }[] {
  return table.columns.map((c) => ({ Name: c.name, Type: hiveType(c.type), Comment: c.doc.slice(0, 255) }));
}

/** DuckDB `read_parquet(..., columns = {...})`-style struct literal and CREATE TABLE body. */
export function duckdbColumns(table: TableDef): { name: string; type: string }[] {
  return table.columns.map((c) => ({ name: c.name, type: duckdbType(c.type) }));
}
