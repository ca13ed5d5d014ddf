/**
 * Hand-made imported bills for the chargeback true-up tests: rows of the `bill_lines` table
 * (schemas/bills.ts) written as real Parquet by the project's writer, and the `bill_lines` relation
 * a query engine reads them through (functions/lib/exports/billed.ts is the one reader).
 *
 * They are committed as the import commits them, so the engine binds `bill_lines` from the catalog
 * like every generation table.
 */
import type { BILL_LINES } from '../../schemas/bills';
import type { RowOf } from '../../schemas/columns';
import { LocalCatalog } from '../../functions/lib/catalog/local';
import { billLinesTable } from '../../functions/lib/catalog/tables';
import { parseConfig } from '../../functions/lib/config/load';
import { Generations } from '../../functions/lib/generations/generations';
import { commitBillLines, liveBillLines } from '../../functions/lib/jobs/import-bill';
import type { LocalObjectStore } from '../../functions/lib/store/local';
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

/**
 * Commits bill lines as `cclake import bill` does (functions/lib/jobs/import-bill.ts): one generation
 * of the billing month's partition holding each bill's current lines, these rows replacing every
 * earlier line of the same bill. Returns the key of the file written.
 */
export async function putBillLines(store: LocalObjectStore, name: string, rows: readonly BillLineRow[]): Promise<string[]> {
  const spec = billLinesTable();
  const generations = new Generations(store, new LocalCatalog(store, parseConfig({}).aws.glueDatabase), [spec]);
  const runId = name.replace(/[^a-z0-9]/gi, '').slice(0, 24);
  const keys: string[] = [];
  for (const month of [...new Set(rows.map((r) => r.month!))].sort()) {
    const dt = `${month}-01`;
    const mine = rows.filter((r) => r.month === month);
    const bills = new Set(mine.map((r) => r.bill_id));
    const { live, rows: before } = await liveBillLines(store, generations, dt);
    const all = [...before.filter((r) => !bills.has(r.bill_id)), ...mine.map((r) => ({ ...r, dt }))];
    const commit = await commitBillLines(store, generations, dt, all, live, { runId, now: Date.now() });
    const published = await generations.publish(spec.name, [commit]);
    if (published.errors.length) throw new Error(published.errors.join('; '));
    keys.push(...commit.files.map((f) => f.key));
  }
  return keys;
}
