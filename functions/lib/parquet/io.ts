/**
 * Rows <-> Arrow tables <-> Parquet bytes, driven by a table definition from `schemas/`.
 * parquet-wasm does the Parquet encoding; Arrow IPC is the hand-off format between the two.
 */
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { arrowSchema, type ColumnDef, type TableDef } from '../../../schemas/columns';

export type Codec = 'snappy' | 'zstd' | 'uncompressed';

function toArrowValue(col: ColumnDef, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (col.type) {
    case 'int64':
      return BigInt(Math.trunc(v as number));
    case 'map<string,string>':
      return new Map(Object.entries(v as Record<string, string>));
    case 'date':
      return new Date(`${v as string}T00:00:00Z`);
    default:
      return v;
  }
}

/** Builds an Arrow table whose columns follow the definition exactly, whatever keys the rows carry. */
export function rowsToArrow<T extends object>(table: TableDef, rows: readonly T[]): arrow.Table {
  const schema = arrowSchema(table);
  const vectors: Record<string, arrow.Vector> = {};
  table.columns.forEach((col, i) => {
    const field = schema.fields[i]!;
    const values = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) values[r] = toArrowValue(col, (rows[r] as Record<string, unknown>)[col.name]);
    vectors[col.name] = arrow.vectorFromArray(values, field.type);
  });
  return new arrow.Table(schema, vectors);
}

function fromArrowValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof arrow.MapRow) return Object.fromEntries(v as unknown as Iterable<[string, string]>);
  if (v instanceof Date) return v.getTime();
  return v;
}

/** Plain JS rows (bigint -> number, map -> object, timestamp -> epoch ms). */
export function arrowToRows<T = Record<string, unknown>>(t: arrow.Table): T[] {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n)!);
  const rows: T[] = new Array(t.numRows);
  for (let r = 0; r < t.numRows; r++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) row[names[c]!] = fromArrowValue(cols[c]!.get(r));
    rows[r] = row as T;
  }
  return rows;
}

const CODECS: Record<Codec, pq.Compression> = {
  snappy: pq.Compression.SNAPPY,
  zstd: pq.Compression.ZSTD,
  uncompressed: pq.Compression.UNCOMPRESSED,
};

export interface WriteOptions {
  codec?: Codec;
  /** Rows per row group (parquet-wasm's default is 1M). */
  rowGroupSize?: number;
}

export function arrowToParquet(t: arrow.Table, options: WriteOptions = {}): Uint8Array {
  let builder = new pq.WriterPropertiesBuilder().setCompression(CODECS[options.codec ?? 'snappy']);
  if (options.rowGroupSize) builder = builder.setMaxRowGroupSize(options.rowGroupSize);
  const wasmTable = pq.Table.fromIPCStream(arrow.tableToIPC(t, 'stream'));
  return pq.writeParquet(wasmTable, builder.build());
}

export function parquetToArrow(bytes: Uint8Array): arrow.Table {
  return arrow.tableFromIPC(pq.readParquet(bytes).intoIPCStream());
}

export function writeRows<T extends object>(table: TableDef, rows: readonly T[], options?: WriteOptions): Uint8Array {
  return arrowToParquet(rowsToArrow(table, rows), options);
}

export function readRows<T = Record<string, unknown>>(bytes: Uint8Array): T[] {
  return arrowToRows<T>(parquetToArrow(bytes));
}
