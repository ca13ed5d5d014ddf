/**
 * Which raw objects compaction can read, and why the others go to quarantine. An object is
 * readable when it is a Parquet file whose footer DuckDB can read, it has the columns every record
 * needs, and each column it shares with the table has the table's type or one that widens to it
 * (int32 -> int64, float -> double, any timestamp unit or INT96 -> timestamp). Columns the table
 * does not know yet are carried along (a newer table version added them).
 */
import { duckdbColumns, type TableDef } from '../../../schemas/columns';
import { sqlString, type DuckDBEngine } from '../engine/duckdb';
import { parquetMagicProblem } from '../parquet/magic';

export type Verdict = { ok: true; columns: { name: string; type: string }[] } | { ok: false; reason: string };

const REQUIRED = ['record_id', 'signal', 'name', 'event_time'];

/** Types each table type accepts from a file, all of which cast to it without loss. */
const WIDENS_TO: Record<string, readonly string[]> = {
  VARCHAR: ['VARCHAR'],
  BIGINT: ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'],
  INTEGER: ['INTEGER', 'SMALLINT', 'TINYINT', 'USMALLINT', 'UTINYINT'],
  DOUBLE: ['DOUBLE', 'FLOAT'],
  BOOLEAN: ['BOOLEAN'],
  TIMESTAMP: ['TIMESTAMP', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'TIMESTAMP_NS', 'TIMESTAMP WITH TIME ZONE'],
  DATE: ['DATE'],
  'MAP(VARCHAR, VARCHAR)': ['MAP(VARCHAR, VARCHAR)'],
};


export async function validateRawFile(engine: DuckDBEngine, file: string, table: TableDef): Promise<Verdict> {
  const magic = parquetMagicProblem(file);
  if (magic) return { ok: false, reason: magic };
  let columns: { name: string; type: string }[];
  try {
    const described = await engine.query(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)}, hive_partitioning = false)`);
    columns = described.rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
  } catch (err) {
    return { ok: false, reason: `unreadable Parquet footer: ${(err as Error).message.split('\n')[0]}` };
  }
  const have = new Map(columns.map((c) => [c.name, c.type]));
  const missing = REQUIRED.filter((c) => !have.has(c));
  if (missing.length) return { ok: false, reason: `missing required column(s) ${missing.join(', ')}` };
  for (const col of duckdbColumns(table)) {
    const found = have.get(col.name);
    if (found === undefined) continue; // absent columns read as null
    if (!(WIDENS_TO[col.type] ?? [col.type]).includes(found)) {
      return { ok: false, reason: `incompatible type: column ${col.name} is ${found} in this object, the table has ${col.type}` };
    }
  }
  return { ok: true, columns };
}
