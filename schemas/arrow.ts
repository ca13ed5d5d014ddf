/** The Apache Arrow spelling of the logical column types (schemas/columns.ts): the Parquet files the functions write. */
import * as arrow from 'apache-arrow';
import type { LogicalType, TableDef } from './columns';

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

export function arrowSchema(table: TableDef): arrow.Schema {
  return new arrow.Schema(table.columns.map((c) => new arrow.Field(c.name, arrowType(c.type), c.nullable !== false)));
}
