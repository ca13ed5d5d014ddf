/**
 * The seam between the bill import (`cclake import bill`, schemas/bills.ts) and the chargeback
 * true-up: the one place the chargeback reads bills.
 *
 * It reads the relation `bill_lines` of the query engine (on Athena the Glue table, locally the
 * view the engine binds over the imported Parquet) through sql/exports/chargeback_billed.sql, which
 * names these columns only: month, provider, model, billed_usd_exact, currency, bill_id,
 * bill_revision, source_file, source_row. Of each bill (`bill_id`) only its latest `bill_revision`
 * counts. The amounts are added as exact decimals (10^-15 USD), never as doubles.
 *
 * A query engine without the relation (no import has run, or a cclake without the import) reads as
 * "no bill for the month", the same as a month without bill lines: the chargeback then bills the
 * priced cost, as it always did.
 */
import type { EngineResult, QueryEngine } from '../engine/port';
import { readQuery, runQuery, type QueryRun } from '../sql/queries';
import { EXACT_SCALE, parseDecimal } from './money';

export const BILL_LINES_RELATION = 'bill_lines';
/** The providers a bill line may name: those of the model ids (prices/model-id.ts). */
export const BILL_PROVIDERS = ['anthropic', 'bedrock', 'vertex'] as const;
export type BillProvider = (typeof BILL_PROVIDERS)[number];

/** One bill (document) at the revision the true-up uses. */
export interface BillRef {
  billId: string;
  revision: number;
  provider: BillProvider;
  /** Femto-dollars (10^-15 USD), exact. */
  billedExact: bigint;
  lines: number;
}

/** What the month's bills charge for one provider and model (null: lines that name no model). */
export interface BilledModel {
  provider: BillProvider;
  model: string | null;
  billedExact: bigint;
  /** The bills with lines for it, '<bill_id> rev <n>'. */
  bills: string[];
}

export interface BilledAmounts {
  month: string;
  /** Sorted by bill id. */
  bills: BillRef[];
  /** Sorted by provider, then model (null last). */
  models: BilledModel[];
  totalExact: bigint;
  /** The query that read them (for the manifest's SQL list). */
  query: QueryRun;
}

/** A bill line the true-up cannot use (an amount that is not exact decimal text, another currency, an unknown provider). */
export class BillLinesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BillLinesError';
  }
}

/** DuckDB: "Table with name bill_lines does not exist"; Athena: "Table '…bill_lines' does not exist" / TABLE_NOT_FOUND. */
const isMissingRelation = (err: unknown) => {
  const m = String((err as Error)?.message ?? err);
  return m.toLowerCase().includes(BILL_LINES_RELATION) && /does not exist|not found|TABLE_NOT_FOUND/i.test(m);
};

/**
 * The month's billed amounts per provider and model, or null when the month has no bill lines (or
 * the engine has no `bill_lines`). `month` is the chargeback's 'YYYY-MM'; bills are in `currency`.
 */
export async function readBilledAmounts(engine: QueryEngine, month: string, options: { currency: string; sqlDir?: string }): Promise<BilledAmounts | null> {
  const runs: QueryRun[] = [];
  let result: EngineResult;
  try {
    result = await runQuery(engine, readQuery('chargeback_billed', options.sqlDir), [month, month], runs);
  } catch (err) {
    if (isMissingRelation(err)) return null;
    throw err;
  }
  if (!result.rows.length) return null;
  const bills = new Map<string, BillRef>();
  const models = new Map<string, BilledModel>();
  let totalExact = 0n;
  for (const r of result.rows) {
    const where = `bill ${String(r.bill_id)} revision ${String(r.bill_revision)}, ${String(r.source_file)} row ${String(r.source_row)}`;
    const provider = String(r.provider) as BillProvider;
    if (!BILL_PROVIDERS.includes(provider))
      throw new BillLinesError(`${where}: provider ${JSON.stringify(r.provider)} is not one of ${BILL_PROVIDERS.join(', ')}`);
    if (r.currency !== options.currency)
      throw new BillLinesError(`${where}: the line is in ${JSON.stringify(r.currency)}, the chargeback in ${options.currency} (chargeback.currency)`);
    let exact: bigint;
    try {
      exact = parseDecimal(String(r.billed_usd_exact ?? ''), EXACT_SCALE);
    } catch (err) {
      throw new BillLinesError(`${where}: billed_usd_exact ${JSON.stringify(r.billed_usd_exact)} is not usable: ${(err as Error).message}`);
    }
    const billId = String(r.bill_id);
    const revision = Number(r.bill_revision);
    const bill = bills.get(billId) ?? { billId, revision, provider, billedExact: 0n, lines: 0 };
    bill.billedExact += exact;
    bill.lines++;
    bills.set(billId, bill);
    const model = r.model === null || r.model === undefined || r.model === '' ? null : String(r.model);
    const key = `${provider}\u0001${model ?? ''}`;
    const m = models.get(key) ?? { provider, model, billedExact: 0n, bills: [] };
    m.billedExact += exact;
    const ref = `${billId} rev ${revision}`;
    if (!m.bills.includes(ref)) m.bills.push(ref);
    models.set(key, m);
    totalExact += exact;
  }
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    month,
    bills: [...bills.values()].sort((a, b) => byText(a.billId, b.billId)),
    models: [...models.values()]
      .map((m) => ({ ...m, bills: m.bills.sort(byText) }))
      .sort((a, b) => byText(a.provider, b.provider) || (a.model === null ? 1 : b.model === null ? -1 : byText(a.model, b.model))),
    totalExact,
    query: runs[0]!,
  };
}
