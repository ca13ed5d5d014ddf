/**
 * The embedded SQL engine: DuckDB in-process, set up so it behaves like Athena where it can and
 * never reaches the network (httpfs cannot be downloaded here; bytes move through the ObjectStore).
 */
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

/**
 * Plain JSON-friendly values, by the column's DuckDB type: safe integers as numbers (larger ones as
 * decimal text), TIMESTAMP as ISO-8601 UTC, DATE as YYYY-MM-DD, MAP as an object (also when empty).
 */
export function toPlain(v: unknown, type: DuckDBType): unknown {
  if (v === null || v === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.DATE:
      return (v as Date).toISOString().slice(0, 10);
    case DuckDBTypeId.MAP:
      return Object.fromEntries((v as { key: unknown; value: unknown }[]).map((e) => [String(e.key), toPlain(e.value, type.valueType)]));
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return (v as unknown[]).map((x) => toPlain(x, type.valueType));
    case DuckDBTypeId.STRUCT:
      return Object.fromEntries(type.entryNames.map((name, i) => [name, toPlain((v as Record<string, unknown>)[name], type.entryTypes[i]!)]));
  }
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

export class DuckDBEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /**
   * `path` gives an on-disk database (for work larger than memory: its tables can be evicted);
   * the default is in-memory.
   */
  static async open(options: { path?: string; threads?: number; memoryLimit?: string; tempDirectory?: string } = {}): Promise<DuckDBEngine> {
    const settings: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'true',
    };
    if (options.threads) settings.threads = String(options.threads);
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    if (options.tempDirectory) settings.temp_directory = options.tempDirectory;
    const instance = await DuckDBInstance.create(options.path ?? ':memory:', settings);
    const conn = await instance.connect();
    // ICU is linked in but only registers TimeZone once loaded, so it cannot go in the create settings.
    // UTC matches Athena, which has no session time zone for `timestamp` values.
    await conn.run(`SET TimeZone = 'UTC'`);
    return new DuckDBEngine(instance, conn);
  }

  async run(sql: string, params?: Record<string, DuckDBValue> | DuckDBValue[]): Promise<void> {
    await this.conn.run(sql, params as never);
  }

  async query(sql: string, params?: Record<string, DuckDBValue> | DuckDBValue[]): Promise<QueryResult> {
    const reader = await this.conn.runAndReadAll(sql, params as never);
    const names = reader.columnNames();
    const types = reader.columnTypes();
    const rows = reader.getRowsJS().map((values) => {
      const row: Record<string, unknown> = {};
      values.forEach((v, i) => (row[names[i]!] = toPlain(v, types[i]!)));
      return row;
    });
    return { columns: names.map((name, i) => ({ name, type: types[i]!.toString() })), rows };
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** SQL string literal (for file paths the engine itself generated; never for user or config values). */
export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
export const sqlIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
