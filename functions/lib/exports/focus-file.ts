/**
 * The export files' bytes: CSV (RFC 4180, header row, '\n' line ends, UTF-8) and Parquet (zstd,
 * through parquet-wasm) for the FOCUS detail, from the column list in schemas/focus.ts.
 *
 * Both are pure functions of the rows: no run time, no random ids, rows in the order given, so the
 * same rows always give the same bytes (the chargeback's "unchanged" check relies on that, and
 * test/chargeback.test.ts asserts it).
 */
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { FOCUS_COLUMNS, type FocusColumn, type FocusRow, type FocusType } from '../../../schemas/focus';
import { parseDecimal } from './money';

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A CSV document: the header, then one line per row, every line ending in '\n'. */
export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return lines.join('\n') + '\n';
}

export const focusCsv = (rows: readonly FocusRow[]) =>
  toCsv(
    FOCUS_COLUMNS.map((c) => c.name),
    rows,
  );

function arrowTypeOf(t: FocusType): arrow.DataType {
  if (typeof t === 'object') return new arrow.Decimal(t.decimal[1], t.decimal[0], 128);
  switch (t) {
    case 'string':
      return new arrow.Utf8();
    case 'int32':
      return new arrow.Int32();
    case 'datetime':
      // UTC instants: a timestamp adjusted to UTC (Parquet isAdjustedToUTC = true).
      return new arrow.TimestampMillisecond('UTC');
  }
}

function validity(values: readonly unknown[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

function columnData(col: FocusColumn, type: arrow.DataType, values: readonly unknown[]): arrow.Data {
  const n = values.length;
  const t = col.type;
  if (typeof t === 'object') {
    // Decimal128: four little-endian 32-bit words per value, two's complement, scaled by 10^scale.
    const words = new Uint32Array(4 * n);
    values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      let x = BigInt.asUintN(128, parseDecimal(String(v), t.decimal[1]));
      for (let w = 0; w < 4; w++) {
        words[4 * i + w] = Number(x & 0xffffffffn);
        x >>= 32n;
      }
    });
    return arrow.makeData({ type: type as arrow.Decimal, length: n, ...validity(values), data: words });
  }
  if (t === 'int32') {
    return arrow.makeData({ type: type as arrow.Int32, length: n, ...validity(values), data: Int32Array.from(values, (v) => (v == null ? 0 : Number(v))) });
  }
  if (t === 'datetime') {
    const data = new BigInt64Array(n);
    values.forEach((v, i) => {
      if (v == null) return;
      const ms = Date.parse(String(v));
      if (Number.isNaN(ms)) throw new Error(`${col.name}: not a date/time: ${JSON.stringify(v)}`);
      data[i] = BigInt(ms);
    });
    return arrow.makeData({ type: type as arrow.TimestampMillisecond, length: n, ...validity(values), data });
  }
  const enc = new TextEncoder();
  const parts = values.map((v) => (v == null ? new Uint8Array(0) : enc.encode(String(v))));
  const offsets = new Int32Array(n + 1);
  parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
  const bytes = new Uint8Array(offsets[n]!);
  parts.forEach((p, i) => bytes.set(p, offsets[i]!));
  return arrow.makeData({ type: type as arrow.Utf8, length: n, ...validity(values), valueOffsets: offsets, data: bytes });
}

/** The FOCUS detail as Parquet (zstd): FOCUS types (DECIMAL, UTC timestamps), columns in the schema's order. */
export function focusParquet(rows: readonly FocusRow[]): Uint8Array {
  const fields = FOCUS_COLUMNS.map((c) => new arrow.Field(c.name, arrowTypeOf(c.type), 'nullable' in c && c.nullable === true));
  const schema = new arrow.Schema(fields);
  const children = FOCUS_COLUMNS.map((c, i) => {
    const values = rows.map((r) => r[c.name]);
    if (!fields[i]!.nullable && values.some((v) => v === null || v === undefined)) throw new Error(`FOCUS column ${c.name} must not be null`);
    return columnData(c, fields[i]!.type, values);
  });
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: rows.length, nullCount: 0, children });
  const table = new arrow.Table(schema, new arrow.RecordBatch(schema, struct));
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build();
  return pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
}
