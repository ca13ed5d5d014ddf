/**
 * The embedded SQL engine: DuckDB in-process, set up so it behaves like Athena where it can and
 * never reaches the network (httpfs cannot be downloaded here; bytes move through the ObjectStore).
 */
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';

export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
}

/** Plain JSON-friendly values: safe integers as numbers, timestamps as ISO text, maps as objects. */
export function toPlain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) {
    // DuckDB MAP arrives as [{key, value}, ...].
    if (v.length > 0 && v.every((e) => e && typeof e === 'object' && 'key' in e && 'value' in e && Object.keys(e).length === 2)) {
      return Object.fromEntries(v.map((e: { key: unknown; value: unknown }) => [String(e.key), toPlain(e.value)]));
    }
    return v.map(toPlain);
  }
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

export class DuckDBEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  static async open(options: { threads?: number; memoryLimit?: string; tempDirectory?: string } = {}): Promise<DuckDBEngine> {
    const settings: Record<string, string> = {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'true',
    };
    if (options.threads) settings.threads = String(options.threads);
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    if (options.tempDirectory) settings.temp_directory = options.tempDirectory;
    const instance = await DuckDBInstance.create(':memory:', settings);
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
    const columns = reader.columnTypes().map((t, i) => ({ name: names[i]!, type: t.toString() }));
    const dates = columns.filter((c) => c.type === 'DATE').map((c) => c.name);
    const rows = reader.getRowObjectsJS().map((r) => {
      const row = toPlain(r) as Record<string, unknown>;
      for (const d of dates) if (typeof row[d] === 'string') row[d] = (row[d] as string).slice(0, 10);
      return row;
    });
    return { columns, rows };
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** SQL string literal (for file paths the engine itself generated; never for user or config values). */
export const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
export const sqlIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
