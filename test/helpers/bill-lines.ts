/**
 * Hand-made imported bills for the chargeback true-up tests: rows of the `bill_lines` table
 * (schemas/bills.ts) written as real Parquet by the project's writer, and the `bill_lines` relation
 * a query engine reads them through (functions/lib/exports/billed.ts is the one reader).
 *
 * Until the bill import registers `bill_lines` in the catalog, a test binds it as the local engine
 * binds a generation table: a DuckDB view typed by the schema over every file under BILLS_PREFIX.
 */
import * as path from 'node:path';
import { BILL_LINES } from '../../schemas/bills';
import { duckdbColumns, type RowOf } from '../../schemas/columns';
import { sqlIdent, sqlString } from '../../functions/lib/engine/duckdb';
import type { LocalQueryEngine } from '../../functions/lib/engine/local';
import { writeRows } from '../../functions/lib/parquet/io';
import type { LocalObjectStore } from '../../functions/lib/store/local';
import { listAll } from '../../functions/lib/store/port';

export const BILLS_PREFIX = 'bills/lines/';
export type BillLineRow = RowOf<typeof BILL_LINES>;

export interface BillLine {
  provider?: 'bedrock' | 'anthropic';
  account?: string;
  month: string;
  model: string | null;
  /** Exact decimal text, what the true-up adds. */
  billed: string;
  revision?: number;
  currency?: string;
  tokenType?: string;
}

/** Bill lines as the import would write them: one bill per provider, account and month; billed_usd is the double beside the exact text. */
export function billLines(lines: readonly BillLine[], file = 'fixture-bill.csv'): BillLineRow[] {
  return lines.map((l, i) => {
    const provider = l.provider ?? 'bedrock';
    const account = l.account ?? '123456789012';
    return {
      provider,
      account,
      month: l.month,
      usage_date: null,
      model: l.model,
      model_id: l.model,
      usage_type: null,
      token_type: l.tokenType ?? null,
      usage_quantity: null,
      principal: null,
      tags: null,
      billed_usd: Number(l.billed),
      billed_usd_exact: l.billed,
      list_usd: null,
      currency: l.currency ?? 'USD',
      bill_id: `${provider}:${account}:${l.month}`,
      bill_revision: l.revision ?? 1,
      source_file: file,
      source_row: i + 1,
      source_digest: '0'.repeat(64),
      imported_at: Date.parse('2026-11-10T08:00:00Z'),
    };
  });
}

/** Writes one imported file's lines as Parquet under BILLS_PREFIX; returns the key. */
export async function putBillLines(store: LocalObjectStore, name: string, rows: readonly BillLineRow[]): Promise<string> {
  const key = `${BILLS_PREFIX}${name}.parquet`;
  await store.put(key, writeRows(BILL_LINES, rows), { contentType: 'application/vnd.apache.parquet' });
  return key;
}

/** Binds `bill_lines` in the engine's DuckDB session over every bill file of the lake (an empty table when there is none). */
export async function bindBillLines(engine: LocalQueryEngine, store: LocalObjectStore): Promise<void> {
  const files = (await listAll(store, BILLS_PREFIX)).map((o) => path.join(store.root, ...o.key.split('/')));
  const cols = duckdbColumns(BILL_LINES);
  const select = files.length
    ? `SELECT ${cols.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')} FROM read_parquet([${files.map(sqlString).join(', ')}], union_by_name = true)`
    : `SELECT ${cols.map((c) => `CAST(NULL AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')} WHERE false`;
  await engine.duck.run(`CREATE OR REPLACE VIEW ${sqlIdent(BILL_LINES.name)} AS ${select}`);
}
