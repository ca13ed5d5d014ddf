/**
 * Rows <-> Arrow tables <-> Parquet bytes, driven by a table definition from `schemas/`.
 * parquet-wasm does the Parquet encoding; Arrow IPC is the hand-off format between the two.
 */
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { arrowSchema } from '../../../schemas/arrow';
import type { ColumnDef, TableDef } from '../../../schemas/columns';

export type Codec = 'snappy' | 'zstd' | 'uncompressed';

const utf8 = new TextEncoder();

/** Validity bitmap and null count for `values` (Arrow: bit set = valid). */
function validity(values: readonly unknown[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { nullBitmap, nullCount };
}

/** UTF-8 data and offsets for a string column, encoded into one buffer (no per-value allocation). */
function utf8Data(type: arrow.Utf8, values: readonly unknown[]): arrow.Data<arrow.Utf8> {
  const offsets = new Int32Array(values.length + 1);
  let capacity = 0;
  for (const v of values) if (typeof v === 'string') capacity += v.length * 3;
  const bytes = new Uint8Array(Math.max(capacity, 1));
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') {
      // ASCII is written byte by byte (most values: ids, names); anything else goes through encodeInto.
      let j = 0;
      for (; j < v.length; j++) {
        const c = v.charCodeAt(j);
        if (c >= 0x80) break;
        bytes[at++] = c;
      }
      if (j < v.length) at += utf8.encodeInto(v.slice(j), bytes.subarray(at)).written;
    }
    offsets[i + 1] = at;
  }
  return arrow.makeData({ type, length: values.length, ...validity(values), valueOffsets: offsets, data: bytes.subarray(0, at) });
}

function mapData(type: arrow.Map_, values: readonly unknown[]): arrow.Data {
  const offsets = new Int32Array(values.length + 1);
  const keys: string[] = [];
  const vals: (string | null)[] = [];
  for (let i = 0; i < values.length; i++) {
    const m = values[i] as Record<string, string> | null | undefined;
    if (m) {
      for (const k in m) {
        keys.push(k);
        vals.push(m[k] ?? null);
      }
    }
    offsets[i + 1] = keys.length;
  }
  const entries = type.children[0]!.type as arrow.Struct;
  const [keyField, valueField] = entries.children as [arrow.Field<arrow.Utf8>, arrow.Field<arrow.Utf8>];
  const child = arrow.makeData({
    type: entries,
    length: keys.length,
    nullCount: 0,
    children: [utf8Data(keyField.type, keys), utf8Data(valueField.type, vals)],
  });
  return arrow.makeData({ type, length: values.length, ...validity(values), valueOffsets: offsets, child });
}

/** One column's Arrow data, built straight into typed arrays (Arrow's generic builders are several times slower). */
function columnData(col: ColumnDef, type: arrow.DataType, values: readonly unknown[]): arrow.Data {
  const n = values.length;
  const num = (i: number) => (values[i] === null || values[i] === undefined ? 0 : (values[i] as number));
  switch (col.type) {
    case 'string':
      return utf8Data(type as arrow.Utf8, values);
    case 'map<string,string>':
      return mapData(type as arrow.Map_, values);
    case 'int64':
    case 'timestamp': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = BigInt(Math.trunc(num(i)));
      return arrow.makeData({ type: type as arrow.Int64, length: n, ...validity(values), data });
    }
    case 'int32': {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = num(i);
      return arrow.makeData({ type: type as arrow.Int32, length: n, ...validity(values), data });
    }
    case 'double': {
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = num(i);
      return arrow.makeData({ type: type as arrow.Float64, length: n, ...validity(values), data });
    }
    case 'date': {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = values[i] == null ? 0 : Math.round(Date.parse(`${values[i] as string}T00:00:00Z`) / 86_400_000);
      return arrow.makeData({ type: type as arrow.DateDay, length: n, ...validity(values), data });
    }
    case 'boolean': {
      const data = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) if (values[i] === true) data[i >> 3]! |= 1 << (i & 7);
      return arrow.makeData({ type: type as arrow.Bool, length: n, ...validity(values), data });
    }
  }
}

/** Builds an Arrow table whose columns follow the definition exactly, whatever keys the rows carry. */
export function rowsToArrow<T extends object>(table: TableDef, rows: readonly T[]): arrow.Table {
  const schema = arrowSchema(table);
  const children = table.columns.map((col, i) => {
    const values = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) values[r] = (rows[r] as Record<string, unknown>)[col.name];
    return columnData(col, schema.fields[i]!.type, values);
  });
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows.length, nullCount: 0, children });
  return new arrow.Table(schema, new arrow.RecordBatch(schema, struct));
}

function fromArrowValue(v: unknown, type: arrow.DataType): unknown {
  if (v === null || v === undefined) return null;
  if (arrow.DataType.isDate(type)) return new Date(v instanceof Date ? v.getTime() : (v as number)).toISOString().slice(0, 10);
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof arrow.MapRow) return Object.fromEntries(v as unknown as Iterable<[string, string]>);
  if (v instanceof Date) return v.getTime();
  return v;
}

/** Plain JS rows (bigint -> number, map -> object, timestamp -> epoch ms). */
export function arrowToRows<T = Record<string, unknown>>(t: arrow.Table): T[] {
  const names = t.schema.fields.map((f) => f.name);
  const cols = names.map((n) => t.getChild(n)!);
  const types = t.schema.fields.map((f) => f.type);
  const rows: T[] = new Array(t.numRows);
  for (let r = 0; r < t.numRows; r++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) row[names[c]!] = fromArrowValue(cols[c]!.get(r), types[c]!);
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
